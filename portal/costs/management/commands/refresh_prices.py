from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from portal.costs import services
from portal.costs.choices import RefreshStatus


class Command(BaseCommand):
    help = ("Refresh the price catalogue of cost estimates from the Azure Retail Prices API "
            "(https://prices.azure.com, no sign-in) and store it. Needs outbound HTTPS; when the API cannot be "
            "reached, says so and keeps the current prices (the design document's by default).")

    def add_arguments(self, parser):
        parser.add_argument("--region", default=settings.PORTAL_PRICES_REGION)

    def handle(self, *args, region, **options):
        refresh = services.price_catalogue_refresh(region=region)
        if refresh.status != RefreshStatus.SUCCEEDED:
            raise CommandError(refresh.error)
        self.stdout.write(self.style.SUCCESS(
            f"Refreshed {refresh.refreshed} prices from the Azure Retail Prices API ({region}); "
            f"{refresh.kept} kept the design document's figure."))
        if refresh.error:
            self.stdout.write(f"Some requests failed: {refresh.error}")
