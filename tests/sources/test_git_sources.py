"""A team's own git repository as a template source, end to end: a real repository (dulwich) served
over HTTP on 127.0.0.1 with a token; add a template, push, sync through the push webhook, deploy it,
change it, and the approval goes stale."""

import hashlib
import hmac

import pytest
from django.urls import reverse

from portal.accounts import roles
from portal.core.errors import ConflictError
from portal.core.outbox import outbox_claim
from portal.deployments import approvals, services
from portal.deployments.backends import sandbox_cloud
from portal.deployments.choices import ApprovalStatus as A
from portal.deployments.choices import DeploymentStatus as S
from portal.sources import tasks
from portal.sources.models import TemplateFile, TemplateSource
from portal.sources.services import source_set_secrets, source_sync
from tests.factories import EnvironmentFactory
from tests.sources.git_server import GitServer, WorkingCopy

TOKEN = "s3cret-token"
SECRET = "webhook-shared-secret"

TEMPLATE = """// A team's web app.
@description('Name of the app.')
@minLength(3)
param appName string

@allowed(['B1', 'P1v3'])
param sku string = 'B1'

@description('Filled from the environment (its resource group), so the run stays in its scope.')
param resourceGroupName string

resource plan 'Microsoft.Web/serverfarms@2023-12-01' = {
  name: 'plan-${appName}'
  location: resourceGroup().location
  sku: { name: sku }
}
"""


@pytest.fixture
def git(tmp_path):
    with GitServer(tmp_path, TOKEN) as server:
        yield server, WorkingCopy(tmp_path, server)


@pytest.fixture
def source(git, settings, tmp_path, db):
    settings.PORTAL_SOURCES_DIR = tmp_path / "sources"
    server, _ = git
    source = TemplateSource.objects.create(name="team", url=server.url, ref="main", folder="infra",
                                           commit_url_template="https://git.example/team/commit/{commit}")
    return source_set_secrets(source=source, token=TOKEN, webhook_secret=SECRET)


def _push_webhook(client, source, body=b'{"ref": "refs/heads/main"}', secret=SECRET):
    signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return client.post(reverse("sources:webhook", args=[source.name]), body, content_type="application/json",
                       headers={"X-Hub-Signature-256": signature})


def _webhook_sync(client, source, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = _push_webhook(client, source)
    assert response.status_code == 202
    assert [c.args[0].task for c in callbacks] == ["portal.sources.tasks.sync_source"]
    row = callbacks[0].args[0]
    assert row.args == [source.pk]
    assert outbox_claim(pk=row.pk, celery_id=f"outbox-{row.pk}-test", worker="test")  # the worker claims its row
    tasks.sync_source(*row.args)       # then runs the task
    return TemplateSource.objects.get(pk=source.pk)


@pytest.fixture
def prod(role_groups):
    return EnvironmentFactory(name="prod", approvals_required=1, approver_group=role_groups[roles.APPROVER],
                              approval_timeout_hours=24)


def test_push_webhook_sync_deploy_change_and_the_approval_goes_stale(
        git, source, client, prod, engineer, approver, client_for, django_capture_on_commit_callbacks):
    server, work = git
    work.write("infra/web/main.bicep", TEMPLATE)
    work.write("infra/web/main.prod.bicepparam", "using './main.bicep'\n\nparam appName = 'shop'\nparam sku = 'P1v3'\n")
    work.write("README.md", "not a template\n")
    first = work.commit_and_push("Add the web template")

    source = _webhook_sync(client, source, django_capture_on_commit_callbacks)
    assert (source.commit, source.last_error) == (first, "")
    row = TemplateFile.objects.get(source=source, name="team/web")
    assert row.offered and row.commit == first and row.path == "web/main.bicep"
    assert [p["name"] for p in row.parameters] == ["appName", "sku", "resourceGroupName"]
    assert row.parameter_sets == {"prod": {"appName": "shop", "sku": "P1v3"}}

    page = client_for(engineer).get(reverse("deployments:new") + "?template=team/web&environment=prod")
    html = page.content.decode()
    assert page.status_code == 200
    assert f"https://git.example/team/commit/{first}" in html      # where it came from
    assert "web/main.bicep" in html

    with django_capture_on_commit_callbacks(execute=False):
        run = services.deployment_request(environment=prod, template="team/web", parameters={"appName": "shop"},
                                          user=engineer, reason="Launch")
    assert (run.template_source, run.template_commit) == ("team", first)
    # No targetScope: a resource-group template, deployed into prod's resource group, which the platform made.
    sandbox_cloud(prod).ensure_resource_group(prod.resource_group, prod.region)
    run = services.deployment_preview_run(deployment_id=run.pk)
    assert run.status == S.PREVIEWED, run.error
    assert run.arm_resource_group == prod.resource_group
    assert any(c["resource_type"] == "Microsoft.Web/serverfarms" for c in run.what_if["changes"])
    with django_capture_on_commit_callbacks(execute=False):
        run = services.deployment_confirm(deployment=run, user=engineer)
    assert run.status == S.AWAITING_APPROVAL
    detail = client_for(engineer).get(run.get_absolute_url()).content.decode()
    assert f'href="https://git.example/team/commit/{first}"' in detail

    work.write("infra/web/main.bicep", TEMPLATE.replace("'B1', 'P1v3'", "'B1', 'P1v3', 'P2v3'"))
    second = work.commit_and_push("Allow P2v3")
    source = _webhook_sync(client, source, django_capture_on_commit_callbacks)
    assert source.commit == second != first

    with pytest.raises(ConflictError, match=r"template in team \(now at commit .*\) changed"):
        approvals.approval_decide(approval=run.approval, user=approver, decision="approve", comment="")
    assert run.approval.__class__.objects.get(pk=run.approval.pk).status == A.STALE


def test_a_webhook_with_a_wrong_signature_is_refused_and_syncs_nothing(
        source, client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = _push_webhook(client, source, secret="guess")
    assert response.status_code == 403
    assert callbacks == []


def test_a_source_that_cannot_be_reached_keeps_its_last_good_sync_and_says_why(git, source):
    server, work = git
    work.write("infra/web/main.bicep", TEMPLATE)
    commit = work.commit_and_push("Add")
    source = source_sync(source_id=source.pk)
    assert source.commit == commit

    server.token = "rotated"      # the stored token no longer works
    source = source_sync(source_id=source.pk)
    assert "Cannot sync" in source.last_error
    assert source.commit == commit
    assert TemplateFile.objects.get(name="team/web").offered


def test_the_token_is_stored_encrypted_and_never_shown(source, client_for, platform_admin):
    stored = TemplateSource.objects.get(pk=source.pk)
    assert TOKEN not in stored.token_sealed and stored.token_sealed
    html = client_for(platform_admin).get(reverse("sources:edit", args=[source.pk])).content.decode()
    assert TOKEN not in html and SECRET not in html
    assert "one is stored (never shown)" in html


def test_an_admin_adds_a_git_source_and_a_sync_is_queued(db, client_for, platform_admin,
                                                         django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client_for(platform_admin).post(reverse("sources:new"), {
            "name": "team2", "url": "https://github.com/org/infra.git", "ref": "main", "folder": "bicep",
            "username": "x-access-token", "sync_minutes": "15", "token": "t0k", "webhook_secret": "w"})
    assert response.status_code == 302
    source = TemplateSource.objects.get(name="team2")
    assert source.commit_url("abc") == "https://github.com/org/infra/commit/abc"
    assert "t0k" not in source.token_sealed
    assert [c.args[0].task for c in callbacks] == ["portal.sources.tasks.sync_source"]
    assert callbacks[0].args[0].args == [source.pk]


def test_a_sync_that_changes_the_catalog_is_audited_once(git, source):
    from portal.audit.models import AuditEvent

    server, work = git
    work.write("infra/web/main.bicep", TEMPLATE)
    commit = work.commit_and_push("Add")
    source_sync(source_id=source.pk)
    source_sync(source_id=source.pk)                 # nothing new: not audited again
    (event,) = AuditEvent.objects.filter(action="source.synced")
    assert event.details["commit"] == commit
    assert event.details["changed"] == ["web/main.bicep"]


def test_a_url_with_credentials_is_shown_without_them(db):
    source = TemplateSource(name="x", url="https://user:hunter2@git.example/team/infra.git")
    assert source.display_url == "https://git.example/team/infra.git"
