"""Issue #11: an RBAC audit's unexpected and present findings are written a row per filter, and a table's rows
per filter, word for word what the template's rows and loops wrote."""

from datetime import datetime, timedelta, timezone as dt_timezone

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.db.models import OuterRef, Subquery
from django.template import engines

from portal.access.choices import AuditOutcome
from portal.access.models import RbacAudit, RbacFinding
from portal.catalog.models import Environment
from portal.access.selectors import FINDING_FIELDS, FindingRow
from portal.access.templatetags.rbac import (
    history_rows,
    present_row,
    present_rows,
    unexpected_row,
    unexpected_rows,
)


def rbac_environment_list():
    """The overview's environments as the ORM read them before #11 (seven correlated subqueries): the reference
    rbac_environment_rows is held to."""
    latest = RbacAudit.objects.filter(environment=OuterRef("pk")).order_by("-ran_at", "-pk")
    read = latest.filter(outcome=AuditOutcome.READ)
    return Environment.objects.annotate(
        audit_ran_at=Subquery(latest.values("ran_at")[:1]),
        audit_outcome=Subquery(latest.values("outcome")[:1]),
        audit_error=Subquery(latest.values("error")[:1]),
        read_ran_at=Subquery(read.values("ran_at")[:1]),
        read_present=Subquery(read.values("present_count")[:1]),
        read_missing=Subquery(read.values("missing_count")[:1]),
        read_unexpected=Subquery(read.values("unexpected_count")[:1]),
    ).order_by("position", "name")

# The rows of templates/access/environment.html until issue #11.
UNEXPECTED = """<tr data-role="{{ f.role_name }}"><th scope="row">{{ f.role_name }}</th>
        <td><code>{{ f.scope_name }}</code><div class="detail"><code>{{ f.assignment_id }}</code></div></td>
        <td><code>{{ f.principal_id }}</code>{% if f.principal_type %} <span class="muted">{{ f.principal_type }}</span>{% endif %}</td></tr>"""
PRESENT = """<tr data-role="{{ f.role_name }}"><th scope="row">{{ f.role_name }}</th>
        <td><code>{{ f.scope_name }}</code>{% if f.inherited %} <span class="muted">(inherited from above)</span>{% endif %}</td>
        <td>{{ f.principal }} <code>{{ f.principal_id }}</code></td></tr>"""

FINDINGS = [
    RbacFinding(kind="unexpected", role_name="Owner", role_guid="8e3af657", principal_id="1f2e-<x>",
                principal_type="User", scope="/subscriptions/s/resourceGroups/rg-dev/",
                assignment_id="/subscriptions/s/providers/Microsoft.Authorization/roleAssignments/a&b"),
    RbacFinding(kind="unexpected", role_name="User Access Administrator", role_guid="18d7", principal_id="",
                scope="/subscriptions/s/resourceGroups/rg-dev"),
    RbacFinding(kind="present", role_name="AcrPull", role_guid="7f95", principal='aks-"kubelet"',
                principal_id="0a1b", scope_kind="acr", scope="/subscriptions/s/resourceGroups/rg/providers/x/acr1",
                inherited=True),
    RbacFinding(kind="present", role_name="Azure Event Hubs Data Owner", role_guid="f526", principal="aks-kubelet",
                principal_id="0a1b", scope="ns'1", inherited=False),
]


@pytest.mark.parametrize("finding", FINDINGS, ids=range(len(FINDINGS)))
def test_rows_say_what_the_template_rows_said(finding):
    for row, source in ((unexpected_row, UNEXPECTED), (present_row, PRESENT)):
        assert row(finding) == engines["django"].from_string(source).render({"f": finding})


# The tables' bodies of templates/access/environment.html until then: a loop over those rows.
LOOP = """    <tbody>
    {% for f in rows %}
      ROW
    {% empty %}<tr><td colspan="3" class="empty">None.</td></tr>{% endfor %}
    </tbody>"""


def as_row(finding: RbacFinding) -> FindingRow:
    return FindingRow(tuple(getattr(finding, name) for name in FINDING_FIELDS))


@pytest.mark.parametrize("rows", [[], FINDINGS[:1], FINDINGS], ids=["none", "one", "several"])
def test_tables_say_what_the_template_loops_said(rows):
    for row, table in (("{{ f|unexpected_row }}", "unexpected_rows"), ("{{ f|present_row }}", "present_rows")):
        old = engines["django"].from_string("{% load rbac %}" + LOOP.replace("ROW", row))
        new = engines["django"].from_string("{% load rbac %}    <tbody>\n    {{ rows|" + table + " }}\n    </tbody>")
        assert new.render({"rows": [as_row(f) for f in rows]}) == old.render({"rows": rows})


def test_a_finding_row_reads_as_the_finding_does():
    for finding in FINDINGS:
        row = as_row(finding)
        assert [getattr(row, name) for name in (*FINDING_FIELDS, "scope_name")] == [
            getattr(finding, name) for name in (*FINDING_FIELDS, "scope_name")]
        assert row.remediation is None
        assert (unexpected_row(row), present_row(row)) == (unexpected_row(finding), present_row(finding))


def test_no_rows_is_the_empty_row_and_none_is_escaped_as_the_template_did():
    assert unexpected_rows([]) == present_rows([]) == '<tr><td colspan="3" class="empty">None.</td></tr>'
    row = as_row(FINDINGS[0])
    row.principal_id = None
    assert "<code>None</code>" in unexpected_row(row)
    assert unexpected_row(row) == engines["django"].from_string(UNEXPECTED).render({"f": row})


# The recent audits' loop of templates/access/environment.html until then.
HISTORY = """{% load humanize %}    <tbody>
    {% for a in page.history %}
      <tr><th scope="row">#{{ a.pk }}</th><td>{{ a.ran_at|naturaltime }}{% if a.requested_by %} · {{ a.requested_by.username }}{% endif %}</td>
        <td>{% if a.could_read %}{% if a.clean %}clean{% else %}drift{% endif %}{% else %}<span class="text-bad">could not read</span><div class="detail">{{ a.error }}</div>{% endif %}</td>
        <td class="num">{{ a.missing_count }}</td><td class="num">{{ a.unexpected_count }}</td></tr>
    {% endfor %}
    </tbody>"""
NOW = datetime(2026, 11, 30, 12, 0, 30, tzinfo=dt_timezone.utc)


def audit(pk, ago, outcome=AuditOutcome.READ, by=None, **fields) -> RbacAudit:
    return RbacAudit(pk=pk, outcome=outcome, backend="sandbox", ran_at=NOW - ago,
                     requested_by=get_user_model()(username=by) if by else None, **fields)


AUDITS = [
    audit(12345, timedelta(0), by="<erin> & 'co'"),                                 # clean, asked for, just now
    audit(12344, timedelta(minutes=15), missing_count=1, unexpected_count=1003),   # drift
    audit(12343, timedelta(minutes=30, seconds=5), outcome=AuditOutcome.FAILED, by="erin",
          error="AuthorizationFailed: <'roleAssignments/read'> & \"more\""),
    audit(12342, timedelta(days=3, hours=2), outcome=AuditOutcome.FAILED),        # no error said
    audit(7, timedelta(days=400), error="Cosmos data plane: <Forbidden>"),       # read in part: drift
    audit(6, -timedelta(minutes=2)),                                                # in the future
]


@pytest.mark.parametrize("history", [[], AUDITS[:1], AUDITS], ids=["none", "one", "several"])
def test_the_history_says_what_the_template_loop_said(history):
    old = engines["django"].from_string(HISTORY)
    new = engines["django"].from_string("{% load rbac %}    <tbody>\n    {{ page.history|history_rows }}\n    </tbody>")
    with time_machine.travel(NOW, tick=False):
        assert new.render({"page": {"history": history}}) == old.render({"page": {"history": history}})


def test_the_overview_rows_are_what_the_annotated_queryset_gave(db):
    """rbac_environment_rows (hand-written, #11) against rbac_environment_list (the ORM's): environments in order
    of position then name; never audited; latest failed after a read; only failed; two audits at the same moment
    (the later pk wins); the latest read older than a failed one."""
    from portal.access.selectors import rbac_environment_rows
    from tests.factories import EnvironmentFactory

    at = datetime(2026, 11, 30, 17, 4, 30, 862389, tzinfo=dt_timezone.utc)
    envs = [EnvironmentFactory(name=name, position=position)
            for name, position in [("zulu", 0), ("alpha", 1), ("bravo", 1), ("never", 2), ("failed", 3)]]
    zulu, alpha, bravo, _, failed = envs

    def audit(env, outcome, ran_at, present, missing, unexpected, error=""):
        RbacAudit.objects.create(environment=env, outcome=outcome, backend="sandbox", ran_at=ran_at, error=error,
                                 present_count=present, missing_count=missing, unexpected_count=unexpected)

    audit(zulu, AuditOutcome.READ, at - timedelta(hours=2), 4, 1, 0)
    audit(zulu, AuditOutcome.READ, at - timedelta(hours=1), 5, 0, 2)
    audit(zulu, AuditOutcome.FAILED, at, 0, 0, 0, error="<denied>")
    audit(alpha, AuditOutcome.READ, at, 5, 0, 0)
    audit(alpha, AuditOutcome.READ, at, 3, 2, 1)          # same moment, later pk: the latest
    audit(bravo, AuditOutcome.FAILED, at - timedelta(days=3), 0, 0, 0)
    audit(failed, AuditOutcome.FAILED, at, 0, 0, 0, error="x")

    expected = [(e.name, e.audit_ran_at, e.audit_outcome, e.read_ran_at, e.read_present, e.read_missing,
                 e.read_unexpected) for e in rbac_environment_list()]
    assert [tuple(row) for row in rbac_environment_rows()] == expected
    assert [row[0] for row in expected] == ["zulu", "alpha", "bravo", "never", "failed"]
    assert expected[0][2:] == (AuditOutcome.FAILED, at - timedelta(hours=1), 5, 0, 2)
    assert expected[1][4:] == (3, 2, 1) and expected[3][1:] == (None,) * 6


def test_many_hostile_rows_are_escaped_as_the_loop_escaped_them():
    """The tables escape their values in one pass (#11): hostile text, empty and None values, and a value holding
    the pass's separator (NUL, which PostgreSQL text cannot hold but a row built in Python can) still come out
    as the template's loop wrote them."""
    texts = ["<script>x</script>", "a & b", "'q' \"qq\"", "", None, "tab\there", "nul\0inside", "é — ü"]
    rows = [RbacFinding(kind="unexpected", role_name=texts[i % 8], role_guid="g", principal=texts[(i + 1) % 8],
                        principal_id=texts[(i + 2) % 8], principal_type=texts[(i + 3) % 8],
                        scope=f"/s/{texts[(i + 4) % 8]}", assignment_id=texts[(i + 5) % 8], inherited=bool(i % 2))
            for i in range(40)]
    for with_nul in (rows, [r for r in rows if "\0" not in "".join(str(getattr(r, n)) for n in FINDING_FIELDS)]):
        for row, table in (("{{ f|unexpected_row }}", "unexpected_rows"), ("{{ f|present_row }}", "present_rows")):
            old = engines["django"].from_string("{% load rbac %}" + LOOP.replace("ROW", row))
            new = engines["django"].from_string(
                "{% load rbac %}    <tbody>\n    {{ rows|" + table + " }}\n    </tbody>")
            html = new.render({"rows": [as_row(f) for f in with_nul]})
            assert html == old.render({"rows": with_nul})
            assert "&lt;script&gt;" in html and "<script>" not in html


def test_the_page_reads_what_the_orm_read(db):
    """environment_by_name, rbac_history and the findings' statement (hand-written, #11) give what the ORM gave:
    every field of the environment, the audits latest first with their requester, the findings in model order."""
    from portal.access.selectors import environment_by_name, rbac_history, rbac_page
    from tests.factories import EnvironmentFactory

    env = EnvironmentFactory(name="dev", cosmos_containers=["orders"], event_hub_topics=["a", "b"])
    EnvironmentFactory(name="prod")
    user = get_user_model().objects.create(username="<erin>")
    at = datetime(2026, 11, 30, 17, 4, 30, 862389, tzinfo=dt_timezone.utc)
    audits = []
    for i in range(13):
        audits.append(RbacAudit.objects.create(environment=env, outcome=[AuditOutcome.READ, AuditOutcome.FAILED][i % 2],
                                         backend="sandbox", ran_at=at - timedelta(minutes=i // 2), error="e<" * (i % 3),
                                         kubelet_principal_id="k", present_count=i, missing_count=i % 2,
                                         unexpected_count=i % 3, requested_by=user if i % 3 else None))
    for finding in FINDINGS + FINDINGS[::-1]:
        RbacFinding.objects.create(audit=audits[0], **{name: getattr(finding, name) for name in FINDING_FIELDS})

    found = environment_by_name(name="dev")
    expected = type(env).objects.get(name="dev")
    assert [getattr(found, f.attname) for f in type(env)._meta.concrete_fields] == [
        getattr(expected, f.attname) for f in type(env)._meta.concrete_fields]
    assert environment_by_name(name="nope") is None

    history = rbac_history(environment=found)
    orm = list(RbacAudit.objects.filter(environment=env).select_related("requested_by")[:10])
    assert [a.pk for a in history] == [a.pk for a in orm]
    for mine, theirs in zip(history, orm):
        assert [getattr(mine, f.attname) for f in RbacAudit._meta.concrete_fields] == [
            getattr(theirs, f.attname) for f in RbacAudit._meta.concrete_fields]
        assert getattr(mine.requested_by, "username", None) == getattr(theirs.requested_by, "username", None)
        assert mine.environment is found

    page = rbac_page(environment=found)
    assert page.audit.pk == audits[0].pk and len(page.unexpected) == 4 and len(page.present) == 4
    for kind, rows in (("missing", page.missing), ("unexpected", page.unexpected), ("present", page.present)):
        assert [tuple(getattr(r, n) for n in FINDING_FIELDS) for r in rows] == list(
            RbacFinding.objects.filter(audit=page.audit, kind=kind).values_list(*FINDING_FIELDS))
