"""Issue #11: the cost pages' charts, month navigation, freshness list and tables of environments, months and days
are one tag or filter each instead of includes and template loops. Each writes what the old template wrote (kept
here, verbatim), escaped as it was: compared on varied rows with hostile text, at a pinned clock."""

import re
from datetime import date, datetime, timedelta, timezone as tz
from decimal import Decimal

import pytest
from django.template import Context, Template
from django.test import RequestFactory

from portal.costs.selectors import Day, EnvironmentCost, Period, Rest, Row, period_for

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=tz.utc)
LOAD = "{% load costs humanize text_limits %}"

OLD_CHART = """{# A chart drawn by static/js/costs.js from the JSON next to it; hidden until drawn, so a page without JavaScript shows only its tables (the truth). #}
<figure class="chart" hidden>
  <canvas data-chart="{{ chart_id }}" role="img" aria-label="{{ label }} The table {{ where|default:'below' }} has the same numbers."></canvas>
</figure>
{{ data|json_script:chart_id }}
"""
OLD_MONTH_NAV = """<nav class="month-nav" aria-label="Month">
  <a href="{{ request.path }}?month={{ period.previous|date:'Y-m' }}{{ keep }}" hx-get="{{ request.path }}?month={{ period.previous|date:'Y-m' }}{{ keep }}" hx-target="#cost-results" hx-swap="outerHTML" hx-push-url="true">‹ {{ period.previous|date:"F Y" }}</a>
  <strong data-testid="cost-month">{{ period.label }}</strong>{% if not period.is_current %} <span class="muted">(month ended)</span>{% endif %}
  {% if period.next %}<a href="{{ request.path }}?month={{ period.next|date:'Y-m' }}{{ keep }}" hx-get="{{ request.path }}?month={{ period.next|date:'Y-m' }}{{ keep }}" hx-target="#cost-results" hx-swap="outerHTML" hx-push-url="true">{{ period.next|date:"F Y" }} ›</a>{% endif %}
</nav>"""
OLD_FRESHNESS = """{% for c in costs %}
  <li>
    <strong>{{ c.name }}</strong>:
    {% if c.data_at %}data from {{ c.data_at|naturaltime }}{% else %}<span class="stale">no cost data yet</span>{% endif %}
    {% if c.last_run_failed %}<span class="failed" role="status">· the last ingest failed {{ c.last_run_at|naturaltime }}: {{ c.last_error|shortened:160 }}{% if c.data_at %} (showing the last good data){% endif %}</span>{% endif %}
  </li>
  {% endfor %}"""
OLD_ENVIRONMENTS = """{% for e in costs %}<tr class="state-{{ e.state }}"><th scope="row"><a href="{% url 'costs:environment' e.name %}?month={{ period.param }}">{{ e.name }}</a></th><td class="num">{{ e.actual|money }}</td><td class="num">{{ e.budget|money:0 }}</td><td class="used">{% if e.percent is not None %}<meter min="0" max="100" low="80" high="100" optimum="0" value="{{ e.percent|plain:1 }}" aria-hidden="true"></meter> {{ e.percent|percent }}{% else %}<span class="muted">no budget</span>{% endif %}</td><td class="num forecast-cell">{{ e.forecast|money }}</td><td class="num forecast-cell">{{ e.forecast_percent|percent }}</td></tr>{% endfor %}"""
OLD_TREND_CELLS = """{% with path=request.path budget=total|money:0 %}{% for row in rows %}<tr><th scope="row"><a href="{{ path }}?month={{ row.key }}">{{ row.key }}</a></th>{{ row.amounts|amount_cells }}<td class="num">{{ row.total|money }}</td><td class="num">{{ budget }}</td></tr>{% endfor %}{% endwith %}"""
OLD_TREND = """{% with path=request.path budget=total|money:0 %}{% for row in rows %}<tr><th scope="row"><a href="{{ path }}?month={{ row.key }}">{{ row.key }}</a></th><td class="num">{{ row.total|money }}</td><td class="num">{{ budget }}</td></tr>{% endfor %}{% endwith %}"""
OLD_DAYS = """{% load costs %}
<details>
  <summary>Day by day ({{ days|length }} days)</summary>
  <table class="table">
    <caption class="sr-only">Cost per day{{ caption }}</caption>
    <thead><tr><th scope="col">Day</th><th scope="col" class="num">Cost</th><th scope="col" class="num">Month to date</th><th scope="col" class="num">Forecast, month to date</th></tr></thead>
    <tbody>{{ days|day_rows }}</tbody>
  </table>
</details>
"""
OLD_HEADS = """{% for name in names %}<th scope="col" class="num">{{ name }}</th>{% endfor %}"""

HOSTILE = ["dev", "<b>x</b> & \"q\" 'a'", "caf\u00e9", "a&b", ""]


def render(source: str, **context) -> str:
    return Template(LOAD + source).render(Context(context))


@pytest.fixture
def pinned(monkeypatch):
    from django.contrib.humanize.templatetags import humanize
    monkeypatch.setattr(humanize, "datetime", type("Pinned", (datetime,), {"now": staticmethod(lambda tz=None: NOW)}))


@pytest.mark.parametrize("data, where", [({"labels": ["</script><b>", "a & b"], "data": [1.5, None]}, ""),
                                         ({"title": "x 'y' \"z\""}, "of days"), ({}, "<i>")])
def test_the_chart_tag_writes_what_the_chart_include_wrote(data, where):
    label = "Bar chart: the month's cost & more <b>."
    old = render(OLD_CHART, chart_id="chart-month", data=data, label=label, where=where)
    for literal in (True, False):  # as the pages call it (literal strings) and with variables
        if literal:
            new = render(f'\n{{% chart "chart-month" data "{label}" "{where}" %}}\n', data=data)
            assert new == render(OLD_CHART.replace("{{ label }}", label).replace(
                "{{ where|default:'below' }}", where or "below"), chart_id="chart-month", data=data)
        else:
            assert render('\n{% chart chart_id data label where %}\n', chart_id="chart-month", data=data,
                          label=label, where=where) == old
    assert render('{% include "costs/_chart.html" %}', chart_id="chart-month", data=data, label=label,
                  where=where).strip() == old.strip()


@pytest.mark.parametrize("month, today, keep", [("2026-11", date(2026, 11, 20), ""),
                                                ("2026-10", date(2026, 11, 20), "&resource_group=a&b<c>"),
                                                ("1970-01", date(2026, 11, 20), "&environment=\"x\""),
                                                ("2026-12", date(2026, 12, 31), None)])
@pytest.mark.parametrize("path", ["/costs/", "/costs/environments/dev/services/A%20&%20B/", "/x/<b>/"])
def test_the_month_nav_tag_writes_what_the_month_nav_include_wrote(month, today, keep, path):
    context = {"period": period_for(month, today=today), "request": RequestFactory().get(path)}
    if keep is not None:
        context["keep"] = keep

    old = render(OLD_MONTH_NAV, **context)
    assert render("{% month_nav %}", **context) == old
    assert render('{% include "costs/_month_nav.html" %}', **context).strip() == old


def cost(name: str, *, actual="10", budget="100", forecast=None, data_at=NOW - timedelta(hours=2),
         failed=False, error="") -> EnvironmentCost:
    from portal.catalog.models import Environment
    return EnvironmentCost(environment=Environment(name=name, monthly_budget=Decimal(budget)), actual=Decimal(actual),
                           forecast=None if forecast is None else Decimal(forecast), data_at=data_at,
                           last_run_at=NOW - timedelta(minutes=5) if failed else None,
                           last_run_status="failed" if failed else "succeeded", last_error=error)


COSTS = [cost("dev", actual="123456.785", budget="600", forecast="99.994"),
         cost("<b>x</b> & \"q\" 'a'", actual="0", budget="0", data_at=None, failed=True,
              error="AuthorizationFailed: <script>alert('x')</script> & " + "long " * 60),
         cost("caf\u00e9", actual="-1.005", budget="1500", forecast="1600", failed=True, error="Throttled & retried"),
         cost("a&b", actual="50", budget="100", forecast="120", data_at=NOW - timedelta(days=3))]


def test_the_freshness_filter_writes_what_the_freshness_include_wrote(pinned):
    assert render("{{ costs|freshness_items }}", costs=COSTS) == render(OLD_FRESHNESS, costs=COSTS)
    assert render("{{ costs|freshness_items }}", costs=[]) == render(OLD_FRESHNESS, costs=[]) == ""


def test_the_environment_rows_filter_writes_what_the_loop_wrote():
    period = period_for("2026-11", today=date(2026, 11, 20))
    costs = [cost("dev", actual="123456.785", budget="600", forecast="99.994"), cost("a_b-1", actual="0", budget="0"),
             cost("staging", actual="1500.005", budget="1500", forecast="1400"),
             cost("prod", actual="-1.005", budget="1500", forecast="1600")]

    assert render("{{ costs|environment_rows:period.param }}", costs=costs, period=period) == \
        render(OLD_ENVIRONMENTS, costs=costs, period=period)
    assert {c.state for c in costs} == {"over", "warn", "ok"}


ROWS = [Row(key="2026-06", amounts=[Decimal("1.005"), Decimal(0), Decimal("-2")], total=Decimal("-0.995")),
        Row(key="<b>&", amounts=[Decimal("1234567.891"), Decimal("0.004"), Decimal(3)], total=Decimal("1234570.9"))]


@pytest.mark.parametrize("path", ["/costs/", "/costs/environments/a&b/", "/<x>/"])
@pytest.mark.parametrize("total", [Decimal("4200.5"), Decimal(0)])
def test_the_trend_rows_tag_writes_what_the_loop_wrote(path, total):
    request = RequestFactory().get(path)
    assert render("{% trend_rows rows request.path total|money:0 cells=True %}", rows=ROWS, request=request,
                  total=total) == render(OLD_TREND_CELLS, rows=ROWS, request=request, total=total)
    assert render("{% trend_rows rows request.path total|money:0 %}", rows=ROWS, request=request, total=total) == \
        render(OLD_TREND, rows=ROWS, request=request, total=total)


def test_the_column_heads_filter_writes_what_the_loop_wrote():
    assert render("{{ names|column_heads }}", names=HOSTILE) == render(OLD_HEADS, names=HOSTILE)


@pytest.mark.parametrize("caption", ["", ", all environments", "<b> & 'x'"])
def test_the_day_table_tag_writes_what_the_days_include_wrote(caption):
    days = [Day(date=date(2026, 11, 1), actual=Decimal("1.5"), cumulative=Decimal("1.5"), forecast_cumulative=None),
            Day(date=date(2026, 11, 2), actual=None, cumulative=None, forecast_cumulative=Decimal("1234.567"))]
    old = render(OLD_DAYS, days=days, caption=caption)
    assert render('\n{% day_table days caption %}\n', days=days, caption=caption) == old


def test_dates_as_text_are_what_strftime_gives():
    from portal.costs.charts import month_line
    from portal.costs.selectors import day_label, month_label, month_param

    day = date(1969, 12, 1)
    while day < date(2031, 1, 1):
        assert (day_label(day), month_param(day), month_label(day)) == \
            (f"{day:%a} {day.day} {day:%b}", f"{day:%Y-%m}", f"{day:%B %Y}")
        day += timedelta(days=1)
    assert Period(month=date(2026, 11, 1), today=date(2026, 12, 1)).label == "November 2026"
    days = [Day(date=date(2026, 2, n), actual=None, cumulative=None, forecast_cumulative=None) for n in (1, 28)]
    assert month_line(days, None, title="t")["labels"] == ["Feb 1", "Feb 28"]


OLD_REST = """{% with rest=rest %}{% if rest %}<tr class="rest" data-testid="agents-rest"><th scope="row" colspan="{{ columns|length|add:2 }}">The other {{ rest.count }} agent{{ rest.count|pluralize }} (every row in the <a href="{{ request.path }}?month={{ period.param }}{{ keep }}&amp;format=csv&amp;table=agents">CSV</a>)</th><td class="num">{{ rest.total|money }}</td></tr>{% endif %}{% endwith %}"""  # noqa: E501
OLD_RESOURCE_GROUPS = """{% for row in detail.resource_groups %}
        <tr{% if row.key == detail.resource_group %} class="selected" aria-current="true"{% endif %}><th scope="row"><a href="{{ request.path }}?month={{ period.param }}&amp;resource_group={{ row.key|urlencode }}">{{ row.key|default:"(none)" }}</a></th><td class="num">{{ row.total|money }}</td><td class="num">{{ row.share|percent }}</td></tr>
      {% empty %}<tr><td colspan="3" class="empty">No cost of {{ detail.service }} in {{ detail.environment.name }} in {{ period.label }}.</td></tr>{% endfor %}"""  # noqa: E501


def _between_tags(html: str) -> str:
    """The markup without the whitespace the loop put between rows (harmless in a table body)."""
    return re.sub(r">\s+<", "><", html).strip()


@pytest.mark.parametrize("rest", [None, Rest(count=1, total=Decimal("0.004")), Rest(count=4980, total=Decimal("-12.5")),
                                  Rest(count=2, total=Decimal("1234567.895"))])
@pytest.mark.parametrize("path, keep", [("/costs/", ""), ("/costs/environments/a&b/", "&resource_group=<x>&'\""),
                                        ("/<x>/\"", "")])
@pytest.mark.parametrize("columns", [[], ["dev", "prod", "<b>"]])
def test_the_agents_rest_row_tag_writes_what_the_template_wrote(rest, path, keep, columns):
    request, period = RequestFactory().get(path), period_for("2026-10", today=date(2026, 11, 20))
    context = {"rest": rest, "request": request, "period": period, "keep": keep, "columns": columns}
    assert render("{% agents_rest_row rest columns|length|add:2 request.path period.param keep %}", **context) == \
        render(OLD_REST, **context)


@pytest.mark.parametrize("chosen", ["", "rg-a", "<b>&\"'"])
@pytest.mark.parametrize("groups", [
    [],
    [Row(key="rg-a", amounts=[Decimal("10.005")], total=Decimal("10.005"), share=Decimal("66.65")),
     Row(key="<b>&\"'", amounts=[Decimal(5)], total=Decimal(5), share=Decimal("33.3")),
     Row(key="", amounts=[Decimal("0.001")], total=Decimal("0.001"), share=None),
     Row(key="a b/c?d=e&f#g caf\u00e9", amounts=[Decimal(-1)], total=Decimal(-1), share=Decimal("0.05"))],
])
@pytest.mark.parametrize("path", ["/costs/environments/dev/services/AKS/", "/<x>/\"&"])
def test_the_resource_group_rows_tag_writes_what_the_loop_wrote(chosen, groups, path):
    environment = type("Env", (), {"name": "d<e>v & 'x'"})()
    detail = type("Detail", (), {"resource_groups": groups, "resource_group": chosen, "service": "A<K>S & \"q\"",
                                 "environment": environment})()
    context = {"detail": detail, "request": RequestFactory().get(path),
               "period": period_for("2026-10", today=date(2026, 11, 20))}
    new = render("{% resource_group_rows detail.resource_groups detail.resource_group request.path period.param "
                 "detail.service detail.environment.name period.label %}", **context)
    assert new == _between_tags(render(OLD_RESOURCE_GROUPS, **context))
