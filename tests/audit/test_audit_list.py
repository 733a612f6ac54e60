"""Issue #11: the audit log's filter options come from one query that reads the indexes a value at a time, and
its rows' times and details from one filter each, saying what the template's filters and loop said."""

from datetime import datetime, timezone as dt_timezone

import pytest
from django.db import connection
from django.template import engines
from django.test.utils import CaptureQueriesContext

from portal.audit.models import AuditEvent
from portal.audit.selectors import audit_filter_choices
from portal.audit.templatetags.audit_details import details_list, event_time

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
