"""Issue #11: the tables of runs and approvals read plain rows (selectors.run_rows, pending_approval_rows,
decided_approval_rows), one hand-written statement a table, and show what the runs and requests themselves say:
the same what, environment, labels, links and times."""

from datetime import timedelta

import pytest
from django.db import connection
from django.template.defaultfilters import date as date_filter
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from portal.core import pagination
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
    Deployment.objects.filter(pk=runs[3].pk).update(template='static-<web>-app & "co"')
    listed = selectors.deployment_list_rows()
    with timezone.override("America/New_York"):
        with CaptureQueriesContext(connection) as ctx:
            rows = listed[0:50]
        expected = [{"pk": d.pk, "url": d.get_absolute_url(), "what": d.what, "environment": "dev",
                     "status": d.status, "status_label": d.get_status_display(),
                     "requested_by": d.requested_by.username if d.requested_by else None,
                     "when": shown(d.created_at)} for d in Deployment.objects.order_by("-created_at", "-pk")]
    assert rows == expected and len(listed) == len(runs)
    assert [r["what"] for r in reversed(rows)] == ["agent crm-loyalty-insights", "agent crm-new", "agent crm-old",
                                                   'static-<web>-app & "co"', "Scale crm-loyalty-insights",
                                                   "cluster:odd", "Retire crm-loyalty-insights"]
    assert len(ctx.captured_queries) == 1
    assert "what_if" not in ctx.captured_queries[0]["sql"] and "secure_parameters" not in ctx.captured_queries[0]["sql"]


def test_run_rows_of_a_page_keep_its_order_and_slice(platform, engineer):
    runs = some_runs(platform, engineer)
    assert [r["pk"] for r in selectors.deployment_list_rows()[2:5]] == [d.pk for d in reversed(runs)][2:5]
    assert [r["pk"] for r in selectors.my_run_rows(user=engineer)[1:3]] == \
        [d.pk for d in reversed(runs) if d.requested_by == engineer][1:3]


@pytest.mark.parametrize("filters", [{}, {"environment": "dev"}, {"environment": "prod"}, {"environment": "de"},
                                     {"status": "active"}, {"status": "failed"}, {"status": "nonsense"},
                                     {"template": "agent"}, {"template": "cluster:scale", "environment": "dev"},
                                     {"environment": "prod", "status": "active", "template": "agent"}])
def test_the_list_of_runs_rows_are_deployment_lists_runs(platform, engineer, filters):
    """The table's rows (one hand-written statement) are the runs deployment_list gives (the API's), in order."""
    some_runs(platform, engineer)
    prod = EnvironmentFactory(name="prod")
    for status in (S.QUEUED, S.FAILED, S.AWAITING_APPROVAL):
        Deployment.objects.create(environment=prod, template="agent", status=status, requested_by=engineer)
    listed = selectors.deployment_list_rows(**filters)
    expected = list(selectors.deployment_list(**filters).values_list("pk", flat=True))
    assert [r["pk"] for r in listed[0:100]] == expected and len(listed) == len(expected)


def test_running_now_and_my_runs_are_whose_and_which_they_say(platform, engineer, approver):
    runs = some_runs(platform, engineer)
    prod = EnvironmentFactory(name="prod", position=1)
    platform.position = 2
    platform.save(update_fields=["position"])
    runs += [Deployment.objects.create(environment=prod, template=f"t{i}", status=status, requested_by=approver)
             for i, status in enumerate((S.RUNNING, S.QUEUED, S.SUCCEEDED))]
    running = selectors.running_now_rows()
    assert [r["pk"] for r in running] == list(Deployment.objects.filter(status__in=[S.QUEUED, S.RUNNING])
                                             .order_by("environment__position", "created_at")
                                             .values_list("pk", flat=True))
    assert [r["environment"] for r in running] == ["prod", "prod", "dev", "dev"]
    for user in (engineer, approver):
        mine = selectors.my_run_rows(user=user)
        assert [r["pk"] for r in mine[0:50]] == [d.pk for d in reversed(runs) if d.requested_by == user]
        assert len(mine) == len([d for d in runs if d.requested_by == user])


def pending_row(a: ApprovalRequest) -> dict:
    """What a table of pending requests shows of `a`, from the model instance."""
    return {"pk": a.pk, "url": a.get_absolute_url(), "deployment_id": a.deployment_id,
            "run_url": a.deployment.get_absolute_url(), "what": a.deployment.what,
            "environment": a.deployment.environment.name, "requested_by_id": a.requested_by_id,
            "requested_by": a.requested_by.username if a.requested_by else None, "reason": a.deployment.reason,
            "expires": shown(a.expires_at)}


def decided_row(a: ApprovalRequest) -> dict:
    """What the table of decided requests shows of `a`, from the model instance."""
    return {"pk": a.pk, "url": a.get_absolute_url(), "deployment_id": a.deployment_id, "what": a.deployment.what,
            "environment": a.deployment.environment.name, "status": a.status,
            "status_label": a.get_status_display(), "outcome_note": a.outcome_note}


def test_approval_rows_show_what_each_request_and_its_run_say(platform, engineer, approver):
    runs = some_runs(platform, engineer)
    now = timezone.now()
    approvals = [ApprovalRequest.objects.create(deployment=run, requested_by=run.requested_by,
                                                expires_at=now + timedelta(hours=hours), template_hash="t",
                                                parameters_hash="p", status=status, outcome_note=note,
                                                decided_at=None if status == ApprovalStatus.PENDING else now)
                 for run, status, note, hours in ((runs[1], ApprovalStatus.PENDING, "", 4),
                                                  (runs[2], ApprovalStatus.REJECTED, "Rejected by ada: <not> now", 1),
                                                  (runs[4], ApprovalStatus.STALE, "", 2),
                                                  (runs[0], ApprovalStatus.PENDING, "", 3),
                                                  (runs[2 + 3], ApprovalStatus.PENDING, "", 5))]
    ApprovalRequest.objects.filter(pk=approvals[4].pk).update(requested_by=None)
    Deployment.objects.filter(pk=runs[1].pk).update(reason="release <3> & \"more\"")
    with timezone.override("Asia/Kolkata"):
        with CaptureQueriesContext(connection) as ctx:
            inbox, mine = selectors.approval_pending_rows(user=approver, can_decide=True)
            decided = selectors.decided_approval_rows(limit=50)
        every = {a.pk: a for a in ApprovalRequest.objects.select_related("deployment__environment")}
        assert mine == [] and inbox == [pending_row(every[approvals[i].pk]) for i in (3, 0, 4)]
        assert decided == [decided_row(every[approvals[i].pk]) for i in (2, 1)]  # at once: the later request first
        assert selectors.my_requests_pending(user=engineer) == [pending_row(every[approvals[i].pk]) for i in (3, 0)]
    assert len(ctx.captured_queries) == 2
    assert [r["what"] for r in inbox] == ["agent crm-loyalty-insights", "agent crm-new", "cluster:odd"]
    assert inbox[1]["reason"] == "release <3> & \"more\"" and inbox[2]["requested_by"] is None
    assert [(r["status_label"], r["outcome_note"]) for r in decided] == \
        [("No longer applies", ""), ("Rejected", "Rejected by ada: <not> now")]
    assert not any("secure_parameters" in q["sql"] or "what_if" in q["sql"] for q in ctx.captured_queries)


def test_decided_requests_are_paged_latest_decision_first(platform, engineer, client_for, approver, settings):
    runs = [Deployment.objects.create(environment=platform, template="agent", parameters={"agentName": f"a{i}"},
                                      status=S.SUCCEEDED, requested_by=engineer) for i in range(7)]
    now = timezone.now()
    for i, run in enumerate(runs):
        ApprovalRequest.objects.create(deployment=run, requested_by=engineer, expires_at=now, template_hash="t",
                                       parameters_hash="p", status=ApprovalStatus.APPROVED,
                                       decided_at=now - timedelta(minutes=i % 3))
    order = list(ApprovalRequest.objects.order_by("-decided_at", "-pk").values_list("pk", flat=True))
    decided = selectors.decided_approvals()
    assert len(decided) == decided.count() == 7
    assert [r["pk"] for r in decided[2:5]] == order[2:5] and [r["pk"] for r in decided[5:10]] == order[5:]
    settings.PORTAL_PAGE_SIZE = 3
    html = client_for(approver).get("/deployments/approvals/?page=2").content.decode()
    listed = [pk for pk in order if f'href="/deployments/approvals/{pk}/"' in html]
    assert listed == order[3:6] and "Page 2 of 3 (4–6 of 7)" in html


def test_the_approvals_pages_two_pending_lists_are_the_inbox_and_ones_own_in_one_query(
        platform, role_groups, make_user, engineer, approver, platform_admin):
    """approval_pending_rows: what approval_inbox and one's own pending requests give, for each kind of person."""
    other = make_user("otto", roles.ENGINEER)
    boss = make_user("root", roles.ENGINEER, is_superuser=True)
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
    pending(platform, boss, 7, group=role_groups[roles.APPROVER])
    every = {a.pk: pending_row(a) for a in ApprovalRequest.objects.select_related("deployment__environment",
                                                                                   "requested_by")}
    for user in (engineer, approver, platform_admin, other, boss):
        own = ApprovalRequest.objects.filter(requested_by=user, status="pending").order_by("expires_at", "pk")
        for can_decide in (True, False):
            with CaptureQueriesContext(connection) as ctx:
                inbox, mine = selectors.approval_pending_rows(user=user, can_decide=can_decide)
            assert len(ctx.captured_queries) == 1
            assert inbox == ([every[a.pk] for a in selectors.approval_inbox(user=user)] if can_decide else [])
            assert mine == [every[a.pk] for a in own]
    inbox, mine = selectors.approval_pending_rows(user=approver, can_decide=True)
    assert [r["what"] for r in inbox] == ["agent a-1", "agent a-3", "agent a-4", "agent a-7"] and len(mine) == 1
    inbox, _ = selectors.approval_pending_rows(user=boss, can_decide=True)
    assert [r["what"] for r in inbox] == ["agent a-1", "agent a-2", "agent a-3", "agent a-4", "agent a-5",
                                          "agent a-6"]


def test_environment_names_are_the_environments_in_their_order(db):
    from portal.catalog.models import Environment

    for position, name in [(2, "prod"), (0, "dev"), (1, "staging")]:
        EnvironmentFactory(name=name, position=position)
    ordered = Environment.objects.order_by("position").values_list("name", flat=True)
    assert selectors.environment_names() == list(ordered)
    assert selectors.environment_names() == ["dev", "staging", "prod"]


def test_a_long_list_of_runs_is_counted_once_and_kept_as_list_count_keeps_it(platform, engineer, settings, monkeypatch):
    """A count over EXACT_COUNT is read from the cache the next time (the rows stay live); a short one is exact."""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "counts"}}
    some_runs(platform, engineer)
    with CaptureQueriesContext(connection) as short:
        assert len(selectors.deployment_list_rows()) == 7 and len(selectors.deployment_list_rows()) == 7
    assert len(short.captured_queries) == 2
    monkeypatch.setattr(pagination, "EXACT_COUNT", 2)
    assert len(selectors.my_run_rows(user=engineer)) == 3
    with CaptureQueriesContext(connection) as long:
        assert len(selectors.my_run_rows(user=engineer)) == 3
    assert long.captured_queries == []
