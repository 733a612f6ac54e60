"""Issue #11: a run's log lines are written by one filter (templatetags/runs.py: log_items), byte for byte what the
template loop wrote before, hostile text escaped, in any time zone; and the run page reads its run and a page of its
log by hand-written statements (selectors.deployment_for_page, deployment_log_after) that give what the ORM gave."""

import datetime
import zoneinfo

import pytest
from django.db.models import Prefetch
from django.template import Context, engines
from django.utils import timezone

from portal.catalog.models import Agent, Team
from portal.deployments import selectors
from portal.deployments.choices import DeploymentStatus as S
from portal.deployments.models import ApprovalRequest, Deployment, DeploymentLogLine, DeploymentOperation
from portal.deployments.selectors import LogLine
from portal.deployments.services import deployment_log
from portal.deployments.templatetags.runs import log_items, operation_rows

# The loop of deployment_detail.html and _progress.html until issue #11 moved it into log_items.
OLD_LOOP = ("{% for line in log_lines %}<li class=\"log-{{ line.level }}\" data-seq=\"{{ line.seq }}\"><time "
            "datetime=\"{{ line.at|date:'c' }}\">{{ line.at|date:\"H:i:s\" }}</time> {{ line.message }}</li>"
            "{% endfor %}")

HOSTILE = ['<script>alert("x")</script>', "Tom & Jerry's", "a > b < c", '"quoted"', "&amp; already",
           "plain text", "", "ünïcødé ✓ — done", "tab\there\nnewline", "x" * 4000]


def lines_at(*times):
    levels = ["info", "warning", "error", 'bad"<level>&']
    return [LogLine(seq, levels[seq % 4], HOSTILE[seq % len(HOSTILE)], at) for seq, at in enumerate(times, start=1)]


UTC = datetime.UTC
TIMES = [datetime.datetime(2026, 3, 29, 0, 59, 59, tzinfo=UTC),            # the hour before Berlin moves to summer
         datetime.datetime(2026, 3, 29, 1, 0, 0, 1, tzinfo=UTC),           # just after, a microsecond in
         datetime.datetime(2026, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),  # a day (and year) ends in UTC
         datetime.datetime(2026, 7, 1, 12, 0, tzinfo=zoneinfo.ZoneInfo("America/New_York")),
         datetime.datetime(2026, 7, 1, 12, 0, tzinfo=datetime.timezone(datetime.timedelta(hours=5, minutes=30))),
         datetime.datetime(2026, 1, 5, 8, 30, 15, 250000, tzinfo=UTC)]


@pytest.mark.parametrize("zone", ["UTC", "Europe/Berlin", "Asia/Kolkata", "America/New_York"])
def test_log_items_writes_what_the_template_loop_wrote(zone):
    lines = lines_at(*TIMES, *TIMES[::-1])
    with timezone.override(zoneinfo.ZoneInfo(zone)):
        old = engines["django"].from_string(OLD_LOOP).template.render(Context({"log_lines": lines}))
        new = log_items(lines)
    assert new == old
    assert "<script>" not in new and "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in new
    assert "Tom &amp; Jerry&#x27;s" in new and 'class="log-bad&quot;&lt;level&gt;&amp;"' in new


def test_log_items_of_no_lines_is_empty():
    assert log_items([]) == ""


def test_log_items_shows_a_time_in_the_current_zone():
    line = lines_at(datetime.datetime(2026, 6, 1, 10, 0, 5, tzinfo=UTC))
    with timezone.override(zoneinfo.ZoneInfo("Europe/Berlin")):
        html = log_items(line)
    assert '<time datetime="2026-06-01T12:00:05+02:00">12:00:05</time>' in html


def test_the_page_of_a_log_is_what_the_orm_read(platform):
    run = Deployment.objects.create(environment=platform, template="agent", status=S.RUNNING)
    other = Deployment.objects.create(environment=platform, template="other", status=S.RUNNING)
    deployment_log(run.pk, [("info", f"line {i}") for i in range(1, 31)])
    deployment_log(other.pk, [("error", f"other {i}") for i in range(1, 31)])
    DeploymentLogLine.objects.filter(deployment=run, seq__in=[5, 6, 17]).delete()  # gaps are skipped, not stopped at
    for after in (0, 3, 4, 6, 16, 29, 30, 31):
        for limit in (1, 7, 100):
            orm = list(DeploymentLogLine.objects.filter(deployment=run, seq__gt=after).order_by("seq")
                       .values_list("seq", "level", "message", "at", named=True)[:limit])
            page = selectors.deployment_log_after(deployment=run, after=after, limit=limit)
            assert page == orm and all(isinstance(line.at, datetime.datetime) for line in page)
            assert [line.seq for line in page] == [line.seq for line in orm]
            assert page[0].message.startswith("line") if page else after >= 29


def _orm_run(pk):
    """deployment_for_page as the ORM wrote it before it was hand-written."""
    return (Deployment.objects.select_related("environment", "requested_by", "agent", "approval")
            .only(*selectors.RUN_PAGE_FIELDS)
            .prefetch_related(Prefetch("operations", queryset=DeploymentOperation.objects.order_by("position", "pk")))
            .get(pk=pk))


def _shown(d):
    """What the run page and its card read of a run, its related rows and its resources."""
    fields = ["pk", *(Deployment._meta.get_field(name).attname for name in selectors.RUN_PAGE_FIELDS if "__" not in name)]
    values = {name: getattr(d, name) for name in fields}
    values.update(environment=(d.environment.pk, d.environment.name),
                  agent=d.agent and (d.agent.pk, d.agent.slug, d.agent.owner_team_id),
                  requested_by=d.requested_by and (d.requested_by.pk, d.requested_by.username),
                  approval=getattr(d, "approval", None) and (d.approval.pk, d.approval.status,
                                                              d.approval.get_status_display()),
                  operations=[(op.pk, op.operation_id, op.position, op.resource_type, op.resource_name, op.state,
                               op.status_code, op.error, op.updated_at, op.deployment is d)
                              for op in d.operations.all()],
                  deferred=d.get_deferred_fields(), title=d.title, version=selectors.deployment_version(d))
    return values


def test_the_run_page_reads_what_the_orm_read(platform, engineer, django_assert_num_queries):
    team = Team.objects.create(slug="crm", name="CRM")
    agent = Agent.objects.create(slug="crm-bot", display_name="CRM bot", domain="crm", owner_team=team,
                                 image="crm:1")
    plain = Deployment.objects.create(environment=platform, template="static-web-app", status=S.QUEUED,
                                      parameters={"agentName": "<b>x</b>"})
    full = Deployment.objects.create(
        environment=platform, template="agent", status=S.FAILED, agent=agent, requested_by=engineer,
        reason="because & why", secure_parameter_names=["apiKey"], parameters={"a": [1, {"b": None}]},
        what_if={"changes": [{"change_type": "Create", "resource_type": "t", "resource_name": "n"}]},
        error={"code": "Boom", "message": "<no>", "details": []}, retry_of=plain, log_seq=3,
        started_at=timezone.now(), finished_at=timezone.now())
    ApprovalRequest.objects.create(deployment=full, requested_by=engineer, template_hash="h", parameters_hash="p",
                                   expires_at=timezone.now())
    for position, state in ((2, "Failed"), (1, "Succeeded"), (1, "Running")):
        DeploymentOperation.objects.create(deployment=full, operation_id=f"op-{position}-{state}", position=position,
                                           resource_type="Microsoft.Web/sites", resource_name=f"r{position}",
                                           state=state, error={"code": "E", "message": "m"} if state == "Failed"
                                           else None)
    for run in (plain, full):
        with django_assert_num_queries(2):
            page = selectors.deployment_for_page(pk=run.pk)
            shown = _shown(page)
        assert shown == _shown(_orm_run(run.pk))
    with pytest.raises(Deployment.DoesNotExist):
        selectors.deployment_for_page(pk=full.pk + 1000)


# The resources' rows of _run.html until issue #11 moved them into operation_rows.
OLD_OPERATIONS = """{% for op in ops %}
        <tr data-state="{{ op.state|lower }}"><th scope="row">{{ op.resource_name }}</th><td><code>{{ op.resource_type }}</code></td>
          <td><span class="status status-{{ op.state|lower }}">{{ op.state }}</span></td>
          <td>{% if op.error %}<strong>{{ op.error.code }}</strong>: {{ op.error.message }}{% endif %}</td></tr>
      {% endfor %}"""

ERRORS = [None, {}, {"code": "Conflict", "message": "The <resource> & 'its' \"lock\""}, {"code": "OnlyCode"},
          {"message": "only a message"}, {"code": None, "message": 42}, {"code": ["a", "<b>"], "message": {"x": 1}},
          "a plain <string>", ["a", "list"], {"code": True, "message": False}]


def test_operation_rows_write_what_the_template_loop_wrote():
    ops = [DeploymentOperation(pk=i, operation_id=f"op-{i}", position=i, state=state, error=error,
                               resource_type=f"Microsoft.Web/<sites>&{i}", resource_name=f"r-'{i}'\"")
           for i, (state, error) in enumerate(zip(["Succeeded", "Failed", "RUNNING", 'Odd"<state>', "", "Accepted",
                                                  "Failed", "Failed", "Failed", "Failed"], ERRORS))]
    old = engines["django"].from_string(OLD_OPERATIONS).template.render(Context({"ops": ops}))
    new = operation_rows(ops)
    assert new == old
    assert "<strong>Conflict</strong>: The &lt;resource&gt; &amp; &#x27;its&#x27; &quot;lock&quot;" in new
    assert 'data-state="odd&quot;&lt;state&gt;"' in new and "<sites>" not in new
    assert operation_rows([]) == ""
