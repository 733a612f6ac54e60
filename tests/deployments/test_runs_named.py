"""Issue #9: runs say what they are for; baselines compare with the same agent; My requests."""

import pytest
from django.urls import reverse

from portal.accounts import roles
from portal.costs.estimates import baseline_for
from portal.deployments import selectors, services
from portal.deployments.choices import DeploymentStatus as S
from portal.deployments.models import Deployment
from tests.factories import AgentFactory, EnvironmentFactory, PlacementFactory


@pytest.fixture
def prod(role_groups):
    env = EnvironmentFactory(name="prod", approvals_required=1, approver_group=role_groups[roles.APPROVER])
    for slug, db in (("crm-loyalty-insights", 3), ("crm-support-assistance", 4)):
        PlacementFactory(agent=AgentFactory(slug=slug), environment=env, redis_db=db)
    return env


def request_agent(env, user, slug, db, captured, reason="release"):
    with captured(execute=False) as callbacks:
        d = services.deployment_request(environment=env, template="agent", user=user, reason=reason,
                                        parameters={"agentName": slug, "redisDatabase": db})
    return d, callbacks


def test_an_agent_run_its_approval_and_its_email_name_the_agent(prod, engineer, django_capture_on_commit_callbacks):
    d, _ = request_agent(prod, engineer, "crm-loyalty-insights", 3, django_capture_on_commit_callbacks)
    assert d.agent.slug == "crm-loyalty-insights"  # the run is the agent's, found from its agentName
    assert d.title == "agent crm-loyalty-insights to prod" and str(d) == f"#{d.pk} agent crm-loyalty-insights to prod"
    d = services.deployment_preview_run(deployment_id=d.pk)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        d = services.deployment_confirm(deployment=d, user=engineer)
    assert d.status == S.AWAITING_APPROVAL
    emails = [c.args[0].args[0] for c in callbacks if c.args[0].task.endswith("send_notification")]
    assert emails and "agent crm-loyalty-insights to prod" in emails[0]["subject"]


def test_baselines_compare_with_the_last_success_of_the_same_agent(prod, engineer, django_capture_on_commit_callbacks):
    loyalty, _ = request_agent(prod, engineer, "crm-loyalty-insights", 3, django_capture_on_commit_callbacks)
    Deployment.objects.filter(pk=loyalty.pk).update(status=S.SUCCEEDED)
    support, _ = request_agent(prod, engineer, "crm-support-assistance", 4, django_capture_on_commit_callbacks)
    assert baseline_for(support) is None  # not the other agent's run
    assert {row["baseline"] for row in selectors.parameter_diff(deployment=support)} == {None}
    again, _ = request_agent(prod, engineer, "crm-loyalty-insights", 3, django_capture_on_commit_callbacks)
    assert baseline_for(again) == loyalty
    diff = {row["name"]: row for row in selectors.parameter_diff(deployment=again)}
    assert diff["agentName"]["baseline"] == loyalty and not diff["agentName"]["changed"]


def test_my_requests_lists_my_runs_and_pending_approvals_linked_both_ways(prod, engineer, make_user, client_for,
                                                                          django_capture_on_commit_callbacks):
    d, _ = request_agent(prod, engineer, "crm-loyalty-insights", 3, django_capture_on_commit_callbacks)
    d = services.deployment_preview_run(deployment_id=d.pk)
    with django_capture_on_commit_callbacks(execute=False):
        d = services.deployment_confirm(deployment=d, user=engineer)
    other = make_user("eli", roles.ENGINEER)
    request_agent(prod, other, "crm-support-assistance", 4, django_capture_on_commit_callbacks)

    client = client_for(engineer)
    html = client.get(reverse("deployments:mine")).content.decode()
    approval_url = d.approval.get_absolute_url()
    assert f'href="{approval_url}"' in html and "agent crm-loyalty-insights" in html
    assert "crm-support-assistance" not in html  # someone else's run
    run_page = client.get(d.get_absolute_url()).content.decode()
    assert f'href="{approval_url}"' in run_page
    approval_page = client.get(approval_url).content.decode()
    assert f'href="{d.get_absolute_url()}"' in approval_page
    assert "Agent crm-loyalty-insights to prod?" in approval_page


def test_the_requester_finds_their_pending_approval_on_the_approvals_page(prod, engineer, client_for,
                                                                          django_capture_on_commit_callbacks):
    d, _ = request_agent(prod, engineer, "crm-loyalty-insights", 3, django_capture_on_commit_callbacks)
    d = services.deployment_preview_run(deployment_id=d.pk)
    with django_capture_on_commit_callbacks(execute=False):
        d = services.deployment_confirm(deployment=d, user=engineer)
    html = client_for(engineer).get(reverse("deployments:approvals")).content.decode()
    mine = html.split('data-testid="my-pending-approvals"')[1].split("</table>")[0]
    assert f'href="{d.approval.get_absolute_url()}"' in mine and "agent crm-loyalty-insights" in mine


def test_a_decision_comment_fits_the_outcome_note_or_is_refused(prod, approver, client_for):
    from portal.deployments.forms import DecisionForm

    assert not DecisionForm({"decision": "reject", "comment": "x" * 301}).is_valid()
    assert DecisionForm({"decision": "reject", "comment": "x" * 300}).is_valid()
    assert len(f"Rejected by {'u' * 150}: {'x' * 300}") <= 500
