import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from portal.accounts import roles
from portal.audit.models import AuditEvent
from portal.core.errors import ConflictError
from portal.deployments import approvals, services
from portal.deployments.choices import ApprovalStatus as A
from portal.deployments.choices import DeploymentStatus as S
from portal.deployments.models import ApprovalDecision, ApprovalRequest, Deployment
from tests.factories import EnvironmentFactory

PARAMS = {"agentName": "ecommerce-catalog-search", "environment": "prod", "redisDatabase": 3}


@pytest.fixture
def prod(role_groups):
    return EnvironmentFactory(name="prod", approvals_required=1, approver_group=role_groups[roles.APPROVER],
                              approval_timeout_hours=24)


@pytest.fixture
def awaiting(prod, engineer, django_capture_on_commit_callbacks):
    """A prod deployment of the agent module, previewed and waiting for approval."""
    with django_capture_on_commit_callbacks(execute=False):
        d = services.deployment_request(environment=prod, template="agent", parameters=PARAMS, user=engineer,
                                        reason="Release 1.5 of catalog search")
    d = services.deployment_preview_run(deployment_id=d.pk)
    with django_capture_on_commit_callbacks(execute=False):
        d = services.deployment_confirm(deployment=d, user=engineer)
    assert d.status == S.AWAITING_APPROVAL
    return d.approval


def decide(approval, user, decision, comment="", captured=None):
    return approvals.approval_decide(approval=approval, user=user, decision=decision, comment=comment)


def test_approval_queues_the_run(awaiting, approver, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        done = decide(awaiting, approver, "approve")
    assert done.status == A.APPROVED
    assert Deployment.objects.get(pk=awaiting.deployment_id).status == S.QUEUED
    tasks = sorted(c.func.__self__.name for c in callbacks)
    assert tasks == ["portal.deployments.tasks.run_deployment", "portal.deployments.tasks.send_notification"]
    assert AuditEvent.objects.filter(action="approval.approved").count() == 2  # the decision and the outcome


def test_requester_cannot_approve_own_deployment_whatever_their_roles(awaiting, engineer, role_groups):
    engineer.groups.add(role_groups[roles.APPROVER], role_groups[roles.PLATFORM_ADMIN])
    engineer.is_superuser = True
    engineer.save()
    with pytest.raises(approvals.NotAllowed, match="someone else must approve"):
        decide(awaiting, engineer, "approve")
    assert ApprovalRequest.objects.get(pk=awaiting.pk).status == A.PENDING
    assert not ApprovalDecision.objects.exists()


def test_requester_cannot_approve_through_the_page_either(awaiting, engineer, role_groups, client_for):
    engineer.groups.add(role_groups[roles.APPROVER])
    client = client_for(engineer)
    page = client.get(reverse("deployments:approval", args=[awaiting.pk])).content.decode()
    assert "someone else must approve" in page and "Record decision" not in page
    response = client.post(reverse("deployments:approval", args=[awaiting.pk]), {"decision": "approve"})
    assert response.status_code == 400
    assert ApprovalRequest.objects.get(pk=awaiting.pk).status == A.PENDING


def test_engineer_without_the_approver_role_cannot_decide(awaiting, make_user, client_for):
    other = make_user("otto", roles.ENGINEER)
    response = client_for(other).post(reverse("deployments:approval", args=[awaiting.pk]), {"decision": "approve"})
    assert response.status_code == 403


def test_reject_needs_a_comment(awaiting, approver):
    with pytest.raises(approvals.DomainError, match="needs a comment"):
        decide(awaiting, approver, "reject", comment="  ")
    rejected = decide(awaiting, approver, "reject", comment="Not during the sale.")
    assert rejected.status == A.REJECTED
    deployment = Deployment.objects.get(pk=awaiting.deployment_id)
    assert deployment.status == S.CANCELLED and "Not during the sale." in deployment.error["message"]


def test_reject_without_comment_on_the_page_keeps_the_form_and_says_why(awaiting, approver, client_for):
    response = client_for(approver).post(reverse("deployments:approval", args=[awaiting.pk]), {"decision": "reject"})
    assert response.status_code == 400
    assert "A rejection needs a comment" in response.content.decode()


def test_expired_request_cannot_be_approved_and_the_page_says_so(awaiting, approver, client_for,
                                                                 django_capture_on_commit_callbacks):
    ApprovalRequest.objects.filter(pk=awaiting.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    with django_capture_on_commit_callbacks(execute=False):
        assert approvals.approval_expire_due() == [awaiting.pk]  # the scheduled task
    assert ApprovalRequest.objects.get(pk=awaiting.pk).status == A.EXPIRED
    assert Deployment.objects.get(pk=awaiting.deployment_id).status == S.CANCELLED
    with pytest.raises(ConflictError, match="already expired"):
        decide(ApprovalRequest.objects.get(pk=awaiting.pk), approver, "approve")
    page = client_for(approver).get(reverse("deployments:approval", args=[awaiting.pk])).content.decode()
    assert "Expired" in page and "can no longer be approved" in page


def test_a_request_past_its_deadline_is_expired_when_someone_tries_to_approve_it(awaiting, approver):
    ApprovalRequest.objects.filter(pk=awaiting.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(ConflictError, match="expired"):
        decide(awaiting, approver, "approve")
    assert ApprovalRequest.objects.get(pk=awaiting.pk).status == A.EXPIRED


def test_approval_no_longer_applies_when_the_parameters_changed(awaiting, approver):
    Deployment.objects.filter(pk=awaiting.deployment_id).update(parameters={**PARAMS, "redisDatabase": 4})
    with pytest.raises(ConflictError, match="no longer applies"):
        decide(awaiting, approver, "approve")
    assert ApprovalRequest.objects.get(pk=awaiting.pk).status == A.STALE
    assert Deployment.objects.get(pk=awaiting.deployment_id).status == S.CANCELLED


def test_approval_no_longer_applies_when_the_template_changed(awaiting, approver, settings, tmp_path):
    import shutil

    shutil.copytree(settings.PORTAL_BICEP_ROOT, tmp_path / "bicep")
    settings.PORTAL_BICEP_ROOT = tmp_path / "bicep"
    module = tmp_path / "bicep" / "agent" / "agent.bicep"
    module.write_text(module.read_text() + "\n// changed after the preview\n")
    with pytest.raises(ConflictError, match="template in bicep/ changed"):
        decide(awaiting, approver, "approve")
    assert ApprovalRequest.objects.get(pk=awaiting.pk).status == A.STALE


def test_approvers_are_notified_with_a_link_and_the_requester_hears_the_decision(
        awaiting, approver, mailoutbox, django_capture_on_commit_callbacks):
    from portal.deployments.notifications import notification_send

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        decide(awaiting, approver, "approve")
    payload = [c.args[0] for c in callbacks if c.func.__self__.name.endswith("send_notification")][0]
    notification_send(**payload)
    assert mailoutbox[-1].to == [awaiting.deployment.requested_by.email]
    assert "Approved" in mailoutbox[-1].subject


def test_a_failing_webhook_is_logged_and_never_blocks(db):
    from portal.deployments.notifications import notification_send

    outcome = notification_send(subject="s", body="b", recipients=[], webhook_url="http://127.0.0.1:9/none")
    assert outcome["webhook"].startswith("failed")
    assert AuditEvent.objects.filter(action="notification.failed").exists()


def test_inbox_lists_what_waits_and_the_count_updates(awaiting, approver, engineer, client_for):
    client = client_for(approver)
    assert f"Review #{awaiting.deployment_id}" in client.get(reverse("deployments:approvals")).content.decode()
    count = client.get(reverse("deployments:approval_count"), HTTP_HX_REQUEST="true").content.decode()
    assert ">1</span>" in count
    # The requester's own request is not in their inbox.
    assert ">0</span>" in client_for(engineer).get(reverse("deployments:approval_count")).content.decode()


@pytest.mark.django_db(transaction=True)
def test_two_approvers_at_the_same_moment_make_one_decision_and_one_run(role_groups, make_user, engineer):
    if connection.vendor != "postgresql":
        pytest.skip("The approval race is tested against PostgreSQL (row locks); set DATABASE_URL to run it.")
    prod = EnvironmentFactory(name="prod", approvals_required=1, approver_group=role_groups[roles.APPROVER])
    d = services.deployment_request(environment=prod, template="agent", parameters=PARAMS, user=engineer,
                                    reason="race")
    d = services.deployment_preview_run(deployment_id=d.pk)
    services.deployment_confirm(deployment=d, user=engineer)
    approval = ApprovalRequest.objects.get(deployment=d)
    first, second = make_user("ann", roles.APPROVER), make_user("bob", roles.APPROVER)

    from django.test import Client

    clients = []
    for user in (first, second):
        client = Client()
        client.force_login(user)
        clients.append(client)
    barrier = threading.Barrier(2)
    statuses = []

    def post(client):
        barrier.wait()
        response = client.post(reverse("deployments:approval", args=[approval.pk]), {"decision": "approve"})
        statuses.append(response.status_code)
        connection.close()

    threads = [threading.Thread(target=post, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(statuses) == [302, 400]  # one decision recorded, the other told it was already decided
    assert ApprovalDecision.objects.filter(request=approval).count() == 1
    assert ApprovalRequest.objects.get(pk=approval.pk).status == A.APPROVED
    deployment = Deployment.objects.get(pk=d.pk)
    assert deployment.status in (S.QUEUED, S.RUNNING, S.SUCCEEDED)
    assert AuditEvent.objects.filter(action="deployment.queued", object_id=str(d.pk)).count() == 1
