from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from portal.costs.management.commands._ingest import ingest
from portal.costs.services import previous_months


class Command(BaseCommand):
    help = "Fetch again the cost of the last N months before this one (default 5), and this month's."

    def add_arguments(self, parser):
        parser.add_argument("environments", nargs="*", help="Environment names (default: all).")
        parser.add_argument("--months", type=int, default=5)

    def handle(self, *args, environments, months, **options):
        if not 0 <= months <= 36:
            raise CommandError("--months is a number from 0 to 36.")
        refetch = previous_months(timezone.localdate(), months)
        if ingest(self, names=environments, backfill=0, refetch=refetch):
            raise CommandError("Some environments failed; see above.")
