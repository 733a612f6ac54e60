"""Issue #9, item 7: no form of the portal lets the browser cut text at a length limit (`maxlength`); the server
refuses text over the limit with the limit named, and the page keeps what was typed."""

import re
from html import unescape

import pytest
from django import forms
from django.urls import reverse

from portal.catalog.models import Environment, Placement
from portal.deployments.choices import DeploymentKind, DeploymentStatus
from portal.deployments.models import Deployment
from tests.deployments.test_approvals import awaiting, prod  # noqa: F401  (fixtures)

LONG_REASON = ("Roll back the cache change before the sale starts. " * 10).strip()  # 509 characters


def html_of(response) -> str:
    return unescape(response.content.decode())


def value_of(html: str, name: str) -> str | None:
    """The value attribute of the input named `name` (None without one)."""
    found = re.search(rf'<input[^>]*\bname="{re.escape(name)}"[^>]*>', html)
    if found is None:
        return None
    value = re.search(r'\bvalue="([^"]*)"', found.group(0))
    return value.group(1) if value else ""


def assert_no_maxlength(html: str, *, fields: tuple[str, ...]) -> None:
    """The page has those fields (each one has a max_length on the server) and no maxlength anywhere."""
    for name in fields:
        assert re.search(rf'<(input|textarea)[^>]*\bname="{re.escape(name)}"', html), f"no field {name}"
    assert "maxlength" not in html.lower()


# --- The renderer -------------------------------------------------------------------------------

class LimitedForm(forms.Form):
    name = forms.CharField(max_length=5)
    note = forms.CharField(max_length=7, widget=forms.Textarea)
    when = forms.SplitDateTimeField(widget=forms.SplitDateTimeWidget(date_attrs={"maxlength": 10}), required=False)


def test_a_portal_form_renders_no_maxlength_and_still_refuses_text_over_the_limit():
    html = str(LimitedForm())
    assert 'name="name"' in html and 'name="note"' in html and 'name="when_0"' in html
    assert "maxlength" not in html

    form = LimitedForm({"name": "abcdef", "note": "1234567"})
    assert form.errors["name"] == ["Ensure this value has at most 5 characters (it has 6)."]
    assert "note" not in form.errors
    rendered = str(form)
    assert 'value="abcdef"' in rendered and "at most 5 characters (it has 6)" in rendered
    assert "maxlength" not in rendered


# --- The main form pages --------------------------------------------------------------------------

@pytest.fixture
def staff_admin(make_user):
    from portal.accounts import roles

    return make_user("root", roles.PLATFORM_ADMIN, is_staff=True, is_superuser=True)


def test_the_main_form_pages_carry_no_maxlength(demo, client_for, staff_admin, engineer):
    client = client_for(staff_admin)
    dev = Environment.objects.get(name="dev")
    placement = Placement.objects.filter(environment=dev).first()
    failed = Deployment.objects.create(environment=dev, template="agent", status=DeploymentStatus.FAILED,
                                       requested_by=engineer, reason="first")
    succeeded = Deployment.objects.create(environment=dev, template="static-web-app", requested_by=engineer,
                                          status=DeploymentStatus.SUCCEEDED, kind=DeploymentKind.TEMPLATE)
    new = reverse("catalog:agent_onboard")
    pages = {
        "onboarding, step 1": (client.get(new), ("display_name", "description")),
        "onboarding, step 2": (client.post(new, {"step": "1", "go": "2", "slug": "ecommerce-gift-finder",
                                                 "display_name": "Gift Finder", "domain": "ecommerce",
                                                 "owner_team": "ecommerce"}), ("image", "image_tag")),
        "new deployment": (client.get(reverse("deployments:new"), {"template": "agent", "environment": "dev"}),
                           ("p-agentName", "reason")),
        "environment settings": (client.get(reverse("catalog:environment_edit", args=["dev"])),
                                 ("aks_cluster", "resource_name_pattern")),
        "budget": (client.get(reverse("costs:budget", args=["dev"])), ("actual_thresholds",)),
        "retire": (client.get(reverse("deployments:retire", args=[placement.pk])), ("confirm", "reason")),
        "retry reason": (client.get(failed.get_absolute_url()), ("reason",)),
        "redeploy reason": (client.get(succeeded.get_absolute_url()), ("reason",)),
        "API tokens": (client.get(reverse("api_tokens:tokens")), ("name",)),
        "admin, sandbox fault": (client.get(reverse("admin:deployments_sandboxfault_add")), ("match", "message")),
    }
    for what, (response, fields) in pages.items():
        assert response.status_code == 200, what
        html = html_of(response)
        try:
            assert_no_maxlength(html, fields=fields)
        except AssertionError as exc:
            raise AssertionError(f"{what}: {exc}") from exc


def test_the_approval_page_carries_no_maxlength(awaiting, approver, client_for):  # noqa: F811
    html = html_of(client_for(approver).get(reverse("deployments:approval", args=[awaiting.pk])))
    assert re.search(r'<textarea[^>]*name="comment"', html)
    assert "maxlength" not in html.lower()


# --- Too long: refused, the limit named, nothing lost -----------------------------------------------

def test_a_new_deployment_reason_over_its_limit_is_refused_and_kept(demo, client_for, engineer):
    url = reverse("deployments:new") + "?template=static-web-app&environment=dev"
    response = client_for(engineer).post(url, {"p-location": "eastus2", "p-tags": "{}", "reason": LONG_REASON})
    html = html_of(response)
    assert response.status_code == 400
    assert f"Ensure this value has at most 500 characters (it has {len(LONG_REASON)})." in html
    assert value_of(html, "reason") == LONG_REASON
    assert "maxlength" not in html.lower()
    assert not Deployment.objects.filter(template="static-web-app").exists()


def test_an_onboarding_name_over_its_limit_is_refused_and_kept(demo, client_for, engineer):
    typed = ("Gift Finder for the holiday season, " * 3).strip()  # 107 characters
    response = client_for(engineer).post(reverse("catalog:agent_onboard"), {
        "step": "1", "go": "2", "slug": "ecommerce-gift-finder", "display_name": typed, "domain": "ecommerce",
        "owner_team": "ecommerce"})
    html = html_of(response)
    assert 200 <= response.status_code < 500
    assert f"Ensure this value has at most 100 characters (it has {len(typed)})." in html
    assert value_of(html, "display_name") == typed and "maxlength" not in html.lower()


def test_an_environment_setting_over_its_limit_is_refused_and_kept(demo, client_for, platform_admin):
    client = client_for(platform_admin)
    url = reverse("catalog:environment_edit", args=["dev"])
    form = client.get(url).context["form"]
    data = {name: value for name, value in form.initial.items() if value is not None}
    data = {**{k: v for k, v in data.items() if not isinstance(v, list)}, "version": form["version"].value(),
            "approval_operations": form.initial.get("approval_operations") or []}
    typed = "aks-" + "holidaypeakhub-dev-" * 4  # 80 characters; AKS allows 63
    response = client.post(url, {**data, "aks_cluster": typed})
    html = html_of(response)
    assert 200 <= response.status_code < 500
    assert f"Ensure this value has at most 63 characters (it has {len(typed)})." in html
    assert value_of(html, "aks_cluster") == typed and "maxlength" not in html.lower()
    assert Environment.objects.get(name="dev").aks_cluster != typed


def test_budget_thresholds_over_their_limit_are_refused_and_kept(demo, client_for, platform_admin):
    client = client_for(platform_admin)
    url = reverse("costs:budget", args=["dev"])
    version = client.get(url).context["form"]["version"].value()
    typed = ", ".join(["50", "80", "100"] * 30)  # 268 characters
    response = client.post(url, {"actual_thresholds": typed, "forecast_thresholds": "100", "version": version})
    html = html_of(response)
    assert 200 <= response.status_code < 500
    assert f"Ensure this value has at most 200 characters (it has {len(typed)})." in html
    assert value_of(html, "actual_thresholds") == typed and "maxlength" not in html.lower()


def test_a_retry_reason_over_its_limit_is_refused_and_kept(demo, client_for, platform_admin, engineer):
    failed = Deployment.objects.create(environment=Environment.objects.get(name="dev"), template="agent",
                                       status=DeploymentStatus.FAILED, requested_by=engineer, reason="first")
    response = client_for(platform_admin).post(reverse("deployments:retry", args=[failed.pk]),
                                               {"reason": LONG_REASON})
    html = html_of(response)
    assert response.status_code == 400
    assert f"The reason is {len(LONG_REASON)} characters; keep it to 500." in html
    assert value_of(html, "reason") == LONG_REASON and "At most 500 characters." in html
    assert f'action="{reverse("deployments:retry", args=[failed.pk])}"' in html
    assert "maxlength" not in html.lower()
    assert Deployment.objects.count() == 1


def test_a_retry_of_someone_elses_run_without_a_reason_asks_for_one(demo, client_for, platform_admin, engineer):
    failed = Deployment.objects.create(environment=Environment.objects.get(name="dev"), template="agent",
                                       status=DeploymentStatus.FAILED, requested_by=engineer, reason="first")
    response = client_for(platform_admin).post(reverse("deployments:retry", args=[failed.pk]), {"reason": ""})
    html = html_of(response)
    assert response.status_code == 400 and "say why in the reason" in html and value_of(html, "reason") == ""


def test_a_redeploy_reason_over_its_limit_is_refused_and_kept(demo, client_for, platform_admin, engineer):
    dev = Environment.objects.get(name="dev")
    Deployment.objects.create(environment=dev, template="static-web-app", status=DeploymentStatus.SUCCEEDED,
                              requested_by=engineer, kind=DeploymentKind.TEMPLATE, parameters={})
    response = client_for(platform_admin).post(reverse("deployments:redeploy"), {
        "environment": "dev", "template": "static-web-app", "reason": LONG_REASON})
    html = html_of(response)
    assert response.status_code == 400
    assert "keep it to 500" in html and value_of(html, "reason") == LONG_REASON
    assert (value_of(html, "environment"), value_of(html, "template")) == ("dev", "static-web-app")
    assert "maxlength" not in html.lower()
    assert Deployment.objects.filter(template="static-web-app").count() == 1


def test_a_retry_reason_within_its_limit_goes_through(demo, client_for, platform_admin, engineer,
                                                     django_capture_on_commit_callbacks):
    failed = Deployment.objects.create(environment=Environment.objects.get(name="dev"), template="agent",
                                       status=DeploymentStatus.FAILED, requested_by=engineer, reason="first",
                                       parameters={"agentName": "crm-campaign-intelligence"})
    typed = "r" * 500
    with django_capture_on_commit_callbacks(execute=False):
        response = client_for(platform_admin).post(reverse("deployments:retry", args=[failed.pk]),
                                                   {"reason": typed})
    assert response.status_code == 302
    assert Deployment.objects.get(retry_of=failed).reason == typed


