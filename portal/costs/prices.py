"""The price catalogue estimates use: the newest successful refresh stored in the database, else the
design document's defaults (provisioning.cost.catalogue.DEFAULT_PRICES)."""

from decimal import Decimal

from portal.costs.choices import RefreshStatus
from portal.costs.models import PriceRefresh
from provisioning.cost.catalogue import DEFAULT_CATALOGUE, Price, PriceCatalogue

RETAIL_SOURCE = "Azure Retail Prices API"


def catalogue_to_json(catalogue: PriceCatalogue) -> list[dict]:
    return [{"type": resource_type, "sku": sku, "monthly": str(price.monthly), "unit": price.unit,
             "source": price.source, "note": price.note,
             "by_environment": {env: str(amount) for env, amount in price.by_environment.items()}}
            for (resource_type, sku), price in catalogue.items()]


def catalogue_from_json(entries: list[dict]) -> PriceCatalogue:
    return PriceCatalogue({
        (entry["type"], entry["sku"]): Price(
            monthly=Decimal(entry["monthly"]), unit=entry.get("unit", ""), source=entry.get("source", ""),
            note=entry.get("note", ""),
            by_environment={env: Decimal(amount) for env, amount in (entry.get("by_environment") or {}).items()})
        for entry in entries
    })


def price_refresh_latest() -> PriceRefresh | None:
    """The newest refresh attempt, whatever its outcome (pages say when the last one failed)."""
    return PriceRefresh.objects.order_by("-at", "-pk").first()


def price_catalogue_current() -> tuple[PriceCatalogue, PriceRefresh | None]:
    """(catalogue, the refresh it comes from or None for the defaults). One query."""
    refresh = PriceRefresh.objects.filter(status=RefreshStatus.SUCCEEDED).exclude(prices=[]) \
        .order_by("-at", "-pk").first()
    if refresh is None:
        return DEFAULT_CATALOGUE, None
    return catalogue_from_json(refresh.prices), refresh


def refreshed_entries(catalogue: PriceCatalogue) -> int:
    return sum(1 for _, price in catalogue.items() if price.source.startswith(RETAIL_SOURCE))
