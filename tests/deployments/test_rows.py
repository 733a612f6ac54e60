"""Issue #11: the tables of runs and approvals read plain rows (selectors.run_rows, approval_rows), one query a
table, and show what the runs and requests themselves say: the same what, environment, labels, links and times."""

from datetime import timedelta

from django.db import connection
from django.template.defaultfilters import date as date_filter
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from portal.deployments import selectors
from portal.deployments.choices import ApprovalStatus, ClusterAction, DeploymentKind
from portal.deployments.choices import DeploymentStatus as S
from portal.accounts import roles
from portal.deployments.models import ApprovalDecision, ApprovalRequest, Deployment
from tests.factories import AgentFactory, EnvironmentFactory


def shown(value) -> str:
    """A time as the templates' |date:"Y-m-d H:i" shows it (in the current time zone)."""
    return date_filter(timezone.localtime(value), "Y-m-d H:i")


def some_runs(env, user):
    agent = AgentFactory(slug="crm-loyalty-insights")
    return [
        Deployment.objects.create(environment=env, template="agent", agent=agent, status=S.SUCCEEDED,
                                  requested_by=user),
        Deployment.objects.create(environment=env, template="agent", parameters={"agentName": "crm-new"},
                                  status=S.AWAITING_APPROVAL, requested_by=user),
        Deployment.objects.create(environment=env, template="agent", parameters={"agent": "crm-old"}, status=S.FAILED),
        Deployment.objects.create(environment=env, template="static-web-app", status=S.RUNNING, requested_by=user),
        Deployment.objects.create(environment=env, template="cluster:scale", kind=DeploymentKind.CLUSTER, agent=agent,
                                  cluster_action=ClusterAction.SCALE, status=S.QUEUED),
        Deployment.objects.create(environment=env, template="cluster:odd", kind=DeploymentKind.CLUSTER,
                                  status=S.CANCELLED),
        Deployment.objects.create(environment=env, template="retire", kind=DeploymentKind.RETIRE, agent=agent,
                                  status=S.PREVIEWED, what_if={"changes": []}, error={"code": "x"}),
    ]


def test_run_rows_show_what_each_run_says_in_one_query(platform, engineer):
    runs = some_runs(platform, engineer)
    with timezone.override("America/New_York"):
        with CaptureQueriesContext(connection) as ctx:
            rows = selectors.run_rows(Deployment.objects.filter(pk__in=[r.pk for r in runs]).order_by("pk"))
        expected = [{"pk": d.pk, "url": d.get_absolute_url(), "what": d.what, "environment": "dev",
                     "status": d.status, "status_label": d.get_status_display(),
                     "requested_by": d.requested_by.username if d.requested_by else None,
                     "when": shown(d.created_at)} for d in Deployment.objects.filter(pk__in=[r.pk for r in runs])
                    .order_by("pk")]
    assert rows == expected
    assert [r["what"] for r in rows] == ["agent crm-loyalty-insights", "agent crm-new", "agent crm-old",
                                         "static-web-app", "Scale crm-loyalty-insights", "cluster:odd",
                                         "Retire crm-loyalty-insights"]
    assert len(ctx.captured_queries) == 1
    assert "what_if" not in ctx.captured_queries[0]["sql"] and "secure_parameters" not in ctx.captured_queries[0]["sql"]


def test_run_rows_of_a_page_keep_its_order_and_slice(platform, engineer):
    runs = some_runs(platform, engineer)
    rows = selectors.run_rows(selectors.deployment_list()[2:5])
    assert [r["pk"] for r in rows] == [d.pk for d in reversed(runs)][2:5]


def test_approval_rows_show_what_each_request_and_its_run_say(platform, engineer, approver):
    runs = some_runs(platform, engineer)
    soon = timezone.now() + timedelta(hours=4)
    approvals = [ApprovalRequest.objects.create(deployment=run, requested_by=run.requested_by, expires_at=soon,
                                                template_hash="t", parameters_hash="p", status=status,
                                                outcome_note=note)
                 for run, status, note in ((runs[1], ApprovalStatus.PENDING, ""),
                                           (runs[2], ApprovalStatus.REJECTED, "Rejected by ada: not now"),
                                           (runs[4], ApprovalStatus.STALE, ""))]
    Deployment.objects.filter(pk=runs[1].pk).update(reason="release 3")
    with timezone.override("Asia/Kolkata"):
        rows = selectors.approval_rows(ApprovalRequest.objects.order_by("pk"))
        expected = [{"pk": a.pk, "url": a.get_absolute_url(), "deployment_id": a.deployment_id,
                     "run_url": a.deployment.get_absolute_url(), "what": a.deployment.what, "environment": "dev",
                     "requested_by_id": a.requested_by_id,
                     "requested_by": a.requested_by.username if a.requested_by else None,
                     "reason": a.deployment.reason, "status": a.status, "status_label": a.get_status_display(),
                     "outcome_note": a.outcome_note, "expires": shown(a.expires_at)}
                    for a in ApprovalRequest.objects.order_by("pk")]
    assert rows == expected and len(rows) == len(approvals)
    assert rows[1]["status_label"] == "Rejected" and rows[2]["status_label"] == "No longer applies"
    assert rows[0]["reason"] == "release 3" and rows[1]["requested_by"] is None


def test_the_approvals_pages_two_pending_lists_are_the_inbox_and_ones_own_in_one_query(
        platform, role_groups, make_user, engineer, approver, platform_admin):
    """approval_pending_rows: what approval_inbox and my_requests' pending give, for each kind of person."""
    other = make_user("otto", roles.ENGINEER)
    prod = EnvironmentFactory(name="prod", approver_group=role_groups[roles.APPROVER])
    soon = timezone.now() + timedelta(hours=2)

    def pending(env, requester, hours=1, group=None):
        run = Deployment.objects.create(environment=env, template="agent", parameters={"agentName": f"a-{hours}"},
                                        requested_by=requester, status=S.AWAITING_APPROVAL)
        return ApprovalRequest.objects.create(deployment=run, requested_by=requester, approver_group=group,
                                              expires_at=soon + timedelta(hours=hours), template_hash="t",
                                              parameters_hash="p")

    pending(platform, engineer, 3)
    pending(prod, engineer, 1, group=role_groups[roles.APPROVER])
    pending(prod, other, 2, group=role_groups[roles.PLATFORM_ADMIN])
    pending(platform, None, 4)
    decided = pending(platform, other, 5)
    ApprovalDecision.objects.create(request=decided, user=approver, decision="approve")
    pending(platform, approver, 6)
    for user in (engineer, approver, platform_admin, other):
        for can_decide in (True, False):
            with CaptureQueriesContext(connection) as ctx:
                inbox, mine = selectors.approval_pending_rows(user=user, can_decide=can_decide)
            assert len(ctx.captured_queries) == 1
            assert inbox == (selectors.approval_rows(selectors.approval_inbox(user=user)) if can_decide else [])
            assert mine == selectors.approval_rows(selectors.my_requests(user=user)["pending"])
    inbox, mine = selectors.approval_pending_rows(user=approver, can_decide=True)
    assert [r["what"] for r in inbox] == ["agent a-1", "agent a-3", "agent a-4"] and len(mine) == 1
