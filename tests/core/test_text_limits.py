"""Issue #9, item 7: text over a length limit is never cut silently. What a person typed over its limit is
refused with the limit named (the typed value kept); what the portal itself shortens says it did."""

import pytest
from django.urls import reverse

from portal.api import services as api_services
from portal.audit.services import audit_record
from portal.core.errors import DomainError
from portal.deployments import approvals, services
from portal.deployments.choices import ApprovalStatus, DeploymentStatus
from portal.deployments.models import Deployment, DeploymentLogLine
from portal.health.models import HealthResult
from provisioning.health.base import CheckResult
from provisioning.text import shorten
from tests.deployments.test_approvals import awaiting, prod  # noqa: F401  (fixtures)
from tests.factories import EnvironmentFactory


@pytest.mark.parametrize("length", [0, 1, 99, 100])
def test_text_within_the_limit_is_kept_whole(length):
    assert shorten("x" * length, 100) == "x" * length


@pytest.mark.parametrize("length,limit", [(101, 100), (4001, 4000), (250_000, 4000), (2500, 2000)])
def test_text_over_the_limit_keeps_its_start_and_says_how_much_was_left_out(length, limit):
    text = "".join(chr(ord("a") + i % 26) for i in range(length))
    short = shorten(text, limit)
    assert len(short) <= limit
    kept, _, note = short.partition("… (")
    assert text.startswith(kept) and kept
    assert note == f"{length - len(kept):,} characters more)"


def test_a_limit_too_small_for_the_note_still_shows_the_ellipsis():
    assert shorten("abcdefghij", 5) == "abcd…"


def test_a_long_log_line_is_stored_shortened_and_says_so(db):
    deployment = Deployment.objects.create(environment=EnvironmentFactory(name="dev"), template="agent")
    services.deployment_log(deployment.pk, [("error", "E" * 5000)])
    message = DeploymentLogLine.objects.get(deployment=deployment).message
    assert len(message) <= 4000 and message.startswith("E" * 3000)
    assert message.endswith(f"… ({5000 - message.index('…'):,} characters more)")


def test_a_long_health_summary_is_stored_shortened_and_says_so(db):
    from portal.health.services import Observation, health_result_record

    result = CheckResult("http", "https://a.example/health", "red", "s" * 900)
    check = health_result_record(environment=EnvironmentFactory(name="dev"),
                                 observation=Observation(result=result, label="a", target="a"))
    summary = HealthResult.objects.get(health_check=check).summary
    assert len(summary) <= 500 and summary.startswith("s" * 400) and summary.endswith("characters more)")


def test_a_long_object_name_in_the_audit_log_says_it_was_shortened(db):
    event = audit_record(action="test.long", object_type="thing", object_id="1", object_repr="n" * 300)
    assert len(event.object_repr) <= 200 and event.object_repr.endswith("characters more)")


def test_an_approval_comment_over_its_limit_is_refused_naming_the_limit(awaiting, approver):  # noqa: F811
    with pytest.raises(DomainError, match="301 characters; keep it to 300") as refused:
        approvals.approval_decide(approval=awaiting, user=approver, decision="reject", comment="c" * 301)
    assert refused.value.field == "comment"
    awaiting.refresh_from_db()
    assert awaiting.status == ApprovalStatus.PENDING and awaiting.deployment.status == DeploymentStatus.AWAITING_APPROVAL
    whole = approvals.approval_decide(approval=awaiting, user=approver, decision="reject", comment="c" * 300)
    assert whole.outcome_note.endswith("c" * 300)  # the longest comment allowed goes whole into the note


def test_an_approval_comment_over_its_limit_on_the_page_keeps_what_was_typed(awaiting, approver,  # noqa: F811
                                                                            client_for):
    typed = "Not during the sale. " * 20  # 420 characters
    response = client_for(approver).post(reverse("deployments:approval", args=[awaiting.pk]),
                                         {"decision": "reject", "comment": typed})
    html = response.content.decode()
    assert response.status_code == 400 and "at most 300 characters" in html and typed.strip() in html


def test_a_token_name_over_its_limit_is_refused_not_cut(engineer):
    with pytest.raises(DomainError, match="101 characters; keep it to 100") as refused:
        api_services.token_create(user=engineer, name="n" * 101, scopes=["read"], days=1)
    assert refused.value.field == "name"
    token, _ = api_services.token_create(user=engineer, name="n" * 100, scopes=["read"], days=1)
    assert token.name == "n" * 100


def test_an_audit_search_over_its_limit_is_refused_and_kept_as_typed(client_for, platform_admin):
    typed = "q" * 201
    html = client_for(platform_admin).get(reverse("audit:list"), {"q": typed}).content.decode()
    assert "The search is 201 characters; keep it to 200." in html
    assert f'value="{typed}"' in html and 'aria-invalid="true"' in html


def test_a_deployment_filter_is_matched_whole_never_shortened(db, client_for, platform_admin):
    dev = EnvironmentFactory(name="dev")
    long_name = "t" * 60
    Deployment.objects.create(environment=dev, template=long_name)
    Deployment.objects.create(environment=dev, template="t" * 50)
    html = client_for(platform_admin).get(reverse("deployments:list"), {"template": long_name}).content.decode()
    rows = html.split('id="deployment-results"', 1)[1]
    assert long_name in rows and f">{'t' * 50}<" not in rows.replace(long_name, "")


def test_an_error_shortened_for_display_says_so_and_keeps_the_whole_a_hover_away():
    from django.template import Context, Template

    render = Template("{% load text_limits %}{{ text|shortened:60 }}").render
    error = "QuotaExceeded: " + "the subscription cannot take more " * 5
    html = render(Context({"text": error}))
    assert f'title="{error}"' in html and "characters more)</span>" in html
    assert render(Context({"text": "short <b>"})) == "short &lt;b&gt;"


def test_a_cluster_reason_over_its_limit_is_refused_naming_it_and_kept_as_typed(role_groups, engineer, client_for):
    from tests.factories import AgentFactory, PlacementFactory

    prod = EnvironmentFactory(name="prod", tier="production", approvals_required=1,
                              approver_group=role_groups["Approver"], approval_operations=["scale"])
    placement = PlacementFactory(agent=AgentFactory(slug="crm-a"), environment=prod, replicas=2)
    typed = "Quiet season, " * 40  # 560 characters
    response = client_for(engineer).post(reverse("deployments:cluster", args=[placement.pk, "scale"]),
                                         {"replicas": "0", "reason": typed})
    html = response.content.decode()
    assert response.status_code == 400 and "keep it to 500" in html
    assert f'value="{typed.strip()}"' in html and 'maxlength="500"' not in html
    assert not Deployment.objects.exists()


def test_a_deployment_reason_over_its_limit_is_refused_by_the_service_too(db):
    dev = EnvironmentFactory(name="dev")
    with pytest.raises(DomainError, match="501 characters; keep it to 500") as refused:
        services.deployment_request(environment=dev, template="agent", parameters={"agentName": "crm-a"},
                                    reason="r" * 501)
    assert refused.value.field == "reason" and not Deployment.objects.exists()
