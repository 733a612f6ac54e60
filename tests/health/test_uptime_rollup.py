"""Issue #11: uptime reads a per day x check rollup kept by the checks, equal to counting the raw results."""

from datetime import datetime, timedelta, timezone as dt_timezone

import pytest
import time_machine
from django.db import connection
from django.db.models import Count, Q
from django.db.models.functions import TruncDate
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from portal.health import selectors, services
from portal.health.choices import CheckKind, HealthState
from portal.health.models import HealthCheck, HealthDay, HealthResult
from portal.health.services import Observation
from provisioning.health import CheckResult
from tests.factories import AgentFactory, EnvironmentFactory

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=dt_timezone.utc)
STATES = [HealthState.GREEN, HealthState.GREEN, HealthState.RED, HealthState.GREEN, HealthState.UNKNOWN,
          HealthState.AMBER, HealthState.GREEN]


def rollup() -> set[tuple]:
    return set(HealthDay.objects.values_list("health_check_id", "day", "total", "green"))


def direct() -> set[tuple]:
    rows = (HealthResult.objects.order_by().annotate(day=TruncDate("checked_at")).values("health_check_id", "day")
            .annotate(total=Count("pk"), green=Count("pk", filter=Q(state=HealthState.GREEN))))
    return {(r["health_check_id"], r["day"], r["total"], r["green"]) for r in rows}


def record(env, agent, kind, state, at):
    result = CheckResult(kind, agent.slug, state, f"{state} at {at:%H:%M}", {})
    return services.health_result_record(environment=env, observation=Observation(result, agent.slug, agent,
                                                                                  agent.slug), at=at)


@pytest.fixture
def dev_checked(db):
    """Two agents, workload and HTTP checks every 5 hours for 10 days up to NOW (across midnights)."""
    dev = EnvironmentFactory(name="dev")
    agents = [AgentFactory(slug="agent-up"), AgentFactory(slug="agent-flaky")]
    for step in range(48):
        at = NOW - timedelta(hours=5 * step)
        for a, agent in enumerate(agents):
            for kind in (CheckKind.WORKLOAD, CheckKind.HTTP):
                state = HealthState.GREEN if a == 0 else STATES[(step + len(kind)) % len(STATES)]
                record(dev, agent, kind, state, at)
    return dev, agents


def test_rollup_equals_counting_the_raw_results_also_after_more_checks_the_same_day(dev_checked):
    dev, agents = dev_checked
    assert rollup() == direct() and len(rollup()) == 4 * 11            # 4 checks x 11 days touched

    for minute in (5, 10, 15):                                         # later runs today
        record(dev, agents[1], CheckKind.WORKLOAD, HealthState.RED, NOW + timedelta(minutes=minute))
        record(dev, agents[1], CheckKind.HTTP, HealthState.GREEN, NOW + timedelta(minutes=minute))

    assert rollup() == direct()
    today = HealthDay.objects.get(health_check__agent=agents[1], health_check__kind=CheckKind.WORKLOAD, day=NOW.date())
    assert (today.total, today.green) == (HealthResult.objects.filter(
        health_check=today.health_check, checked_at__date=NOW.date()).count(), HealthResult.objects.filter(
        health_check=today.health_check, checked_at__date=NOW.date(), state=HealthState.GREEN).count())


def test_uptime_from_the_rollup_is_the_share_of_green_results_in_the_window(dev_checked):
    dev, (up, flaky) = dev_checked
    since = NOW.date() - timedelta(days=7)
    raw = HealthResult.objects.filter(health_check__agent=flaky, checked_at__date__gte=since)
    expected = 100.0 * raw.filter(state=HealthState.GREEN).count() / raw.count()

    uptime = selectors.agent_uptime(environment=dev, now=NOW)

    assert uptime == {up.pk: 100.0, flaky.pk: pytest.approx(expected)} and 0 < expected < 100


def test_prune_keeps_the_rollup_equal_to_the_results_left(dev_checked, settings):
    settings.PORTAL_HEALTH_HISTORY_DAYS = 8
    cutoff = NOW - timedelta(days=8)
    before = HealthResult.objects.filter(checked_at__lt=cutoff).count()

    assert services.health_history_prune(now=NOW) == before > 0
    assert rollup() == direct()
    assert min(day for _, day, _, _ in rollup()) == cutoff.date()      # the day the cut went through, recounted


def test_the_board_reads_uptime_from_the_rollup_not_the_raw_results(dev_checked, client_for, viewer):
    dev, (up, flaky) = dev_checked
    with time_machine.travel(NOW, tick=False), CaptureQueriesContext(connection) as queries:
        response = client_for(viewer).get(reverse("health:board", args=["dev"]))

    assert response.status_code == 200 and b"100.0%" in response.content
    assert not [q["sql"] for q in queries if "health_healthresult" in q["sql"]]
    assert any("health_healthday" in q["sql"] for q in queries)


def test_the_boards_uptime_is_the_float_python_makes_of_the_rollup(db):
    """The board divides in SQL (a double): the same float, to the last bit, as Python's 100.0 * green / total of the
    rollup, for shares that do not divide evenly; the agent's retired checks here count, its checks elsewhere and
    the days before the window do not; no results in the window, no uptime."""
    dev, staging = EnvironmentFactory(name="dev"), EnvironmentFactory(name="staging")
    today, expected = NOW.date(), {}
    for i, (green, total) in enumerate([(1, 3), (2, 3), (7, 9), (1, 7), (123, 456), (49, 400), (0, 5), (5, 5),
                                        (10**6 - 1, 3 * 10**6), (0, 0)]):
        agent = AgentFactory(slug=f"agent-{i}")

        def check(env, kind, active=True):
            return HealthCheck.objects.create(environment=env, kind=kind, target=agent.slug, label=agent.slug,
                                              agent=agent, active=active, state=HealthState.GREEN)

        workload = check(dev, CheckKind.WORKLOAD)
        HealthDay.objects.create(health_check=workload, day=today - timedelta(days=30), total=10, green=0)
        HealthDay.objects.create(health_check=check(staging, CheckKind.WORKLOAD), day=today, total=10, green=10)
        if total:
            HealthDay.objects.create(health_check=workload, day=today, total=total - 1, green=min(green, total - 1))
            HealthDay.objects.create(health_check=check(dev, CheckKind.HTTP, active=False),
                                     day=today - timedelta(days=3), total=1, green=green - min(green, total - 1))
        expected[agent.slug] = 100.0 * green / total if total else None

    board = selectors.health_board(environment=dev, now=NOW)

    assert {row.slug: row.uptime for row in board.agents} == expected
    assert all(type(row.uptime) is float for row in board.agents if row.slug != "agent-9")
    ids = {row.slug: row.agent_id for row in board.agents}
    assert selectors.agent_uptime(environment=dev, now=NOW) == {
        ids[slug]: uptime for slug, uptime in expected.items() if uptime is not None}
