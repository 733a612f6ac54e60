"""Issue #11: the showback page's table bodies are written by showback.ShowbackTables and its environment select by
MemoSelect. What the page shows is byte for byte what the template's loops and Django's widget wrote, hostile text
escaped."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.paginator import Paginator
from django.http import QueryDict
from django.template import Context, Template

from portal.catalog.models import Environment
from portal.costs.forms import CostFilterForm
from portal.costs.selectors import Rest, period_for
from portal.costs.showback import (
    AgentShowback,
    EnvironmentShowback,
    MemoSelect,
    Showback,
    ShowbackTables,
    TeamShowback,
    TeamsRest,
    money_text,
    showback_filters,
)
from portal.costs.templatetags.costs import money

PERIOD = period_for("2026-11", today=date(2026, 11, 30))
HOSTILE = "<b>\"A\" & 'B'</b>"

# The template's loops as they were (templates/costs/showback.html before the tables were written in Python).
TEAMS = """{% load costs %}<tbody>
      {% for team in showback.teams %}<tr><th scope="row">{{ team.team }}</th><td class="num">{{ team.agents }}</td>{{ team.amounts|amount_cells }}<td class="num">{{ team.total|money }}</td></tr>
      {% empty %}<tr><td colspan="{{ showback.columns|length|add:3 }}" class="empty">No agent cost in {{ period.label }}.</td></tr>{% endfor %}{% with rest=showback.teams_rest %}{% if rest %}<tr class="rest" data-testid="teams-rest"><th scope="row">The other {{ rest.count }} team{{ rest.count|pluralize }} (every row in the <a href="{{ request.path }}?month={{ period.param }}{{ keep }}&amp;format=csv&amp;table=teams">CSV</a>)</th><td class="num">{{ rest.agents }}</td>{{ rest.amounts|amount_cells }}<td class="num">{{ rest.total|money }}</td></tr>{% endif %}{% endwith %}
      </tbody>"""  # noqa: E501
AGENTS = """{% load costs %}<tbody>
      {% if showback.agents_top %}{% for r in showback.agents_top %}<tr><th scope="row">{% if r.url %}<a href="{{ r.url }}">{{ r.slug }}</a>{% else %}{{ r.slug }}{% endif %}</th><td>{{ r.environment }}</td><td>{{ r.team }}</td><td class="num">{{ r.replicas }}</td><td class="num">{{ r.direct|money }}</td><td class="num">{{ r.shared|money }}</td><td class="num">{{ r.total|money }}</td></tr>{% endfor %}
      {% else %}<tr><td colspan="7" class="empty">No agent cost in {{ period.label }}.</td></tr>{% endif %}
      {% with rest=showback.agents_rest %}{% if rest %}<tr class="rest" data-testid="agents-rest"><th scope="row" colspan="6">The other {{ rest.count }} agent{{ rest.count|pluralize }} (every row in the <a href="{{ request.path }}?month={{ period.param }}{{ keep }}&amp;format=csv&amp;table=agents">CSV</a>)</th><td class="num">{{ rest.total|money }}</td></tr>{% endif %}{% endwith %}
      </tbody>"""  # noqa: E501
ENVIRONMENTS = """{% load costs %}<tbody>{% for e in showback.environments %}<tr><th scope="row"><a href="{% url 'costs:environment' e.environment.name %}?month={{ period.param }}">{{ e.environment.name }}</a></th><td class="num">{{ e.total|money }}</td><td class="num">{{ e.direct|money }}</td><td class="num">{{ e.shared_pool|money }}{% if not e.replicas and e.shared_pool %} <span class="muted">(no agent runs: not split)</span>{% endif %}</td><td class="num">{{ e.replicas }}</td><td class="num">{{ e.unattributed|money }}</td></tr>{% endfor %}</tbody>"""  # noqa: E501
NEW = {"teams": "<tbody>\n      {{ tables.teams }}\n      </tbody>",
       "agents": "<tbody>\n      {{ tables.agents }}\n      </tbody>",
       "environments": "<tbody>{{ tables.environments }}</tbody>"}


class Request:
    path = "/costs/showback/"


def showback(*, agents=3, teams=3, rest=True, team_name="CRM team") -> Showback:
    envs = [Environment(pk=1, name="dev"), Environment(pk=2, name="prod-eu_2")]
    rows = [AgentShowback(environment=[envs[0].name, HOSTILE][i % 2], slug=slug, replicas=i, direct=Decimal(i * 1000) + Decimal("0.5"),
                          shared=Decimal("-0.001") if i else Decimal("1234567.89"), team=team,
                          url=f"/catalog/agents/{slug}/?x=1&y=\"2\"" if i % 2 == 0 else None)
            for i, (slug, team) in enumerate([("crm-support", team_name), (HOSTILE, "(no team: tag names no agent)"),
                                               ("cart", HOSTILE)][:agents])]
    team_rows = [TeamShowback(team=name, amounts=[Decimal("12.345"), Decimal(0)], agents=n)
                 for n, name in enumerate([team_name, HOSTILE, "E-commerce"][:teams])]
    environments = [EnvironmentShowback(envs[0], Decimal("400.08"), Decimal(70), Decimal("300.005"), 4),
                    EnvironmentShowback(envs[1], Decimal(77), Decimal(0), Decimal(77), 0)]
    return Showback(period=PERIOD, environments=environments, agents=rows, teams=team_rows,
                    page=Paginator(range(45), 20).get_page(2),
                    rest=Rest(count=1 if agents == 1 else 25, total=Decimal("-1999.995")) if rest else None,
                    teams_rest=TeamsRest(count=1 if teams == 1 else 7, agents=12,
                                         amounts=[Decimal("0.004"), Decimal(-3)]) if rest else None)


@pytest.mark.parametrize("keep", ["", "&environment=prod-eu_2&x=<\"'>"])
@pytest.mark.parametrize("case", [{}, {"rest": False}, {"agents": 0, "teams": 0}, {"agents": 1, "teams": 1},
                                  {"agents": 0, "teams": 0, "rest": False}, {"team_name": "Team \"Q\" <&>"}])
def test_the_tables_are_what_the_template_loops_wrote(case, keep):
    data = showback(**case)
    tables = ShowbackTables(data, label=PERIOD.label, month=PERIOD.param,
                            csv=f"{Request.path}?month={PERIOD.param}{keep}")
    context = {"showback": data, "period": PERIOD, "request": Request(), "keep": keep, "tables": tables}

    page = ""
    for name, before in (("teams", TEAMS), ("agents", AGENTS), ("environments", ENVIRONMENTS)):
        old = Template(before).render(Context(context))
        new = Template(NEW[name]).render(Context(context))
        assert new == old, name
        page += new
    assert "<b>" not in page and '<\"' not in page
    if len(data.agents) > 1:
        assert "&lt;b&gt;&quot;A&quot; &amp; &#x27;B&#x27;&lt;/b&gt;" in page


def test_money_text_is_the_money_filter():
    for value in (Decimal("1234.565"), Decimal("-0.001"), Decimal("-12.345"), Decimal(0), Decimal("1e6"), None, 3,
                  Decimal("0.005"), Decimal("-1234567.895")):
        assert money_text(value) == money(value)


@pytest.mark.parametrize("query", ["", "environment=dev", "environment=", "environment=prod&month=2026-11",
                                   "environment=bogus", "environment=%3Cb%3E"])
def test_the_environment_select_is_what_the_widget_rendered(query):
    def form():
        made = CostFilterForm(QueryDict(query) or None, environments=["dev", "staging", "prod"])
        made.is_valid()
        return made

    expected = str(form()["environment"])
    for _ in range(2):      # the second from the memo
        assert str(showback_filters(form())["environment"]) == expected
    assert ("aria-invalid" in expected) == (query.startswith("environment=") and query not in (
        "environment=dev", "environment=", "environment=prod&month=2026-11"))


def test_the_select_memo_keeps_only_values_among_the_choices():
    MemoSelect._memo.clear()
    for value in ("bogus", "<b>", "dev"):
        made = CostFilterForm(QueryDict(f"environment={value}"), environments=["dev"])
        made.is_valid()
        str(showback_filters(made)["environment"])

    assert [key[1] for key in MemoSelect._memo] == ["dev"]
