from django.urls import path

from portal.core import metrics_views, views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("favicon.ico", views.favicon, name="favicon"),
    path("system/", views.system, name="system"),
    path("metrics", metrics_views.metrics_endpoint, name="metrics"),
]
