"""The API's deployments and approvals go through the same services as the pages: four eyes, scopes,
roles, the parameter form's rules, audit."""

import pytest

from portal.accounts import roles
from portal.audit.models import AuditEvent
from portal.deployments import services
from portal.deployments.choices import ApprovalStatus as A
from portal.deployments.choices import DeploymentStatus as S
from portal.deployments.models import ApprovalDecision, ApprovalRequest, Deployment
from tests.factories import EnvironmentFactory

pytestmark = pytest.mark.django_db
PARAMS = {"agentName": "ecommerce-catalog-search", "redisDatabase": 3}


@pytest.fixture
def prod(role_groups):
    return EnvironmentFactory(name="prod", approvals_required=1, approver_group=role_groups[roles.APPROVER],
                              approval_timeout_hours=24)


@pytest.fixture
def staging(db):
    return EnvironmentFactory(name="staging", approvals_required=0)


def request_deployment(call, env="prod", **extra):
    body = {"environment": env, "template": "agent", "parameters": PARAMS, "reason": "Release 1.5", **extra}
    return call("post", "deployments", json=body)


@pytest.fixture
def awaiting(prod, engineer, token_for, api):
    """A prod deployment requested through the API, previewed (the task's work) and confirmed: awaiting approval."""
    call = api(token_for(engineer, "read", "deploy"))
    response = request_deployment(call)
    assert response.status_code == 202, response.content
    pk = response.json()["id"]
    services.deployment_preview_run(deployment_id=pk)
    confirmed = call("post", f"deployments/{pk}/confirm")
    assert confirmed.status_code == 202 and confirmed.json()["status"] == S.AWAITING_APPROVAL
    return Deployment.objects.get(pk=pk).approval


def test_request_answers_202_with_the_runs_url(prod, engineer, token_for, api):
    response = request_deployment(api(token_for(engineer, "deploy")))
    assert response.status_code == 202
    body = response.json()
    deployment = Deployment.objects.get(pk=body["id"])
    assert response["Location"] == f"/api/v1/deployments/{deployment.pk}" == body["url"]
    assert deployment.status == S.VALIDATING and deployment.requested_by == engineer
    assert deployment.parameters["environment"] == "prod"  # filled from the environment, as the page does
    assert AuditEvent.objects.filter(action="deployment.requested", actor=engineer, object_id=str(deployment.pk)).exists()


def test_read_scoped_token_cannot_deploy(prod, engineer, token_for, api):
    response = request_deployment(api(token_for(engineer, "read")))
    assert response.status_code == 403
    assert response["Content-Type"] == "application/problem+json"
    assert "deploy scope" in response.json()["detail"]
    assert not Deployment.objects.exists()
    assert AuditEvent.objects.filter(action="api.forbidden", actor=engineer).exists()


def test_viewer_cannot_deploy_whatever_the_token_scopes(prod, viewer, token_for, api):
    response = request_deployment(api(token_for(viewer, "read", "deploy")))
    assert response.status_code == 403 and "role" in response.json()["detail"]
    assert not Deployment.objects.exists()


def test_parameter_errors_are_the_forms_field_errors(prod, engineer, token_for, api):
    call = api(token_for(engineer, "deploy"))
    response = request_deployment(call, parameters={"agentName": "x" * 80, "redisDatabase": 99})
    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"
    fields = {e["field"]: e["message"] for e in response.json()["errors"]}
    assert set(fields) == {"parameters.agentName", "parameters.redisDatabase"}
    assert fields["parameters.redisDatabase"].startswith("Must be at most")
    assert not Deployment.objects.exists()


def test_unknown_parameters_and_wrong_types_are_field_errors(prod, engineer, token_for, api):
    response = request_deployment(api(token_for(engineer, "deploy")),
                                  parameters={**PARAMS, "redisDatabase": "three", "colour": "blue"})
    assert response.status_code == 422
    fields = {e["field"] for e in response.json()["errors"]}
    assert fields == {"parameters.redisDatabase", "parameters.colour"}


def test_prod_needs_a_reason_like_the_page(prod, engineer, token_for, api):
    response = request_deployment(api(token_for(engineer, "deploy")), reason="")
    assert response.status_code == 400
    assert response.json()["errors"] == [{"field": "reason", "message": response.json()["detail"]}]


def test_unknown_environment_and_template_are_field_errors(prod, engineer, token_for, api):
    response = api(token_for(engineer, "deploy"))("post", "deployments", json={
        "environment": "nowhere", "template": "nothing", "parameters": {}})
    assert response.status_code == 422
    assert {e["field"] for e in response.json()["errors"]} == {"environment", "template"}


def test_token_holder_cannot_approve_own_request(awaiting, engineer, role_groups, token_for, api):
    engineer.groups.add(role_groups[roles.APPROVER])
    response = api(token_for(engineer, "read", "approve"))("post", f"approvals/{awaiting.pk}/approve", json={})
    assert response.status_code == 403
    assert "someone else must approve" in response.json()["detail"]
    assert ApprovalRequest.objects.get(pk=awaiting.pk).status == A.PENDING


def test_deploy_scoped_token_cannot_approve(awaiting, approver, token_for, api):
    response = api(token_for(approver, "read", "deploy"))("post", f"approvals/{awaiting.pk}/approve", json={})
    assert response.status_code == 403 and "approve scope" in response.json()["detail"]
    assert ApprovalRequest.objects.get(pk=awaiting.pk).status == A.PENDING


def test_approver_with_approve_scope_approves_and_the_run_is_queued(awaiting, approver, token_for, api):
    call = api(token_for(approver, "read", "approve"))
    inbox = call("get", "approvals?pending=true").json()
    assert [a["id"] for a in inbox["items"]] == [awaiting.pk]
    response = call("post", f"approvals/{awaiting.pk}/approve", json={"comment": "ok"})
    assert response.status_code == 200 and response.json()["status"] == A.APPROVED
    assert Deployment.objects.get(pk=awaiting.deployment_id).status == S.QUEUED
    assert AuditEvent.objects.filter(action="approval.approved", actor=approver).exists()


def test_rejection_needs_a_comment(awaiting, approver, token_for, api):
    call = api(token_for(approver, "approve"))
    response = call("post", f"approvals/{awaiting.pk}/reject", json={"comment": " "})
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "comment"
    assert call("post", f"approvals/{awaiting.pk}/reject", json={"comment": "not today"}).json()["status"] == A.REJECTED


def test_confirm_twice_is_a_conflict(awaiting, engineer, token_for, api):
    response = api(token_for(engineer, "deploy"))("post", f"deployments/{awaiting.deployment_id}/confirm")
    assert response.status_code == 409 and response["Content-Type"] == "application/problem+json"


def test_log_lines_after_a_sequence_number(staging, engineer, token_for, api):
    call = api(token_for(engineer, "read", "deploy"))
    pk = request_deployment(call, env="staging").json()["id"]
    services.deployment_preview_run(deployment_id=pk)
    everything = call("get", f"deployments/{pk}/log").json()
    seqs = [line["seq"] for line in everything["lines"]]
    assert seqs == list(range(1, len(seqs) + 1)) and len(seqs) >= 3
    later = call("get", f"deployments/{pk}/log?after=2").json()
    assert [line["seq"] for line in later["lines"]] == seqs[2:]
    assert later["after"] == seqs[-1] and later["finished"] is False
    preview = call("get", f"deployments/{pk}/preview").json()
    assert preview["ready"] is True and preview["groups"]


def test_cancel_and_retry(staging, engineer, token_for, api):
    call = api(token_for(engineer, "read", "deploy"))
    pk = request_deployment(call, env="staging").json()["id"]
    cancelled = call("post", f"deployments/{pk}/cancel")
    assert cancelled.status_code == 202 and cancelled.json()["status"] == S.CANCELLED
    retried = call("post", f"deployments/{pk}/retry")
    assert retried.status_code == 202
    assert retried.json()["retry_of"] == pk and retried["Location"] == retried.json()["url"] != cancelled.json()["url"]


def test_lists_are_paginated(staging, engineer, token_for, api):
    call = api(token_for(engineer, "read", "deploy"))
    for template in ("agent", "static-web-app", "role-assignment"):
        Deployment.objects.create(environment=staging, template=template, requested_by=engineer)
    first = call("get", "deployments?page_size=2").json()
    assert first["count"] == 3 and len(first["items"]) == 2 and first["next_page"] == 2
    second = call("get", "deployments?page_size=2&page=2").json()
    assert len(second["items"]) == 1 and second["next_page"] is None
    assert {d["template"] for d in first["items"] + second["items"]} == {"agent", "static-web-app", "role-assignment"}


def test_template_parameters_as_json_schema(engineer, token_for, api):
    body = api(token_for(engineer, "read"))("get", "templates/agent").json()
    schema = body["parameters_schema"]
    assert schema["type"] == "object" and "agentName" in schema["required"]
    assert schema["properties"]["redisDatabase"]["type"] == "integer"
    assert schema["properties"]["redisDatabase"] == {
        "type": "integer", "minimum": 0, "maximum": 63,
        "description": "Database number on the shared Redis cache for the agent's hot memory (0 is the CRUD "
                       "service's)."}


def test_a_list_item_says_what_the_runs_own_answer_says(awaiting, staging, engineer, token_for, api):
    """The list reads plain rows (issue #11); each item is still the run's own answer without preview and resources."""
    from tests.factories import AgentFactory

    call = api(token_for(engineer, "read", "deploy"))
    first = Deployment.objects.create(environment=staging, template="agent", agent=AgentFactory(slug="crm-x"),
                                      status=S.FAILED, error={"code": "Conflict", "message": "taken"},
                                      secure_parameter_names=["apiKey"], parameters={"agentName": "crm-x"})
    Deployment.objects.create(environment=staging, template="agent", status=S.RUNNING, cancel_requested=True,
                              retry_of=first, requested_by=engineer)
    Deployment.objects.create(environment=staging, template="static-web-app", status=S.QUEUED)
    items = call("get", "deployments").json()["items"]
    assert len(items) == 4 and any(i["approval"] == awaiting.pk for i in items)
    for item in items:
        own = call("get", f"deployments/{item['id']}").json()
        assert item == {key: value for key, value in own.items() if key not in ("preview", "operations")}
    assert {(i["finished"], i["can_cancel"]) for i in items} == {(True, False), (False, False), (False, True)}


def test_an_approval_list_item_says_what_the_requests_own_answer_says(awaiting, prod, engineer, approver, token_for,
                                                                       api, django_capture_on_commit_callbacks):
    """The list reads only the columns an item shows (issue #11); each item is still the request's own answer."""
    call = api(token_for(approver, "read", "approve"))
    with django_capture_on_commit_callbacks(execute=False):
        assert call("post", f"approvals/{awaiting.pk}/reject", json={"comment": "not today"}).status_code == 200
    second = Deployment.objects.create(environment=prod, template="static-web-app", reason="site", status=S.QUEUED)
    pending = ApprovalRequest.objects.create(deployment=second, expires_at=awaiting.expires_at, template_hash="t",
                                             parameters_hash="p", required_approvals=3)
    # Two decisions on one request, one on another: each item lists its own, in the order they were made.
    for user, decision in ((engineer, "approve"), (approver, "approve")):
        ApprovalDecision.objects.create(request=pending, user=user, decision=decision, comment=f"{user.username} <ok>")
    for path in ("approvals", "approvals?pending=true"):
        items = call("get", path).json()["items"]
        for item in items:
            assert item == call("get", f"approvals/{item['id']}").json()
    items = call("get", "approvals").json()["items"]
    assert [i["deployment"] for i in items] == [second.pk, awaiting.deployment_id]  # newest first
    assert items[1]["decisions"][0]["user"] == approver.username and items[1]["approver_group"] == "Approver"
    assert items[0]["requested_by"] is None and items[0]["reason"] == "site"
    assert [(d["user"], d["comment"]) for d in items[0]["decisions"]] == [
        (engineer.username, f"{engineer.username} <ok>"), (approver.username, f"{approver.username} <ok>")]
    assert [d["decision"] for d in items[1]["decisions"]] == ["reject"]


def test_the_list_of_runs_reads_what_deployment_list_reads(awaiting, staging, engineer, token_for, api):
    """The list's hand-written SQL (issue #11) has deployment_list's filters, order and count: on varied runs (ties
    on created_at, hostile text, no requester, errors), each page of each filter is the runs deployment_list gives,
    each item the run's own answer."""
    from django.utils import timezone

    from portal.deployments.selectors import deployment_list
    from tests.factories import AgentFactory

    call = api(token_for(engineer, "read", "deploy"))
    at = timezone.now().replace(microsecond=123456)
    agent = AgentFactory(slug="crm-y")
    for n, (status, template) in enumerate([(S.SUCCEEDED, "agent"), (S.FAILED, "static-web-app"),
                                            (S.RUNNING, "agent"), (S.QUEUED, "role-assignment"),
                                            (S.CANCELLED, "agent"), (S.SUCCEEDED, "static-web-app")]):
        Deployment.objects.create(environment=staging, template=template, status=status, agent=agent if n % 2 else None,
                                  requested_by=engineer if n % 3 else None, reason=f"<b>'{n}'</b> & \"more\"",
                                  error={"code": "E", "message": "<x>"} if status == S.FAILED else None,
                                  parameters={"n": n, "text": "a&b"}, cancel_requested=status == S.QUEUED)
    Deployment.objects.filter(environment=staging).update(created_at=at)  # ties: the id decides
    for filters in ("", "environment=staging", "environment=prod", "environment=none", "status=active",
                    "status=succeeded", "template=agent", "environment=staging&status=active&template=agent"):
        kwargs = dict(pair.split("=") for pair in filters.split("&") if pair)
        expected = list(deployment_list(**kwargs).values_list("pk", flat=True))
        seen = []
        for page in (1, 2, 3, 4):
            body = call("get", f"deployments?page_size=2&page={page}&{filters}").json()
            assert body["count"] == len(expected)
            seen += [item["id"] for item in body["items"]]
            for item in body["items"]:
                own = call("get", f"deployments/{item['id']}").json()
                assert item == {key: value for key, value in own.items() if key not in ("preview", "operations")}
        assert seen == expected, filters


def test_the_list_of_approval_requests_pages_newest_first_like_the_orm(prod, engineer, token_for, api):
    """The list's hand-written SQL (issue #11): every request, newest first and the later id first on a tie, across
    pages, counted; each item the request's own answer (no requester, no approver group, hostile text)."""
    from django.utils import timezone

    call = api(token_for(engineer, "read"))
    at = timezone.now().replace(microsecond=654321)
    for n in range(5):
        run = Deployment.objects.create(environment=prod, template="agent", reason=f"<i>\"{n}\"</i> & '{n}'")
        ApprovalRequest.objects.create(deployment=run, expires_at=at, template_hash="t", parameters_hash="p",
                                       requested_by=engineer if n % 2 else None)
    ApprovalRequest.objects.filter(pk__in=list(ApprovalRequest.objects.values_list("pk", flat=True)[:3])).update(
        created_at=at)
    expected = list(ApprovalRequest.objects.order_by("-created_at", "-pk").values_list("pk", flat=True))
    seen = []
    for page in (1, 2, 3):
        body = call("get", f"approvals?page_size=2&page={page}").json()
        assert body["count"] == 5
        seen += [item["id"] for item in body["items"]]
        for item in body["items"]:
            assert item == call("get", f"approvals/{item['id']}").json()
    assert seen == expected
