"""Budget thresholds: crossing one notifies once a month (platform admins by email, the environment's
webhook), shows on the dashboard, and each environment's thresholds can be changed."""

from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from portal.accounts import roles
from portal.costs import services
from portal.costs.choices import Basis
from portal.costs.models import BudgetAlert, BudgetPolicy
from portal.deployments.notifications import notification_send
from tests.costs.fakes import FixedCost

NOV_10 = date(2026, 11, 10)


def notifications(callbacks) -> list[dict]:
    return [c.args[0].args[0] for c in callbacks if c.args[0].task.endswith("send_notification")]


@pytest.fixture
def dev(envs):
    env = envs["dev"]  # budget $600
    env.approval_webhook_url = "https://chat.example.com/hooks/platform"
    env.save()
    return env


@pytest.fixture
def admins(make_user):
    return [make_user("pat", roles.PLATFORM_ADMIN), make_user("sam", roles.PLATFORM_ADMIN),
            make_user("vera", roles.VIEWER)]


def ingest(env, backend, today=NOV_10):
    return services.cost_ingest_run(environment_id=env.pk, today=today, backend=backend, backfill=0)


def test_crossing_a_threshold_notifies_once(dev, admins, django_capture_on_commit_callbacks):
    # $31 a day: $310 by the 10th is 51.7% of $600; the forecast ($310 is all it knows) too.
    backend = FixedCost(daily=Decimal(31), forecast_total=Decimal(450))

    with django_capture_on_commit_callbacks(execute=False) as first:
        ingest(dev, backend)
    with django_capture_on_commit_callbacks(execute=False) as second:
        ingest(dev, backend)                        # the same numbers again: nothing new to say
        ingest(dev, backend, today=date(2026, 11, 11))   # $341, still between 50 and 80%

    [payload] = notifications(first)
    assert notifications(second) == []
    assert set(BudgetAlert.objects.values_list("basis", "threshold")) == {(Basis.ACTUAL, 50), (Basis.FORECAST, 50)}
    assert payload["recipients"] == ["pat@example.com", "sam@example.com"]       # platform admins only
    assert payload["webhook_url"] == "https://chat.example.com/hooks/platform"
    assert payload["subject"] == "[Peak Portal] dev: cost crossed 50% of the monthly budget"
    assert "Spent so far: $310.00 (52% of the budget)." in payload["body"]
    assert "Forecast to month end: $450.00 (75%)." in payload["body"]
    assert "50% on actual cost, 50% on forecast to month end" in payload["body"]
    assert "/costs/environments/dev/" in payload["body"]


def test_the_next_threshold_notifies_on_its_own_and_a_new_month_starts_over(dev, admins,
                                                                            django_capture_on_commit_callbacks):
    ingest(dev, FixedCost(daily=Decimal(31), forecast_total=Decimal(450)))

    with django_capture_on_commit_callbacks(execute=False) as later:
        ingest(dev, FixedCost(daily=Decimal(31), forecast_total=Decimal(610)), today=date(2026, 11, 16))  # $496
    with django_capture_on_commit_callbacks(execute=False) as december:
        ingest(dev, FixedCost(daily=Decimal(31), forecast_total=Decimal(320)), today=date(2026, 12, 10))

    [payload] = notifications(later)
    assert payload["subject"] == "[Peak Portal] dev: forecast crossed 100% of the monthly budget"
    assert "Thresholds crossed: 80% on actual cost, 80% on forecast to month end, 100% on forecast" in payload["body"]
    [new_month] = notifications(december)
    assert "December 2026" in new_month["body"]
    assert BudgetAlert.objects.filter(month=date(2026, 12, 1)).count() == 2


def test_the_notification_goes_out_by_email(dev, admins, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        ingest(dev, FixedCost(daily=Decimal(31)))
    payload = notifications(callbacks)[0]

    notification_send(**{**payload, "webhook_url": ""})

    assert mailoutbox[-1].to == ["pat@example.com", "sam@example.com"]
    assert "crossed 50%" in mailoutbox[-1].subject


def test_two_checks_at_once_record_one_alert(dev, admins, monkeypatch, django_capture_on_commit_callbacks):
    """Another worker recorded the 50% alert after this one read which exist: the unique key refuses the
    second insert, and only the threshold it did record is announced."""
    BudgetAlert.objects.create(environment=dev, month=date(2026, 11, 1), basis=Basis.ACTUAL, threshold=50,
                               amount=Decimal(310), budget=Decimal(600))
    with django_capture_on_commit_callbacks(execute=False):
        services.cost_entries_store(environment=dev, month=NOV_10, rows=FixedCost(daily=Decimal(31))
                                    .month_to_date(scope="", today=NOV_10))
    monkeypatch.setattr(BudgetAlert.objects, "filter", lambda *args, **kwargs: BudgetAlert.objects.none())

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        crossed = services.budget_alerts_check(environment=dev, today=NOV_10)

    assert crossed == []                                  # no forecast stored; the actual 50% was taken
    assert notifications(callbacks) == []
    assert BudgetAlert.objects.count() == 1


def test_no_budget_means_no_alerts(envs, admins, django_capture_on_commit_callbacks):
    staging = envs["staging"]
    staging.monthly_budget = 0
    staging.save()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        ingest(staging, FixedCost(daily=Decimal(500), resource_group="holidaypeakhub-staging-rg"))
    assert notifications(callbacks) == [] and not BudgetAlert.objects.exists()


def test_an_environments_own_thresholds_are_used(dev, admins, django_capture_on_commit_callbacks):
    BudgetPolicy.objects.create(environment=dev, actual_thresholds=[25], forecast_thresholds=[])

    with django_capture_on_commit_callbacks(execute=False):
        ingest(dev, FixedCost(daily=Decimal(16)))        # $160: 26.7%

    assert list(BudgetAlert.objects.values_list("basis", "threshold")) == [(Basis.ACTUAL, 25)]


def test_crossed_thresholds_show_on_the_dashboard(dev, admins, client_for, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        ingest(dev, FixedCost(daily=Decimal(31), forecast_total=Decimal(650)))

    html = client_for(admins[2]).get(reverse("costs:dashboard") + "?month=2026-11").content.decode()
    assert 'data-testid="budget-alerts"' in html
    assert "forecast to month end crossed <strong>100%</strong> of the $600 budget" in html
    env_html = client_for(admins[2]).get(reverse("costs:environment", args=["dev"]) + "?month=2026-11").content.decode()
    assert "Actual cost crossed <strong>50%</strong>" in env_html


def test_a_platform_admin_changes_the_thresholds(dev, admins, client_for):
    client = client_for(admins[0])
    url = reverse("costs:budget", args=["dev"])
    assert 'value="50, 80, 100"' in client.get(url).content.decode()

    bad = client.post(url, {"actual_thresholds": "50, lots", "forecast_thresholds": "90"})
    assert bad.status_code == 400 and "whole percents" in bad.content.decode()

    response = client.post(url, {"actual_thresholds": "90%, 60", "forecast_thresholds": "", "version": "0"})
    assert response.status_code == 302
    policy = BudgetPolicy.objects.get(environment=dev)
    assert (policy.actual_thresholds, policy.forecast_thresholds) == ([60, 90], [])
    assert client_for(admins[2]).post(url, {"actual_thresholds": "1"}).status_code == 403
