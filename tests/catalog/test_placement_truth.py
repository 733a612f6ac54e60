"""Issue #9, item 6: the agent page's Placements table and its onboarding checklist agree, on the demo,
after onboarding (resources, then the workload) and after a promotion."""

import re
from html import unescape

import pytest
from django.urls import reverse

from portal.catalog import onboarding
from portal.catalog.choices import PlacementStatus
from portal.catalog.models import Agent
from portal.deployments.choices import DeploymentKind, DeploymentStatus
from portal.deployments.models import Deployment
from portal.deployments.services import deployment_execute, deployment_preview_run

SLUG = "ecommerce-gift-finder"
IDENTITY = {"slug": SLUG, "display_name": "Gift Finder", "domain": "ecommerce", "owner_team": "ecommerce",
            "description": "Suggests gifts."}
RESOURCES = {"image": f"holidaypeakhubacr.azurecr.io/agents/{SLUG}", "image_tag": "1.0.0", "replicas": "2",
             "health_path": "/health", "memory_tiers": ["hot", "warm", "cold"],
             "warm_container": f"warm-{SLUG}-chat-memory", "cold_container": f"cold-{SLUG}-chat-memory",
             "redis_mode": "share", "redis_share_db": "1", "names_for": SLUG}


def _placements_shown(html: str) -> dict[str, str]:
    """{environment: status} as the Placements table shows it."""
    table = html.split('id="where-h"', 1)[1].split("</table>", 1)[0]
    return dict(re.findall(r'<a href="[^"]*">([a-z]+)</a></th>\s*<td><span class="status status-[a-z]+">([A-Za-z]+)',
                           table))


def _run_all(agent, environment, django_capture_on_commit_callbacks, *, preview=True):
    """Preview and run the agent module there, then the workload its success asks for, as the worker would."""
    resources_run = Deployment.objects.filter(agent=agent, environment__name=environment,
                                              kind=DeploymentKind.TEMPLATE).latest("pk")
    with django_capture_on_commit_callbacks(execute=False):
        if preview:
            deployment_preview_run(deployment_id=resources_run.pk)
        assert deployment_execute(deployment_id=resources_run.pk).status == DeploymentStatus.SUCCEEDED
    workload_run = Deployment.objects.filter(agent=agent, environment__name=environment,
                                             kind=DeploymentKind.CLUSTER).latest("pk")
    with django_capture_on_commit_callbacks(execute=False):
        assert deployment_execute(deployment_id=workload_run.pk).status == DeploymentStatus.SUCCEEDED


def test_after_onboarding_and_promotion_the_placements_agree_with_the_checklist(
        demo, client_for, engineer, django_capture_on_commit_callbacks):
    client = client_for(engineer)
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(reverse("catalog:agent_onboard"), {"step": "3", "register": "1", **IDENTITY,
                                                                  **RESOURCES})
    assert response.status_code == 302, unescape(response.content.decode())[:3000]
    agent = Agent.objects.get(slug=SLUG)
    assert _placements_shown(unescape(client.get(agent.get_absolute_url()).content.decode())) == \
        {"dev": "Provisioning"}

    _run_all(agent, "dev", django_capture_on_commit_callbacks)
    html = unescape(client.get(agent.get_absolute_url()).content.decode())
    steps = {s.key: s.state for s in onboarding.agent_checklist(agent=agent).steps}
    assert steps["resources"] == steps["workload"] == "done"
    assert _placements_shown(html) == {"dev": "Running"}

    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(reverse("catalog:agent_promote", args=[SLUG]), {"environment": "staging"})
    assert response.status_code in (200, 302)
    _run_all(agent, "staging", django_capture_on_commit_callbacks)
    html = unescape(client.get(agent.get_absolute_url()).content.decode())
    checklist = onboarding.agent_checklist(agent=agent)
    assert checklist.environment.name == "staging"
    assert {s.key: s.state for s in checklist.steps}["workload"] == "done"
    assert _placements_shown(html) == {"dev": "Running", "staging": "Running"}
    assert agent.placements.get(environment__name="staging").status == PlacementStatus.RUNNING


@pytest.mark.parametrize("how", ["cancelled", "rejected"])
def test_an_onboarding_cancelled_before_its_resources_leaves_the_placement_failed_saying_so(
        how, demo, client_for, engineer, approver, django_capture_on_commit_callbacks):
    """Its run cancelled by a person, or its approval rejected: nothing will deploy the workload, so the placement
    is Failed saying why (a retry can take it on), not Provisioning for ever."""
    from portal.deployments.approvals import approval_decide
    from portal.deployments.models import ApprovalRequest
    from portal.deployments.services import deployment_cancel

    client = client_for(engineer)
    with django_capture_on_commit_callbacks(execute=False):
        client.post(reverse("catalog:agent_onboard"), {"step": "3", "register": "1", **IDENTITY, **RESOURCES})
    agent = Agent.objects.get(slug=SLUG)
    run = Deployment.objects.get(agent=agent)
    placement = agent.placements.get(environment__name="dev")
    assert placement.status == PlacementStatus.PROVISIONING
    if how == "rejected":  # dev asks for an approval now
        run.environment.approvals_required = 1
        run.environment.save()
    with django_capture_on_commit_callbacks(execute=False):
        deployment_preview_run(deployment_id=run.pk)
    if how == "cancelled":
        deployment_cancel(deployment=run, user=engineer)
        expected = f"Deployment #{run.pk} of its resources was cancelled before it finished"
    else:
        approval = ApprovalRequest.objects.get(deployment=run)
        approval_decide(approval=approval, user=approver, decision="reject", comment="not this week")
        expected = f"Deployment #{run.pk} of its resources was cancelled: ApprovalRejected: "
    assert Deployment.objects.get(pk=run.pk).status == DeploymentStatus.CANCELLED
    placement.refresh_from_db()
    assert placement.status == PlacementStatus.FAILED
    assert placement.status_detail.startswith(expected), placement.status_detail
    assert _placements_shown(unescape(client.get(agent.get_absolute_url()).content.decode())) == {"dev": "Failed"}


def test_a_retried_onboarding_still_brings_the_workload_and_the_placement_runs(
        demo, client_for, engineer, django_capture_on_commit_callbacks):
    """The onboarding's resources fail once (a sandbox fault): the placement is Failed with the run's error, as
    the checklist says, not Provisioning for ever. They are retried: the retry is still the chain of
    resources then workload, so the placement ends Running, as the checklist says, instead of Provisioning
    under a checklist that waits for a workload nothing will start."""
    from portal.deployments.models import SandboxFault
    from portal.deployments.services import deployment_confirm, deployment_retry

    fault = SandboxFault.objects.create(match=f"cold-{SLUG}-chat-memory", code="InternalServerError")
    client = client_for(engineer)
    with django_capture_on_commit_callbacks(execute=False):
        client.post(reverse("catalog:agent_onboard"), {"step": "3", "register": "1", **IDENTITY, **RESOURCES})
    agent = Agent.objects.get(slug=SLUG)
    first = Deployment.objects.get(agent=agent)
    with django_capture_on_commit_callbacks(execute=False):
        deployment_preview_run(deployment_id=first.pk)
        assert deployment_execute(deployment_id=first.pk).status == DeploymentStatus.FAILED
    placement = agent.placements.get(environment__name="dev")
    assert placement.status == PlacementStatus.FAILED
    assert placement.status_detail.startswith(f"Deployment #{first.pk} of its resources failed: InternalServerError")
    assert {s.key: s.state for s in onboarding.agent_checklist(agent=agent).steps}["resources"] == "failed"
    assert _placements_shown(unescape(client.get(agent.get_absolute_url()).content.decode())) == {"dev": "Failed"}

    fault.delete()
    with django_capture_on_commit_callbacks(execute=False):
        retry = deployment_retry(deployment=Deployment.objects.get(pk=first.pk), user=engineer)
    with django_capture_on_commit_callbacks(execute=False):
        deployment_preview_run(deployment_id=retry.pk)
        deployment_confirm(deployment=retry, user=engineer)
    _run_all(agent, "dev", django_capture_on_commit_callbacks, preview=False)
    steps = {s.key: s.state for s in onboarding.agent_checklist(agent=agent).steps}
    assert steps["resources"] == steps["workload"] == "done"
    html = unescape(client.get(agent.get_absolute_url()).content.decode())
    assert _placements_shown(html) == {"dev": "Running"}


def _onboard(client, django_capture_on_commit_callbacks) -> Agent:
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(reverse("catalog:agent_onboard"), {"step": "3", "register": "1", **IDENTITY,
                                                                  **RESOURCES})
    assert response.status_code == 302, unescape(response.content.decode())[:3000]
    return Agent.objects.get(slug=SLUG)


def test_a_failed_workload_deploy_leaves_the_placement_failed_as_the_checklist_says(
        demo, client_for, engineer, django_capture_on_commit_callbacks):
    """The resources succeed, then the cluster refuses the workload (a sandbox fault on the agent's name): the
    placement moves Provisioning -> Failed with the cluster's error, and the page and the checklist agree."""
    from portal.audit.models import AuditEvent
    from portal.deployments.models import SandboxFault

    SandboxFault.objects.create(match=SLUG, code="Forbidden", message='exceeded quota: agents-quota, requested: '
                                                                      'limits.cpu=2')
    client = client_for(engineer)
    agent = _onboard(client, django_capture_on_commit_callbacks)
    resources_run = Deployment.objects.get(agent=agent, kind=DeploymentKind.TEMPLATE)
    with django_capture_on_commit_callbacks(execute=False):
        deployment_preview_run(deployment_id=resources_run.pk)
        assert deployment_execute(deployment_id=resources_run.pk).status == DeploymentStatus.SUCCEEDED
    workload_run = Deployment.objects.get(agent=agent, kind=DeploymentKind.CLUSTER)
    with django_capture_on_commit_callbacks(execute=False):
        failed = deployment_execute(deployment_id=workload_run.pk)

    assert failed.status == DeploymentStatus.FAILED
    assert failed.error["code"] == "Forbidden"
    placement = agent.placements.get(environment__name="dev")
    assert placement.status == PlacementStatus.FAILED
    assert placement.status_detail == (f"Workload deploy #{workload_run.pk} failed: Forbidden: exceeded quota: "
                                       "agents-quota, requested: limits.cpu=2")
    steps = {s.key: s.state for s in onboarding.agent_checklist(agent=agent).steps}
    assert steps["resources"] == "done" and steps["workload"] == "failed"
    html = unescape(client.get(agent.get_absolute_url()).content.decode())
    assert _placements_shown(html) == {"dev": "Failed"}
    assert f"Workload deploy #{workload_run.pk} failed: Forbidden: exceeded quota" in html
    event = AuditEvent.objects.get(action="placement.failed")
    assert event.details["from"] == PlacementStatus.PROVISIONING and event.details["deployment"] == workload_run.pk


def test_a_workload_deployed_again_after_a_failure_brings_the_placement_to_running(
        demo, client_for, engineer, django_capture_on_commit_callbacks):
    from portal.deployments.models import SandboxFault
    from portal.deployments.services import deployment_retry

    fault = SandboxFault.objects.create(match="apps/v1/Deployment", code="Invalid", message="admission denied")
    client = client_for(engineer)
    agent = _onboard(client, django_capture_on_commit_callbacks)
    resources_run = Deployment.objects.get(agent=agent, kind=DeploymentKind.TEMPLATE)
    with django_capture_on_commit_callbacks(execute=False):
        deployment_preview_run(deployment_id=resources_run.pk)
        deployment_execute(deployment_id=resources_run.pk)
    first = Deployment.objects.get(agent=agent, kind=DeploymentKind.CLUSTER)
    with django_capture_on_commit_callbacks(execute=False):
        assert deployment_execute(deployment_id=first.pk).status == DeploymentStatus.FAILED
    assert agent.placements.get().status == PlacementStatus.FAILED
    fault.delete()

    with django_capture_on_commit_callbacks(execute=False):
        retry = deployment_retry(deployment=Deployment.objects.get(pk=first.pk), user=engineer)
        assert deployment_execute(deployment_id=retry.pk).status == DeploymentStatus.SUCCEEDED
    placement = agent.placements.get()
    assert (placement.status, placement.status_detail) == (PlacementStatus.RUNNING, "")
    assert {s.key: s.state for s in onboarding.agent_checklist(agent=agent).steps}["workload"] == "done"
    assert _placements_shown(unescape(client.get(agent.get_absolute_url()).content.decode())) == {"dev": "Running"}


def test_a_failed_scale_of_a_running_agent_leaves_it_running(demo, engineer, django_capture_on_commit_callbacks):
    """Only a workload deploy of a placement being provisioned fails it: a running one refused a scale keeps
    running (its workload is untouched), and says nothing new."""
    from portal.deployments.backends import cluster_backend
    from portal.deployments.models import SandboxFault
    from portal.deployments.services import cluster_operation_request, workload_spec

    placement = (Agent.objects.get(slug="crm-campaign-intelligence").placements
                 .select_related("agent", "environment").get(environment__name="dev"))
    assert placement.status == PlacementStatus.RUNNING
    replicas = placement.replicas
    cluster_backend(placement.environment).apply_agent_workload(workload_spec(placement))
    SandboxFault.objects.create(match=placement.agent.slug, code="Forbidden", message="no")
    for action in ("scale", "apply"):
        with django_capture_on_commit_callbacks(execute=False):
            run = cluster_operation_request(placement=placement, action=action, replicas=replicas + 2,
                                            user=engineer)
            run = deployment_execute(deployment_id=run.pk)
        assert run.status == DeploymentStatus.FAILED
        placement.refresh_from_db()
        assert (placement.status, placement.status_detail, placement.replicas) == \
            (PlacementStatus.RUNNING, "", replicas)
        assert run.error["code"] == "Forbidden"
