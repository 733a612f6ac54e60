"""Issue #11: the health board leads with what is not green, counts every check, and pages the agents."""

import re
from datetime import datetime, timedelta, timezone as dt_timezone

import pytest
from django.urls import reverse

from portal.catalog.models import Agent
from portal.health.choices import CheckKind, HealthState
from portal.health.models import HealthCheck, HealthResult
from portal.health.selectors import agent_uptime, health_board
from portal.health.services import health_days_rebuild
from tests.factories import AgentFactory, EnvironmentFactory

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=dt_timezone.utc)


@pytest.fixture
def dev_with_agents(db):
    dev = EnvironmentFactory(name="dev")
    states = {5: HealthState.RED, 17: HealthState.AMBER, 33: HealthState.UNKNOWN, 58: HealthState.RED}
    for i in range(60):
        agent = AgentFactory(slug=f"agent-b{i:03d}")
        check = HealthCheck.objects.create(environment=dev, kind=CheckKind.WORKLOAD, target=agent.slug,
                                           label=agent.slug, agent=agent, state=states.get(i, HealthState.GREEN),
                                           checked_at=NOW)
        HealthResult.objects.bulk_create(HealthResult(health_check=check, state="green" if h % 4 else "red",
                                                      checked_at=NOW - timedelta(hours=h)) for h in range(8))
    HealthCheck.objects.create(environment=dev, kind=CheckKind.NODE_POOL, target="agents", label="agents",
                               state=HealthState.GREEN, checked_at=NOW)
    health_days_rebuild()                # stored around health_result_record, which keeps the rollup
    return dev


def test_board_leads_with_agents_not_green_and_counts_every_check(dev_with_agents):
    board = health_board(environment=dev_with_agents, now=NOW, per_page=20)

    assert [row.slug for row in board.agents[:4]] == ["agent-b005", "agent-b058", "agent-b017", "agent-b033"]
    assert all(row.state == "green" for row in board.agents[4:]) and len(board.agents) == 20
    assert board.counts == {"green": 57, "amber": 1, "red": 2, "unknown": 1}   # 56 agents + the pool
    assert board.state == "red" and board.page.paginator.count == 60
    assert [row.url for row in board.agents[:2]] == [Agent.objects.get(slug=slug).get_absolute_url()
                                                     for slug in ("agent-b005", "agent-b058")]
    assert [c.label for c in board.pools] == ["agents"]


def test_every_agent_is_on_exactly_one_page_with_its_uptime(dev_with_agents):
    seen = []
    for number in (1, 2, 3):
        board = health_board(environment=dev_with_agents, now=NOW, page=number, per_page=25)
        seen += [row.slug for row in board.agents]
        assert all(row.uptime == 75.0 for row in board.agents)                 # 6 of 8 results green
    assert sorted(seen) == [f"agent-b{i:03d}" for i in range(60)] and len(seen) == 60
    assert agent_uptime(environment=dev_with_agents, now=NOW)[board.agents[0].agent_id] == 75.0


def test_board_page_links_to_the_next_page_and_keeps_the_filter_in_the_url(dev_with_agents, client_for, viewer,
                                                                           settings):
    settings.PORTAL_PAGE_SIZE = 50
    client = client_for(viewer)
    first = client.get(reverse("health:board", args=["dev"])).content.decode()
    assert "Page 1 of 2 (1–50 of 60)" in first and 'href="?page=2"' in first
    assert first.index('data-agent="agent-b005"') < first.index('data-agent="agent-b000"')
    second = client.get(reverse("health:board", args=["dev"]) + "?page=2").content.decode()
    assert len(re.findall(r'<tr data-agent=', second)) == 10 and "Page 2 of 2" in second


@pytest.fixture
def dev_with_two_checks(db):
    """Agents with a workload and an HTTP check each: an agent ranks by its worse one; one is probed over HTTP
    only, one has a retired (inactive) red check, and a node pool is red (it counts, it is no agent)."""
    dev = EnvironmentFactory(name="dev")
    plan = {  # slug: (workload, http)
        "a-green": ("green", "green"), "b-red-http": ("green", "red"), "c-amber": ("amber", "unknown"),
        "d-unknown": ("unknown", "green"), "e-red-both": ("red", "red"), "f-http-only": (None, "amber"),
        "g-green": ("green", None), "h-amber-http": ("green", "amber"), "i-green": ("green", "green"),
    }
    for slug, states in plan.items():
        agent = AgentFactory(slug=slug)
        for kind, state in zip((CheckKind.WORKLOAD, CheckKind.HTTP), states):
            if state:
                HealthCheck.objects.create(environment=dev, kind=kind, target=slug, label=slug, agent=agent,
                                           state=state, checked_at=NOW)
    HealthCheck.objects.create(environment=dev, kind=CheckKind.WORKLOAD, target="a-green-old", label="old",
                               state=HealthState.RED, active=False, checked_at=NOW)
    HealthCheck.objects.create(environment=dev, kind=CheckKind.NODE_POOL, target="agents", label="agents",
                               state=HealthState.RED, checked_at=NOW)
    return dev


RANKED = ["b-red-http", "e-red-both", "c-amber", "f-http-only", "h-amber-http", "d-unknown",
          "a-green", "g-green", "i-green"]


@pytest.mark.parametrize("per_page", [1, 2, 3, 4, 9, 50])
def test_agents_rank_by_their_worst_check_on_every_page_size(dev_with_two_checks, per_page):
    seen, number = [], 1
    while True:
        board = health_board(environment=dev_with_two_checks, now=NOW, page=number, per_page=per_page)
        assert board.page.paginator.count == 9 and len(board.agents) <= per_page
        seen += [row.slug for row in board.agents]
        if not board.page.has_next():
            break
        number += 1
    assert seen == RANKED


def test_board_counts_checks_of_every_kind_and_knows_the_worst(dev_with_two_checks):
    board = health_board(environment=dev_with_two_checks, now=NOW)

    assert board.counts == {"green": 8, "amber": 3, "red": 4, "unknown": 2}   # active checks only, the pool too
    assert board.state == "red" and board.http_probed is True and board.checked_at == NOW
    by_slug = {row.slug: row for row in board.agents}
    assert by_slug["b-red-http"].workload.state == "green" and by_slug["b-red-http"].http.state == "red"
    assert by_slug["f-http-only"].workload is None and by_slug["g-green"].http is None
    assert [c.label for c in board.pools] == ["agents"] and board.resources == []


def test_a_page_past_the_end_shows_the_last_one(dev_with_two_checks):
    board = health_board(environment=dev_with_two_checks, now=NOW, page=99, per_page=4)

    assert board.page.number == 3 and [row.slug for row in board.agents] == ["i-green"]


def test_a_board_without_checks_counts_nothing(db):
    board = health_board(environment=EnvironmentFactory(name="dev"), now=NOW)

    assert board.agents == [] and board.page.paginator.count == 0 and board.state is None
    assert board.counts == {"green": 0, "amber": 0, "red": 0, "unknown": 0} and board.checked_at is None


def test_without_http_probes_pools_and_resources_count_by_state_but_rank_no_agent(db):
    """No HTTP probe: each agent has one check, counted as it is; the pools and resources not green count in the
    totals by state, never among the agents; retired checks count nowhere."""
    dev = EnvironmentFactory(name="dev")
    for slug, state in [("a", "green"), ("b", "amber"), ("c", "red"), ("d", "unknown"), ("e", "red")]:
        HealthCheck.objects.create(environment=dev, kind=CheckKind.WORKLOAD, target=slug, label=slug,
                                   agent=AgentFactory(slug=slug), state=state, checked_at=NOW)
    HealthCheck.objects.create(environment=dev, kind=CheckKind.WORKLOAD, target="gone", label="gone", state="red",
                               active=False, checked_at=NOW + timedelta(hours=1))
    shared = [(CheckKind.NODE_POOL, "agents", "amber"), (CheckKind.RESOURCE_HEALTH, "redis", "red"),
              (CheckKind.RESOURCE_HEALTH, "kv", "unknown"), (CheckKind.RESOURCE_HEALTH, "aks", "green")]
    for kind, target, state in shared:
        HealthCheck.objects.create(environment=dev, kind=kind, target=target, label=target, state=state,
                                   checked_at=NOW - timedelta(minutes=1))

    board = health_board(environment=dev, now=NOW, per_page=2)

    assert board.counts == {"green": 2, "amber": 2, "red": 3, "unknown": 2} and board.http_probed is False
    assert board.page.paginator.count == 5 and board.checked_at == NOW
    assert [row.slug for row in board.agents] == ["c", "e"]
    assert [c.target for c in board.pools] == ["agents"]
    assert [c.target for c in board.resources] == ["aks", "kv", "redis"]
    assert [row.slug for row in health_board(environment=dev, now=NOW, page=2, per_page=2).agents] == ["b", "d"]


def test_the_board_reads_its_environment_as_the_orm_does(db):
    """The board's view reads the environment in SQL written once: every field as Environment.objects.get gives
    it (JSON, decimal, the approver group's id), loaded from the database (not an unsaved instance); no such name:
    None."""
    from decimal import Decimal

    from django.contrib.auth.models import Group

    from portal.catalog.models import Environment
    from portal.health.selectors import environment_named

    env = EnvironmentFactory(name="qa-1", monthly_budget=Decimal("1234.50"), cosmos_containers=["a", "<b>"],
                             discovered_resources={"redis": {"name": "r'1"}}, approver_group=Group.objects.create(
                                 name="approvers"), approval_webhook_url="https://chat.example/hook?a=1&b=2")
    EnvironmentFactory(name="qa-2")

    read, orm = environment_named(name="qa-1"), Environment.objects.get(name="qa-1")

    fields = [f.attname for f in Environment._meta.concrete_fields]
    assert [getattr(read, f) for f in fields] == [getattr(orm, f) for f in fields]
    assert [type(getattr(read, f)) for f in fields] == [type(getattr(orm, f)) for f in fields]
    assert read == env and not read._state.adding and read._state.db == "default"
    assert read.get_absolute_url() == orm.get_absolute_url()
    assert environment_named(name="nope") is None and environment_named(name="QA-1") is None


def test_a_long_boards_total_is_kept_as_a_lists_total_and_what_is_not_green_is_counted_live(dev_with_agents,
                                                                                            monkeypatch):
    """#11: every active check is counted under the pager's rule (pagination.EXACT_COUNT, LONG_COUNT_SECONDS), so
    for a few seconds a new green check may not be counted yet; checks not green are always counted live, and the
    total is never fewer than those."""
    from django.core.cache import cache

    from portal.core import pagination

    monkeypatch.setattr(pagination, "EXACT_COUNT", 10)
    assert health_board(environment=dev_with_agents, now=NOW).counts["green"] == 57         # counted, and kept
    for i in range(3):                                                   # three more agents: one green, two red
        agent = AgentFactory(slug=f"agent-n{i}")
        HealthCheck.objects.create(environment=dev_with_agents, kind=CheckKind.WORKLOAD, target=agent.slug,
                                   label=agent.slug, agent=agent, checked_at=NOW,
                                   state=HealthState.GREEN if i == 0 else HealthState.RED)
    kept = health_board(environment=dev_with_agents, now=NOW)
    assert kept.counts == {"green": 55, "amber": 1, "red": 4, "unknown": 1}   # the kept total (61), red live
    assert kept.page.paginator.count == 60
    HealthCheck.objects.filter(environment=dev_with_agents, state=HealthState.GREEN).update(state=HealthState.RED)
    assert health_board(environment=dev_with_agents, now=NOW).counts["green"] == 0          # never below zero
    cache.clear()                                                        # the kept total expired: counted again
    board = health_board(environment=dev_with_agents, now=NOW)
    assert board.counts == {"green": 0, "amber": 1, "red": 62, "unknown": 1} and board.page.paginator.count == 63


def test_a_page_of_the_board_is_read_once_in_the_summary_seconds_and_worded_when_shown(
        dev_with_agents, client_for, viewer, settings):
    """#11: each page of the board is read at most once every PORTAL_SUMMARY_SECONDS per process: a result recorded
    meanwhile shows when they have passed; the ages are worded from the clock at every view."""
    import time_machine
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from portal.health.services import Observation, health_result_record
    from provisioning.health import CheckResult

    settings.PORTAL_SUMMARY_SECONDS = 10
    url = reverse("health:board", args=["dev"])
    client = client_for(viewer)
    with time_machine.travel(NOW + timedelta(minutes=1, seconds=58), tick=False) as clock:
        with CaptureQueriesContext(connection) as read:
            html = client.get(url).content.decode()
        assert "last checked a minute ago" in html and 'data-state="red"' in html
        agent = Agent.objects.get(slug="agent-b005")
        health_result_record(environment=dev_with_agents, observation=Observation(
            CheckResult(CheckKind.WORKLOAD, agent.slug, HealthState.GREEN, "recovered", {}), agent.slug, agent,
            agent.slug))
        clock.shift(5)
        with CaptureQueriesContext(connection) as kept:
            html = client.get(url).content.decode()
        assert len(kept) == len(read) - 2                                 # the summary and the checks: kept
        assert "recovered" not in html                                    # the board as read 5 s ago,
        assert "last checked 2\xa0minutes ago" in html                    # its age worded now
        clock.shift(6)
        html = client.get(url).content.decode()
        assert "last checked 11\xa0seconds ago" in html and "recovered" in html     # read again
        assert health_board(environment=dev_with_agents).counts["red"] == 1          # and kept so


def test_the_board_is_read_on_every_view_with_zero_summary_seconds(dev_with_agents, client_for, viewer):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = client_for(viewer)
    url = reverse("health:board", args=["dev"])
    counts = []
    for _ in range(2):
        with CaptureQueriesContext(connection) as ctx:
            client.get(url)
        counts.append(len(ctx))
    assert counts[0] == counts[1]
