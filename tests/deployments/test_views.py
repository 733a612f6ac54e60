from django.urls import reverse

from portal.deployments.choices import DeploymentStatus as S
from portal.deployments.models import Deployment
from portal.deployments.services import deployment_log


def new_url(**params):
    query = "&".join(f"{k}={v}" for k, v in {"template": "agent", "environment": "dev", **params}.items())
    return f"{reverse('deployments:new')}?{query}"


def test_new_deployment_form_is_built_from_the_template(platform, client_for, engineer):
    html = client_for(engineer).get(new_url(p_agentName="ecommerce-catalog-search")).content.decode()
    assert 'name="p-agentName"' in html and 'value="ecommerce-catalog-search"' in html
    assert 'name="p-openAiApiKeyOverride"' in html and 'type="password"' in html
    assert '<select name="p-environment"' in html


def test_bad_parameters_are_refused_per_field_and_nothing_is_lost(platform, client_for, engineer):
    response = client_for(engineer).post(new_url(), {
        "p-agentName": "product-management-normalization-classification", "p-environment": "dev",
        "p-redisDatabase": "99", "p-coldContainerName": "cold-product-management-normalization-classification-chat-memory",
        "p-openAiApiKeyOverride": "s3cr3t", "reason": "try"})
    html = response.content.decode()
    assert response.status_code == 400
    assert "Must be at most 63" in html  # the blob container name
    assert "Must be at most" in html and "99" in html  # the Redis database bound
    assert 'value="product-management-normalization-classification"' in html  # kept
    assert "s3cr3t" not in html  # a secure value is never shown back
    assert not Deployment.objects.exists()


def test_valid_parameters_create_a_run_and_queue_the_preview(platform, client_for, engineer,
                                                              django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        response = client_for(engineer).post(new_url(), {
            "p-agentName": "ecommerce-catalog-search", "p-environment": "dev", "p-redisDatabase": "1",
            "p-openAiApiKeyOverride": "s3cr3t", "reason": "first deploy"})
    deployment = Deployment.objects.get()
    assert response.status_code == 302 and response["Location"] == deployment.get_absolute_url()
    assert len(callbacks) == 1
    assert deployment.status == S.VALIDATING
    assert "openAiApiKeyOverride" not in deployment.parameters
    assert deployment.secure_parameter_names == ["openAiApiKeyOverride"]
    assert "s3cr3t" not in deployment.secure_parameters
    page = client_for(engineer).get(deployment.get_absolute_url()).content.decode()
    assert "secure value, not shown" in page and "s3cr3t" not in page


def test_progress_partial_sends_new_log_lines_and_stops_polling_when_finished(platform, client_for, viewer):
    d = Deployment.objects.create(environment=platform, template="agent", status=S.RUNNING)
    deployment_log(d.pk, [("info", "one"), ("info", "two")])
    client = client_for(viewer)
    url = reverse("deployments:progress", args=[d.pk])
    first = client.get(url + "?after=1", HTTP_HX_REQUEST="true")
    html = first.content.decode()
    assert first.status_code == 200 and "two" in html and ">one<" not in html.replace(" one", "")
    assert 'hx-swap-oob="beforeend:#log-lines"' in html and "after=2" in html
    Deployment.objects.filter(pk=d.pk).update(status=S.SUCCEEDED)
    done = client.get(url + "?after=2", HTTP_HX_REQUEST="true")
    assert done.status_code == 286
    assert "every 1s" not in done.content.decode()


def test_viewer_sees_no_deploy_buttons(platform, client_for, viewer):
    d = Deployment.objects.create(environment=platform, template="agent", status=S.PREVIEWED,
                                  what_if={"changes": []})
    html = client_for(viewer).get(d.get_absolute_url()).content.decode()
    assert "Deploy these changes" not in html and ">Cancel<" not in html
    assert "New deployment" not in client_for(viewer).get(reverse("deployments:list")).content.decode()


def test_cancel_of_a_finished_run_shows_a_message_not_an_error_page(platform, client_for, engineer):
    d = Deployment.objects.create(environment=platform, template="agent", status=S.SUCCEEDED)
    response = client_for(engineer).post(reverse("deployments:cancel", args=[d.pk]), follow=True)
    assert response.status_code == 200
    assert "cannot be cancelled" in response.content.decode()


def test_system_page_says_which_compiler_the_portal_found(platform, client_for, viewer, settings, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    settings.PORTAL_BICEP = ""
    html = client_for(viewer).get(reverse("system")).content.decode()
    assert "None found." in html and "az bicep install" in html
    fake = tmp_path / "bicep"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    html = client_for(viewer).get(reverse("system")).content.decode()
    assert f"Found: <code>{fake}</code>" in html
    assert "<code>agent</code>" in html and "<code>shared-infrastructure</code>" in html


def test_the_run_page_shows_each_changed_property_before_and_after_and_why_what_if_cannot_tell(
        platform, client_for, viewer):
    """Issue #10: what-if in full."""
    rid = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Cache/redis/holidaypeakhub-dev-redis"
    d = Deployment.objects.create(environment=platform, template="agent", status=S.PREVIEWED, what_if={"changes": [
        {"change_type": "Modify", "resource_id": rid, "resource_type": "Microsoft.Cache/redis",
         "resource_name": "holidaypeakhub-dev-redis", "delta": ["properties.sku.capacity", "tags.team"],
         "unsupported_reason": "", "properties": [
             {"path": "properties.sku.capacity", "change_type": "Modify", "before": 1, "after": 2},
             {"path": "tags.team", "change_type": "Create", "before": None, "after": "cart"}]},
        {"change_type": "Unsupported", "resource_id": rid + "x", "resource_type": "Microsoft.Cache/redis",
         "resource_name": "holidaypeakhub-dev-redisx", "delta": [], "properties": [],
         "unsupported_reason": "The resource name is not known until the deployment runs."}]})

    html = client_for(viewer).get(d.get_absolute_url()).content.decode()

    assert ('<code>properties.sku.capacity</code>: <span data-testid="before">1</span> → '
            '<span data-testid="after">2</span>') in html
    assert ('<code>tags.team</code>: <span data-testid="before">(none)</span> → '
            '<span data-testid="after">cart</span> <span class="muted">(Create)</span>') in html
    assert "What-if cannot tell: The resource name is not known until the deployment runs." in html
