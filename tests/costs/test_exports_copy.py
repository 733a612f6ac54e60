"""Issue #11: on PostgreSQL the agent tables' CSVs are written by the database (COPY), elsewhere by Python's csv
module; a file is the same bytes either way, and one closed early leaves the connection ready for the next query."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.signals import request_finished
from django.db import close_old_connections, connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from portal.core import sql
from portal.costs import exports
from portal.costs.models import CostMonth
from portal.costs.selectors import period_for
from portal.costs.services import cost_entries_store
from provisioning.cost import CostRow
from tests.factories import AgentFactory, TeamFactory

DAY = date(2026, 11, 10)
POSTGRESQL_ONLY = pytest.mark.skipif(connection.vendor != "postgresql", reason="COPY is PostgreSQL's")

DASHBOARD = reverse("costs:dashboard")
DEV = reverse("costs:environment", args=["dev"])
COSMOS = reverse("costs:service", args=["dev", "Azure Cosmos DB"])


@pytest.fixture
def awkward(envs):
    """Tags whose rows need quoting or rounding: team names with a comma and quotes, a line break, an empty name;
    a tag naming no agent (no team); negative costs, half cents, a cost that rounds to zero from below; and the
    untagged shared cost."""
    teams = {"quoted": 'Acme, "the" team', "broken": "Line\nbreak", "blank": ""}
    for slug, name in teams.items():
        AgentFactory(slug=f"{slug}-agent", owner_team=TeamFactory(slug=slug, name=name))
    dev = [("quoted-agent", "1.005"), ("broken-agent", "-2.345"), ("ghost-tag", "-0.004"), ("blank-agent", "0.0049"),
           ("crm-support-assistance", "10"), ("", "997")]
    staging = [("quoted-agent", "2.665"), ("ghost-tag", "-1.5")]
    for env, costs in ((envs["dev"], dev), (envs["staging"], staging)):
        cost_entries_store(environment=env, month=DAY, rows=[
            CostRow(DAY, "Azure Cosmos DB", "", agent, Decimal(cost), "USD") for agent, cost in costs])
    return envs


def body(response) -> bytes:
    assert response.status_code == 200 and response["Content-Type"] == "text/csv; charset=utf-8"
    return b"".join(response.streaming_content)


@pytest.mark.parametrize(("url", "expected"), [
    (DASHBOARD, b'month,agent,team,dev,staging,prod,total\r\n'
                b'2026-11,crm-support-assistance,CRM team,10.00,0.00,0.00,10.00\r\n'
                b'2026-11,quoted-agent,"Acme, ""the"" team",1.01,2.67,0.00,3.67\r\n'
                b'2026-11,blank-agent,,0.00,0.00,0.00,0.00\r\n'
                b'2026-11,ghost-tag,,-0.00,-1.50,0.00,-1.50\r\n'
                b'2026-11,broken-agent,"Line\nbreak",-2.35,0.00,0.00,-2.35\r\n'),
    (DEV, b'month,environment,agent,team,cost\r\n'
          b'2026-11,dev,crm-support-assistance,CRM team,10.00\r\n'
          b'2026-11,dev,quoted-agent,"Acme, ""the"" team",1.01\r\n'
          b'2026-11,dev,blank-agent,,0.00\r\n'
          b'2026-11,dev,ghost-tag,,-0.00\r\n'
          b'2026-11,dev,broken-agent,"Line\nbreak",-2.35\r\n'),
    (COSMOS, b'month,environment,service,resource_group,agent,team,cost\r\n'
             b'2026-11,dev,Azure Cosmos DB,,(untagged),,997.00\r\n'
             b'2026-11,dev,Azure Cosmos DB,,crm-support-assistance,CRM team,10.00\r\n'
             b'2026-11,dev,Azure Cosmos DB,,quoted-agent,"Acme, ""the"" team",1.01\r\n'
             b'2026-11,dev,Azure Cosmos DB,,blank-agent,,0.00\r\n'
             b'2026-11,dev,Azure Cosmos DB,,ghost-tag,,-0.00\r\n'
             b'2026-11,dev,Azure Cosmos DB,,broken-agent,"Line\nbreak",-2.35\r\n'),
])
def test_the_agents_csv_quotes_and_rounds_every_awkward_row_the_same_on_each_database(awkward, client_for, viewer,
                                                                                       url, expected):
    assert body(client_for(viewer).get(url, {"month": "2026-11", "format": "csv", "table": "agents"})) == expected


@POSTGRESQL_ONLY
@pytest.mark.parametrize("url", [DASHBOARD, DEV, COSMOS])
def test_postgresql_writes_the_agents_csv_byte_for_byte_as_the_python_writer(awkward, client_for, viewer, monkeypatch,
                                                                            url):
    client = client_for(viewer)
    params = {"month": "2026-11", "format": "csv", "table": "agents"}
    with CaptureQueriesContext(connection) as queries:
        copied = body(client.get(url, params))
    monkeypatch.setattr(exports, "_agent_rows_copied", exports._agent_rows_written)
    with CaptureQueriesContext(connection) as written_queries:
        written = body(client.get(url, params))

    assert copied == written and copied.count(b"\r\n") >= 6
    assert [q["sql"].lstrip()[:6] for q in queries if "costs_cost" in q["sql"]] == ["COPY ("]   # logged, counted
    assert not any(q["sql"].startswith("COPY") for q in written_queries)


@pytest.mark.parametrize("tables", [
    lambda period: exports.dashboard_tables(period),
    lambda period: exports.environment_tables(period, "dev"),
    lambda period: exports.service_tables(period, "dev", "Azure Cosmos DB", ""),
])
def test_a_csv_closed_early_leaves_the_connection_ready_for_the_next_query(awkward, monkeypatch, tables):
    monkeypatch.setattr(exports, "CHUNK_ROWS", 2)       # the file is several chunks long
    period = period_for("2026-11", today=date(2026, 11, 30))
    whole = body(exports.export(tables(period), "agents", prefix="costs"))

    response = exports.export(tables(period), "agents", prefix="costs")
    chunks = iter(response.streaming_content)
    started = next(chunks) + next(chunks)               # the header, then the first rows: the query is under way
    request_finished.disconnect(close_old_connections)  # as the test client does: the test's transaction stays open
    try:
        response.close()                                # the client went away: the server closes the response
    finally:
        request_finished.connect(close_old_connections)

    assert whole.startswith(started) and len(started) < len(whole)
    assert CostMonth.objects.filter(agent="quoted-agent").count() == 2
    assert body(exports.export(tables(period), "agents", prefix="costs")) == whole


@POSTGRESQL_ONLY
def test_a_copy_closed_while_the_server_still_writes_leaves_the_transaction_usable(db):
    """Megabytes the server cannot have sent yet when the reader stops: a cancel would abort the test's
    transaction; the rest is read and dropped instead."""
    lines = sql.copy_csv("SELECT g, repeat('x', 100) FROM generate_series(1, %s) g", [100_000], 10)
    assert next(lines).startswith(b"1,xxx")
    lines.close()

    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        assert cursor.fetchone() == (1,)
    assert CostMonth.objects.count() == 0
