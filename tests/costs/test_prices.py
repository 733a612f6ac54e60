"""refresh_prices: the catalogue refreshed from the Azure Retail Prices API is stored and used; without
the network it says so clearly and keeps the defaults."""

from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from portal.costs import services
from portal.costs.choices import RefreshStatus
from portal.costs.models import PriceRefresh
from portal.costs.prices import price_catalogue_current
from provisioning.cost.catalogue import AKS_POOL, DEFAULT_CATALOGUE
from tests.provisioning.test_cost_catalogue import FakeRetailPrices, _vm


def test_a_refresh_stores_the_catalogue_estimates_then_use(db):
    fetch = FakeRetailPrices([_vm("Standard_D4s_v5", 0.192)])

    refresh = services.price_catalogue_refresh(fetch=fetch, region="eastus")

    assert refresh.status == RefreshStatus.SUCCEEDED and refresh.refreshed == 1 and refresh.kept > 0
    catalogue, source = price_catalogue_current()
    assert source == refresh
    assert catalogue.price(AKS_POOL, "Standard_D4s_v5").monthly == Decimal("140.16")        # 0.192 x 730
    assert catalogue.price(AKS_POOL, "Standard_B4ms") == DEFAULT_CATALOGUE.price(AKS_POOL, "Standard_B4ms")


def test_without_the_network_the_refresh_fails_clearly_and_keeps_the_defaults(db, monkeypatch):
    def unreachable(url):
        raise OSError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(services, "fetch_json", unreachable)

    with pytest.raises(CommandError) as raised:
        call_command("refresh_prices")

    message = str(raised.value)
    assert message.startswith("Could not refresh prices from the Azure Retail Prices API: OSError: [Errno -3]")
    assert "estimates keep the current prices" in message
    assert PriceRefresh.objects.get().status == RefreshStatus.FAILED
    catalogue, source = price_catalogue_current()
    assert source is None and catalogue is DEFAULT_CATALOGUE


def test_the_command_reports_what_it_refreshed(db, monkeypatch, capsys):
    fetch = FakeRetailPrices([_vm("Standard_D4s_v5", 0.192)])
    monkeypatch.setattr(services, "fetch_json", fetch)

    call_command("refresh_prices", "--region", "eastus")

    assert "Refreshed 1 prices from the Azure Retail Prices API (eastus)" in capsys.readouterr().out
    assert all("armRegionName+eq+%27eastus%27" in url or "armRegionName eq 'eastus'" in url for url in fetch.urls)


def test_a_region_without_matching_prices_is_a_failure_that_says_so(db, monkeypatch):
    monkeypatch.setattr(services, "fetch_json", FakeRetailPrices([_vm("Standard_D4s_v5", 0.192)]))

    with pytest.raises(CommandError, match="it answered no matching prices for westeurope"):
        call_command("refresh_prices", "--region", "westeurope")
