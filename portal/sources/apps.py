from django.apps import AppConfig


class SourcesConfig(AppConfig):
    name = "portal.sources"
    label = "sources"
    verbose_name = "Template sources"
