from django.core.management.base import BaseCommand

from portal.sources.models import TemplateSource
from portal.sources.services import builtin_source, source_sync


class Command(BaseCommand):
    help = "Sync every template source now (the built-in bicep/ and each git repository)."

    def handle(self, *args, **options):
        builtin_source()
        for source in TemplateSource.objects.filter(enabled=True):
            source = source_sync(source_id=source.pk)
            offered = source.files.filter(status="ok", kind="template").count()
            failing = source.files.filter(status="error").count()
            state = source.last_error or "ok"
            self.stdout.write(f"{source.name}: {offered} templates offered, {failing} files with errors ({state}).")
