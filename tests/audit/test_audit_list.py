"""Issue #11: the audit log's filter options come from one query that reads the indexes a value at a time, and
its rows' times and details from one filter each, saying what the template's filters and loop said; its rows
from one hand-written statement giving what the ORM gave, written by one filter saying what the loop said."""

from datetime import datetime, timedelta, timezone as dt_timezone

import pytest
import time_machine
from django.core.cache import cache
from django.core.paginator import Paginator
from django.db import connection
from django.template import engines
from django.test.utils import CaptureQueriesContext

from portal.audit.models import AuditEvent
from portal.audit.selectors import LIST_FIELDS, AuditRows, audit_filter_choices
from portal.audit.templatetags.audit_details import details_list, event_rows, event_time, options


def audit_event_list(*, actor: str = "", action: str = "", object_type: str = "", q: str = ""):
    """The log's events as the ORM reads them (what the page read before #11): the reference AuditRows is held to."""
    qs = AuditEvent.objects.only(*LIST_FIELDS)
    if actor:
        qs = qs.filter(actor_name=actor)
    if action:
        qs = qs.filter(action=action)
    if object_type:
        qs = qs.filter(object_type=object_type)
    if q:
        qs = qs.filter(object_repr__icontains=q)
    return qs


# What the audit log's row wrote for an event's time and details until issue #11.
TIME = """<time datetime="{{ at|date:'c' }}">{{ at|date:"Y-m-d H:i:s" }}</time>"""
DETAILS = """{% load audit_details %}{% if details %}<dl class="details">{% for key, value in details|detail_items %}<div>{% if key %}<dt>{{ key }}</dt>{% endif %}<dd><code>{{ value }}</code></dd></div>{% endfor %}</dl>{% endif %}"""


def test_filter_options_are_every_distinct_value_sorted_in_one_query(db):
    assert audit_filter_choices() == {"actors": [], "actions": [], "object_types": []}
    for actor, action, object_type in [("zoe", "agent.registered", "catalog.agent"), ("erin", "agent.registered",
                                       "catalog.agent"), ("system", "environment.synced", "catalog.environment"),
                                       ("", "token.created", "accounts.apitoken"), ("erin", "b'<x>'", "catalog.agent")]:
        AuditEvent.objects.bulk_create([AuditEvent(actor_name=actor, action=action, object_type=object_type)])

    with CaptureQueriesContext(connection) as queries:
        choices = audit_filter_choices()

    assert len(queries) == 1
    assert choices == {"actors": ["", "erin", "system", "zoe"],
                       "actions": ["agent.registered", "b'<x>'", "environment.synced", "token.created"],
                       "object_types": ["accounts.apitoken", "catalog.agent", "catalog.environment"]}


DETAILS_CASES = [{}, {"via": "password"}, {"changes": {"region": ["a", "b"]}, "n": 3, "ok": True, "none": None},
                 {"<b>": "a & 'b' \"c\"", "": "no key"}, ["a", 1], "text", 0, 7, None]


@pytest.mark.parametrize("details", DETAILS_CASES, ids=range(len(DETAILS_CASES)))
def test_details_list_says_what_the_loop_said(details):
    assert details_list(details) == engines["django"].from_string(DETAILS).render({"details": details})


@pytest.mark.parametrize("zone", ["UTC", "Europe/Amsterdam", "America/St_Johns"])
def test_event_time_says_what_the_date_filters_said(zone, settings):
    settings.TIME_ZONE = zone
    template = engines["django"].from_string(TIME)
    for at in (datetime(2026, 11, 30, 17, 4, 30, 862389, tzinfo=dt_timezone.utc),
               datetime(2026, 3, 29, 1, 0, 0, tzinfo=dt_timezone.utc), None):
        assert event_time(at) == template.render({"at": at})


# What the audit log's rows and filter options wrote until issue #11 made each one filter: the template's loops.
ROWS = """{% load audit_details %}{% for e in page %}
      <tr><td>{{ e.at|event_time }}</td><td>{{ e.actor_name }}</td><td><code>{{ e.action }}</code></td>
        <td>{{ e.object_repr }} <span class="muted">({{ e.object_type }})</span></td><td>{{ e.ip_address|default:"—" }}</td>
        <td>{{ e.details|details_list }}</td></tr>
    {% empty %}<tr><td colspan="6" class="empty">No events match.</td></tr>{% endfor %}"""
OPTIONS = """{% for a in values %}<option value="{{ a }}" {% if a == selected %}selected{% endif %}>{{ a }}</option>{% endfor %}"""

HOSTILE = ["<script>alert('x')</script>", 'a & "b"', "it's <b>", "", "100% _done_ \\ back", "Ünïcode — ok"]


def _events():
    """Events of every kind the log shows, each at a pinned moment: hostile names, no IP, IPv6, odd details."""
    moments = [datetime(2026, 11, 30, 17, 4, 30, 862389, tzinfo=dt_timezone.utc),
               datetime(2026, 3, 29, 1, 0, 0, tzinfo=dt_timezone.utc),
               datetime(2026, 3, 29, 0, 59, 59, 999999, tzinfo=dt_timezone.utc)]
    ips = [None, "203.0.113.7", "2001:db8::1"]
    for i in range(24):
        with time_machine.travel(moments[i % 3] + timedelta(minutes=i), tick=False):
            AuditEvent.objects.create(actor_name=HOSTILE[i % 6], action=["agent.registered", "x<y>", "a&b"][i % 3],
                                      object_type=["catalog.agent", "o\"t'"][i % 2], object_repr=HOSTILE[(i + 1) % 6],
                                      ip_address=ips[i % 3], details=DETAILS_CASES[i % len(DETAILS_CASES)] or {})


@pytest.mark.parametrize("zone", ["UTC", "Europe/Amsterdam", "America/St_Johns"])
def test_event_rows_say_what_the_loop_said(zone, settings, db):
    settings.TIME_ZONE = zone
    _events()
    loop = engines["django"].from_string(ROWS)
    for page in (1, 2, 3):
        old = Paginator(audit_event_list(), 10).get_page(page)
        new = Paginator(AuditRows(), 10).get_page(page)
        assert new.object_list
        assert event_rows(new.object_list) == loop.render({"page": old})
    nothing = Paginator(AuditRows(q="nothing like it"), 10).get_page(1).object_list
    assert event_rows(nothing) == loop.render({"page": []})
    html = event_rows(AuditRows()[0:24])
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in html and "<script>" not in html
    assert "(o&quot;t&#x27;)" in html and "<td>—</td>" in html and "<td>2001:db8::1</td>" in html


def test_options_say_what_the_loop_said():
    loop = engines["django"].from_string(OPTIONS)
    for values in ([], HOSTILE, ["erin", "zoe"]):
        for selected in ("", "zoe", HOSTILE[0], 'a & "b"'):
            assert options(values, selected) == loop.render({"values": values, "selected": selected})


FILTERS = [{}, {"actor": HOSTILE[0]}, {"action": "x<y>"}, {"object_type": "o\"t'"}, {"q": "DONE_"}, {"q": "%"},
           {"q": "_"}, {"q": "\\"}, {"q": "üNÏ"}, {"actor": "", "action": "a&b", "object_type": "catalog.agent"},
           {"actor": 'a & "b"', "q": "<B>"}, {"action": "none such"}]


@pytest.mark.parametrize("filters", FILTERS, ids=range(len(FILTERS)))
def test_rows_are_the_orm_s_rows_for_every_filter(filters, db):
    _events()
    expected = list(audit_event_list(**filters).values_list(*LIST_FIELDS))
    rows = AuditRows(**filters)
    assert rows.count() == len(expected)
    assert [tuple(r) for r in rows[0:100]] == expected
    assert [tuple(r) for r in rows[3:8]] == expected[3:8]


def test_a_long_log_s_count_is_kept_a_while_its_rows_are_live(db, monkeypatch):
    monkeypatch.setattr("portal.core.pagination.EXACT_COUNT", 3)
    cache.clear()
    _events()
    assert AuditRows().count() == 24 and AuditRows(action="a&b").count() == 8
    with time_machine.travel(datetime(2026, 12, 1, tzinfo=dt_timezone.utc), tick=False):
        AuditEvent.objects.create(actor_name="new", action="a&b", object_type="t", object_repr="newest")
    with CaptureQueriesContext(connection) as queries:
        rows = AuditRows(action="a&b")
        assert rows.count() == 8    # kept LONG_COUNT_SECONDS, as page_of keeps a long list's total
        assert rows[0:1][0][4] == "newest"
    assert len(queries) == 1
    assert AuditRows(actor="new").count() == 1  # short: counted each time
    cache.clear()
    assert AuditRows(action="a&b").count() == 9


def test_a_refused_search_reads_nothing(db):
    _events()
    with CaptureQueriesContext(connection) as queries:
        page = Paginator(AuditRows(q="x", none=True), 50).get_page(1)
        assert (page.paginator.count, list(page.object_list)) == (0, [])
    assert len(queries) == 0
