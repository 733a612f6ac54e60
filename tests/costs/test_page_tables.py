"""Issue #11: the cost pages' tables are rendered by filters and their links built from one reverse() per
table; the environments' month is one hand-written statement. What the pages show stays what it was."""

import csv
import io
from datetime import date
from decimal import Decimal

import pytest
from django.urls import NoReverseMatch, reverse

from portal.costs import showback as showback_module
from portal.core import sql
from portal.core.links import url_maker
from portal.costs.models import BudgetAlert, CostForecast
from portal.costs.selectors import _environment_costs, period_for
from portal.costs.services import cost_entries_store
from portal.costs.templatetags.costs import (
    agent_rows,
    amount_cells,
    day_rows,
    linked_amount_cells,
    linked_service_rows,
    money,
    service_rows,
)
from provisioning.cost import CostRow
from tests.factories import AgentFactory, PlacementFactory, TeamFactory

DAY = date(2026, 11, 10)
NOV = "?month=2026-11"
PERIOD = period_for("2026-11", today=date(2026, 11, 30))


@pytest.mark.parametrize("service", ["Azure Kubernetes Service", "Bandwidth & Data", "Kunde's Dienst", "100% up",
                                     "caf\u00e9", "a+b=c;d,e", "~:@!$*()"])
def test_service_links_are_what_reverse_gives(service):
    link = url_maker("costs:service", "dev")

    assert link(service) == reverse("costs:service", args=["dev", service])


@pytest.mark.parametrize("name, value, converter", [("costs:service", "a/b", "str"), ("costs:service", "", "str"),
                                                     ("catalog:agent_detail", "not a slug", "slug")])
def test_a_value_the_url_does_not_take_fails_as_reverse_does(name, value, converter):
    args = ["dev"] if name == "costs:service" else []
    link = url_maker(name, *args, converter=converter)

    with pytest.raises(NoReverseMatch):
        link(value)


def test_agent_links_are_what_reverse_gives():
    assert url_maker("catalog:agent_detail", converter="slug")("crm-support-assistance") == \
        reverse("catalog:agent_detail", args=["crm-support-assistance"])


def test_money_and_cells_format_as_the_templates_did():
    assert [money(v) for v in (Decimal("1234.565"), Decimal("-0.001"), Decimal("-12.345"), None, "", 3)] == \
        ["$1,234.57", "$0.00", "-$12.35", "—", "—", "$3.00"]
    assert money(Decimal("1234.5"), 0) == "$1,235"
    assert amount_cells([Decimal(1), None, Decimal(0)]) == \
        '<td class="num">$1.00</td><td class="num">—</td><td class="num">$0.00</td>'
    assert amount_cells([Decimal(1), None, Decimal(0)], "muted") == (
        '<td class="num">$1.00</td><td class="num"><span class="muted">—</span></td>'
        '<td class="num"><span class="muted">—</span></td>')
    assert linked_amount_cells([(Decimal(2), "/costs/environments/dev/services/A%20&%20B/"), (Decimal(0), "")],
                               "2026-11") == (
        '<td class="num"><a class="amount" href="/costs/environments/dev/services/A%20&amp;%20B/?month=2026-11">'
        '$2.00</a></td><td class="num"><span class="muted">—</span></td>')


def test_row_filters_escape_what_they_show():
    class Row:
        key, url, team, amounts, total = "<b>tag</b>", None, "A & B", [Decimal(1)], Decimal(1)

    html = agent_rows([Row()], "dashboard")
    assert "&lt;b&gt;tag&lt;/b&gt; <span class=\"muted\">(no such agent in the catalog)</span>" in html
    assert "<td>A &amp; B</td>" in html and "<b>" not in html


def test_service_rows_link_each_amount_or_the_service():
    from portal.costs.selectors import Row

    row = Row(key="A & B", amounts=[Decimal(3), Decimal(0)], total=Decimal(3), share=Decimal("12.5"),
              urls=["/s/A%20&%20B/", ""], url="/e/A%20&%20B/")
    nameless = Row(key="", amounts=[Decimal(1), Decimal(1)], total=Decimal(2), share=None, urls=["/1/", "/2/"],
                   url="/e/x/")

    assert service_rows([row, nameless], "2026-11") == (
        '<tr><th scope="row">A &amp; B</th><td class="num"><a class="amount" href="/s/A%20&amp;%20B/?month=2026-11">'
        '$3.00</a></td><td class="num"><span class="muted">—</span></td><td class="num">$3.00</td>'
        '<td class="num">13%</td></tr>'
        '<tr><th scope="row">(no service name)</th><td class="num"><a class="amount" href="/1/?month=2026-11">$1.00'
        '</a></td><td class="num"><a class="amount" href="/2/?month=2026-11">$1.00</a></td><td class="num">$2.00</td>'
        '<td class="num">—</td></tr>')
    assert linked_service_rows([row], "2026-11") == (
        '<tr><th scope="row"><a href="/e/A%20&amp;%20B/?month=2026-11">A &amp; B</a></th><td class="num">$3.00</td>'
        '<td class="num">13%</td></tr>')


@pytest.fixture
def tagged(envs):
    """dev: a catalog agent, a tag that names no agent, and untagged AKS cost, on one day of November."""
    team = TeamFactory(slug="owners", name="Owners & co")
    agent = AgentFactory(slug="tagged-agent", owner_team=team)
    PlacementFactory(agent=agent, environment=envs["dev"])
    cost_entries_store(environment=envs["dev"], month=DAY, rows=[
        CostRow(DAY, "Azure Kubernetes Service", "holidaypeakhub-dev-rg", "", Decimal(50), "USD"),
        CostRow(DAY, "Azure Kubernetes Service", "holidaypeakhub-dev-rg", "tagged-agent", Decimal(20), "USD"),
        CostRow(DAY, "Azure Kubernetes Service", "holidaypeakhub-dev-rg", "ghost-tag", Decimal(7), "USD"),
    ])
    return envs


def agents_table(html: str) -> str:
    section = html[html.index('data-testid="agents-table"'):]
    return section[:section.index("</table>")]


def test_agent_tables_link_the_catalog_agents_and_name_the_other_tags(tagged, client_for, viewer):
    client = client_for(viewer)
    link = '<a href="/agents/tagged-agent/">tagged-agent</a></th><td>Owners &amp; co</td>'

    dashboard = agents_table(client.get(reverse("costs:dashboard") + NOV).content.decode())
    assert link in dashboard and '<td class="num">$20.00</td>' in dashboard
    assert 'ghost-tag <span class="muted">(no such agent in the catalog)</span></th><td>—</td>' in dashboard

    environment = agents_table(client.get(reverse("costs:environment", args=["dev"]) + NOV).content.decode())
    assert link in environment and '<th scope="row">ghost-tag</th><td>—</td><td class="num">$7.00</td>' in environment

    service = agents_table(client.get(reverse("costs:service", args=["dev", "Azure Kubernetes Service"]) + NOV)
                           .content.decode())
    assert link in service
    assert '<th scope="row"><span class="muted">untagged (shared)</span></th><td>—</td><td class="num">$50.00</td>' \
        in service


def test_the_day_table_has_every_day_of_the_month(tagged, client_for, viewer):
    html = client_for(viewer).get(reverse("costs:environment", args=["dev"]) + NOV).content.decode()

    assert html.count("<tr><th scope=\"row\">") >= 30
    assert '<tr><th scope="row">Tue 10 Nov</th><td class="num">$77.00</td><td class="num">$77.00</td>' in html
    assert '<tr><th scope="row">Mon 30 Nov</th><td class="num">—</td>' in html
    assert day_rows([]) == ""


def test_the_environments_statement_reads_what_the_models_hold(tagged):
    dev = tagged["dev"]
    CostForecast.objects.create(environment=dev, month=PERIOD.month, actual=Decimal(77), forecast=Decimal("231.5"),
                                daily=[["2026-11-10", "77"], ["2026-11-11", "7.7"]], as_of=DAY,
                                computed_at="2026-11-10T12:00:00Z")
    BudgetAlert.objects.create(environment=dev, month=PERIOD.month, basis="actual", threshold=50, amount=Decimal(77),
                               budget=Decimal(100))

    [cost] = _environment_costs(PERIOD, name="dev", policy=True)

    assert (cost.actual, cost.forecast, cost.alerts) == (Decimal(77), Decimal("231.5"), 1)
    assert cost.stored_forecast.daily == [["2026-11-10", "77"], ["2026-11-11", "7.7"]]
    assert cost.stored_forecast.as_of == DAY and cost.thresholds == {"actual": [50, 80, 100], "forecast": [50, 80, 100]}
    assert cost.environment.name == "dev" and cost.environment.monthly_budget == Decimal(600)
    [(day, budget)] = sql.fetch(f"SELECT as_of, forecast FROM {sql.table(CostForecast)}", [],
                                [CostForecast._meta.get_field("as_of"), CostForecast._meta.get_field("forecast")])
    assert (day, budget) == (DAY, Decimal("231.5"))


def test_showback_sums_the_teams_past_the_largest(envs, client_for, viewer, monkeypatch):
    monkeypatch.setattr(showback_module, "TOP_TEAMS", 2)
    rows = [CostRow(DAY, "Azure Kubernetes Service", "holidaypeakhub-dev-rg", "", Decimal(0), "USD")]
    for i in range(5):
        agent = AgentFactory(slug=f"team-agent-{i}", owner_team=TeamFactory(slug=f"t{i}", name=f"Team {i}"))
        PlacementFactory(agent=agent, environment=envs["dev"])
        rows.append(CostRow(DAY, "Storage", "holidaypeakhub-dev-rg", agent.slug, Decimal(10 * (i + 1)), "USD"))
    cost_entries_store(environment=envs["dev"], month=DAY, rows=rows)
    client = client_for(viewer)

    board = showback_module.cost_showback(period=PERIOD, environment="dev")
    html = client.get(reverse("costs:showback") + NOV + "&environment=dev").content.decode()
    teams = list(csv.DictReader(io.StringIO(client.get(reverse("costs:showback") + NOV + "&environment=dev"
                                                       "&format=csv&table=teams").getvalue().decode())))

    assert [(t.team, t.total) for t in board.teams] == [("Team 4", 50), ("Team 3", 40)]
    rest = board.teams_rest
    # the rest: Teams 2, 1 and 0, and the fixture's two teams, whose three agents run in dev and cost nothing here
    assert (rest.count, rest.agents, rest.amounts, rest.total) == (5, 6, [Decimal(60)], Decimal(60))
    assert 'data-testid="teams-rest"' in html and "The other 5 teams" in html and "$60.00" in html
    assert [row["team"] for row in teams] == ["Team 4", "Team 3", "Team 2", "Team 1", "Team 0", "CRM team",
                                              "E-commerce team"]
