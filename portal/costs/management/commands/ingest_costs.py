from django.core.management.base import BaseCommand

from portal.costs.management.commands._ingest import ingest


class Command(BaseCommand):
    help = ("Ingest every environment's cost now (month to date, forecast; on the first run also the months "
            "before it, PORTAL_COST_BACKFILL_MONTHS of them). Safe to run any number of times. A failure is "
            "reported and recorded (pages show it) and does not stop the others.")

    def add_arguments(self, parser):
        parser.add_argument("environments", nargs="*", help="Environment names (default: all).")
        parser.add_argument("--backfill", type=int, default=None,
                            help="Months before this one to fill in where missing (default: the setting).")

    def handle(self, *args, environments, backfill, **options):
        failed = ingest(self, names=environments, backfill=backfill, refetch=[])
        if failed:
            self.stderr.write(f"{failed} environment(s) failed; the pages keep showing their last good data.")
