from django.core.management.base import BaseCommand

from portal.sources.demo import demo_sources_load


class Command(BaseCommand):
    help = "Commit examples/team-templates to a local git repository and add it as the template source platform-team."

    def handle(self, *args, **options):
        source = demo_sources_load()
        offered = source.files.filter(status="ok", kind="template").count()
        failing = source.files.filter(status="error").count()
        self.stdout.write(f"Template source {source.name}: commit {source.commit[:12]}, {offered} templates offered, "
                          f"{failing} file{'s' if failing != 1 else ''} with errors{': ' + source.last_error if source.last_error else ''}.")
