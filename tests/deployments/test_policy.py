"""Issue #9: an environment's policy says which kinds of operation need approval; a scale to zero in prod
always asks why."""

import re

import pytest
from django.urls import reverse

from portal.accounts import roles
from portal.catalog.choices import Tier
from portal.core.errors import DomainError
from portal.deployments import approvals, services
from portal.deployments.choices import DeploymentStatus as S
from portal.deployments.models import Deployment
from tests.factories import AgentFactory, EnvironmentFactory, PlacementFactory


@pytest.fixture
def prod_placement(role_groups):
    prod = EnvironmentFactory(name="prod", tier=Tier.PRODUCTION, approvals_required=1,
                              approver_group=role_groups[roles.APPROVER],
                              approval_operations=["template", "apply", "scale", "retire"])
    return PlacementFactory(agent=AgentFactory(slug="crm-loyalty-insights"), environment=prod, redis_db=3, replicas=2)


def test_a_prod_scale_needs_a_reason_and_waits_for_approval(prod_placement, engineer,
                                                            django_capture_on_commit_callbacks):
    with pytest.raises(DomainError, match="needs approval") as refused:
        services.cluster_operation_request(placement=prod_placement, action="scale", replicas=3, user=engineer)
    assert refused.value.field == "reason"
    with django_capture_on_commit_callbacks() as callbacks:
        run = services.cluster_operation_request(placement=prod_placement, action="scale", replicas=3,
                                                 user=engineer, reason="peak traffic")
    assert run.status == S.AWAITING_APPROVAL and run.approval.is_pending
    assert not any("run_deployment" in str(c) for c in callbacks)


def test_restart_is_not_in_prods_policy_and_runs_at_once(prod_placement, engineer, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks():
        run = services.cluster_operation_request(placement=prod_placement, action="restart", user=engineer)
    assert run.status == S.QUEUED
    assert not hasattr(run, "approval") or run.approval is None


def test_scale_to_zero_in_prod_asks_a_reason_even_when_the_policy_does_not_cover_scale(
        prod_placement, engineer, django_capture_on_commit_callbacks):
    env = prod_placement.environment
    env.approval_operations = []
    env.save()
    with pytest.raises(DomainError, match="to 0 in prod stops it serving"):
        services.cluster_operation_request(placement=prod_placement, action="scale", replicas=0, user=engineer)
    with django_capture_on_commit_callbacks():
        run = services.cluster_operation_request(placement=prod_placement, action="scale", replicas=0,
                                                 user=engineer, reason="retiring soon")
    assert run.status == S.QUEUED and run.reason == "retiring soon"


def test_an_approved_scale_runs_on_the_cluster(prod_placement, engineer, approver, django_capture_on_commit_callbacks):
    env = prod_placement.environment
    env.approval_operations = ["scale"]
    env.save()
    with django_capture_on_commit_callbacks(execute=False):
        apply = services.cluster_operation_request(placement=prod_placement, action="apply", user=engineer)
    assert services.deployment_execute(deployment_id=apply.pk, sleep=lambda s: None).status == S.SUCCEEDED
    with django_capture_on_commit_callbacks():
        run = services.cluster_operation_request(placement=prod_placement, action="scale", replicas=0,
                                                 user=engineer, reason="quiet season")
    with django_capture_on_commit_callbacks(execute=False):
        approvals.approval_decide(approval=run.approval, user=approver, decision="approve")
    assert Deployment.objects.get(pk=run.pk).status == S.QUEUED
    done = services.deployment_execute(deployment_id=run.pk, sleep=lambda s: None)
    assert done.status == S.SUCCEEDED, done.error
    prod_placement.refresh_from_db()
    assert prod_placement.replicas == 0


def test_scale_to_zero_over_http_asks_why_then_waits_for_approval(prod_placement, engineer, client_for,
                                                                  django_capture_on_commit_callbacks):
    client = client_for(engineer)
    url = reverse("deployments:cluster", args=[prod_placement.pk, "scale"])
    asked = client.post(url, {"replicas": "0"})
    html = asked.content.decode()
    assert asked.status_code == 400
    assert "say why in the reason" in html and 'name="reason"' in html and 'name="replicas" value="0"' in html
    assert not Deployment.objects.exists()
    with django_capture_on_commit_callbacks():
        sent = client.post(url, {"replicas": "0", "reason": "quiet season"})
    run = Deployment.objects.get()
    assert sent.status_code == 302 and sent["Location"] == run.get_absolute_url()
    assert run.status == S.AWAITING_APPROVAL


def test_help_text_ids_exist_for_every_aria_describedby(platform_admin, client_for, role_groups):
    EnvironmentFactory(name="dev")
    html = client_for(platform_admin).get(reverse("catalog:environment_edit", args=["dev"])).content.decode()
    described = re.findall(r'aria-describedby="([^"]+)"', html)
    assert described  # the form has help texts
    for ids in described:
        for one in ids.split():
            assert f'id="{one}"' in html, one


def test_a_reason_over_the_limit_is_refused_not_cut(prod_placement, engineer):
    with pytest.raises(DomainError, match="501 characters; keep it to 500") as refused:
        services.cluster_operation_request(placement=prod_placement, action="scale", replicas=1, user=engineer,
                                           reason="x" * 501)
    assert refused.value.field == "reason"
    assert not Deployment.objects.exists()
