"""RBAC status through the portal's services on the sandbox (role assignments kept in SandboxRecord
`rbac:{env}`): seeding, drift, the audit finding it, remediation as a role-assignment run (through
approval in prod), and the hook that records what a succeeded deployment grants."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from portal.access import backends, selectors, services
from portal.access.choices import AuditOutcome, FindingKind
from portal.access.models import RbacAudit
from portal.core.errors import ConflictError, DomainError
from portal.deployments import services as deployment_services
from portal.deployments.choices import DeploymentStatus
from portal.deployments.models import Deployment
from provisioning.backends.base import CloudError
from provisioning.backends.sandbox import DEFAULT_SUBSCRIPTION_ID
from provisioning.rbac import (
    ACR_PULL,
    COSMOS_DATA_CONTRIBUTOR,
    KEY_VAULT_SECRETS_USER,
    SANDBOX_KUBELET_PRINCIPAL_ID,
    platform_resources,
)
from tests.factories import EnvironmentFactory

RESOURCES = platform_resources(DEFAULT_SUBSCRIPTION_ID, "dev")


@pytest.fixture
def dev(platform):
    services.rbac_sandbox_seed(environment=platform)
    return platform


def audit(env):
    return services.rbac_audit_run(environment_id=env.pk)


def kinds(audit_row):
    return sorted((f.kind, f.role_name) for f in audit_row.findings.exclude(kind=FindingKind.PRESENT))


def test_the_seeded_sandbox_holds_what_shared_infrastructure_grants_and_audits_clean(dev):
    row = audit(dev)

    assert (row.outcome, row.backend, row.present_count, row.clean) == (AuditOutcome.READ, "sandbox", 6, True)
    assert row.kubelet_principal_id == SANDBOX_KUBELET_PRINCIPAL_ID
    assert sorted(row.findings.values_list("role_name", flat=True)) == [
        "AcrPull", "Azure Event Hubs Data Receiver", "Azure Event Hubs Data Sender",
        "Cosmos DB Built-in Data Contributor", "Key Vault Secrets User", "Storage Blob Data Contributor"]


def test_the_audit_finds_one_missing_and_one_unexpected_assignment(dev):
    outcome = services.rbac_sandbox_drift_inject(environment=dev)

    row = audit(dev)

    assert len(outcome["revoked"]) == 1
    assert (row.present_count, row.missing_count, row.unexpected_count, row.clean) == (5, 1, 1, False)
    missing = row.findings.get(kind=FindingKind.MISSING)
    assert (missing.role_name, missing.scope, missing.principal, missing.scope_kind) == (
        "AcrPull", RESOURCES.acr, "aks-kubelet", "acr")
    unexpected = row.findings.get(kind=FindingKind.UNEXPECTED)
    assert (unexpected.role_name, unexpected.scope, unexpected.principal_id) == (
        "Owner", RESOURCES.resource_group, services.DRIFT_PRINCIPAL_ID)
    assert unexpected.assignment_id == outcome["granted"]


def test_an_empty_sandbox_misses_everything(platform):
    row = audit(platform)

    assert (row.present_count, row.missing_count, row.unexpected_count) == (0, 6, 0)


class Unreadable:
    def list_assignments(self, scope):
        raise CloudError("AuthorizationFailed", "The client does not have authorization to perform "
                                                "'Microsoft.Authorization/roleAssignments/read'.")

    list_cosmos_assignments = list_assignments
    subscription_id = DEFAULT_SUBSCRIPTION_ID
    kubelet_principal_id = SANDBOX_KUBELET_PRINCIPAL_ID


def test_an_audit_that_cannot_read_is_failed_and_the_page_keeps_the_last_good_one(dev, monkeypatch):
    good = audit(dev)
    monkeypatch.setattr(backends, "rbac_backend", lambda env: Unreadable())

    failed = audit(dev)

    assert (failed.outcome, failed.clean, failed.findings.count()) == (AuditOutcome.FAILED, False, 0)
    assert failed.error == ("Could not read the role assignments: AuthorizationFailed: The client does not have "
                            "authorization to perform 'Microsoft.Authorization/roleAssignments/read'.")
    page = selectors.rbac_page(environment=dev)
    assert (page.latest, page.audit, page.failed_since) == (failed, good, True)
    assert len(page.present) == 6


def test_an_environment_the_design_does_not_name_cannot_be_audited(db):
    qa = EnvironmentFactory(name="qa")

    row = audit(qa)

    assert row.outcome == AuditOutcome.FAILED
    assert "unknown environment 'qa'" in row.error


# --- Remediation --------------------------------------------------------------------------------

@pytest.fixture
def drifted(dev):
    services.rbac_sandbox_drift_inject(environment=dev)
    audit(dev)
    return dev


def test_remediation_requests_a_role_assignment_run_that_goes_on_by_itself(
        drifted, engineer, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        run = services.rbac_remediate(environment=drifted, role_guid=ACR_PULL.upper(), user=engineer)

    assert (run.template, run.auto_confirm, run.requested_by, run.status) == (
        "role-assignment", True, engineer, DeploymentStatus.VALIDATING)
    assert run.parameters == {"principalId": SANDBOX_KUBELET_PRINCIPAL_ID, "roleDefinitionId": ACR_PULL,
                              "scopeResourceName": "holidaypeakhubdevacr",
                              "resourceGroupName": "holidaypeakhub-dev-rg", "principalType": "ServicePrincipal"}
    assert run.reason.startswith("Remediate missing AcrPull on holidaypeakhubdevacr for aks-kubelet (RBAC audit #")
    assert [c.func.__self__.name for c in callbacks] == ["portal.deployments.tasks.preview_deployment"]


def test_a_succeeded_remediation_is_recorded_by_the_hook_and_the_next_audit_finds_it(
        drifted, engineer, django_capture_on_commit_callbacks, monkeypatch):
    """The sandbox cloud that ran the remediation records what it granted (its own bookkeeping)."""
    with django_capture_on_commit_callbacks(execute=False):
        run = services.rbac_remediate(environment=drifted, role_guid=ACR_PULL, user=engineer)
    with django_capture_on_commit_callbacks(execute=False):
        assert deployment_services.deployment_preview_run(deployment_id=run.pk).status == DeploymentStatus.QUEUED
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        finished = deployment_services.deployment_execute(deployment_id=run.pk, sleep=lambda s: None)

    assert finished.status == DeploymentStatus.SUCCEEDED, finished.error
    assert "portal.access.tasks.audit_rbac" in [c.func.__self__.name for c in callbacks]
    after = audit(drifted)
    assert (after.missing_count, after.unexpected_count, after.present_count) == (0, 1, 6)


def test_remediation_in_prod_waits_for_approval(platform, engineer, django_capture_on_commit_callbacks):
    prod = EnvironmentFactory(name="prod", approvals_required=1)
    services.rbac_sandbox_seed(environment=prod)
    services.rbac_sandbox_drift_inject(environment=prod, unexpected=None)
    audit(prod)

    with django_capture_on_commit_callbacks(execute=False):
        run = services.rbac_remediate(environment=prod, role_guid=ACR_PULL, user=engineer)
        previewed = deployment_services.deployment_preview_run(deployment_id=run.pk)

    assert previewed.status == DeploymentStatus.AWAITING_APPROVAL
    assert previewed.approval.is_pending


def test_only_what_the_latest_audit_found_missing_can_be_remediated(dev, engineer):
    with pytest.raises(ConflictError, match="No audit of dev has read"):
        services.rbac_remediate(environment=dev, role_guid=ACR_PULL, user=engineer)
    audit(dev)
    with pytest.raises(ConflictError, match="AcrPull is not missing in the latest audit of dev"):
        services.rbac_remediate(environment=dev, role_guid=ACR_PULL, user=engineer)


def test_the_cosmos_data_plane_role_is_not_for_the_role_assignment_template(dev, engineer):
    services.rbac_sandbox_drift_inject(environment=dev, missing=COSMOS_DATA_CONTRIBUTOR, unexpected=None)
    audit(dev)

    with pytest.raises(DomainError, match="cannot grant Cosmos DB Built-in Data Contributor"):
        services.rbac_remediate(environment=dev, role_guid=COSMOS_DATA_CONTRIBUTOR, user=engineer)


def test_one_remediation_at_a_time_per_environment(drifted, engineer, django_capture_on_commit_callbacks):
    services.rbac_sandbox_drift_inject(environment=drifted, missing=KEY_VAULT_SECRETS_USER, unexpected=None)
    audit(drifted)
    with django_capture_on_commit_callbacks(execute=False):
        first = services.rbac_remediate(environment=drifted, role_guid=ACR_PULL, user=engineer)

        with pytest.raises(ConflictError, match=f"already being deployed to dev \\(#{first.pk}\\)"):
            services.rbac_remediate(environment=drifted, role_guid=KEY_VAULT_SECRETS_USER, user=engineer)


def test_the_hook_ignores_other_templates_failed_runs_and_azure(dev, settings):
    ok = Deployment.objects.create(environment=dev, template="agent", status=DeploymentStatus.SUCCEEDED)
    failed = Deployment.objects.create(environment=dev, template="role-assignment", status=DeploymentStatus.FAILED)
    assert services.rbac_record_deployment(deployment=ok) == []
    assert services.rbac_record_deployment(deployment=failed) == []
    settings.PORTAL_CLOUD, settings.PORTAL_BACKENDS = "azure", settings.PORTAL_BACKEND_SETS["azure"]
    shared = Deployment.objects.create(environment=dev, template="shared-infrastructure",
                                       parameters={"environment": "dev"}, status=DeploymentStatus.SUCCEEDED)
    assert services.rbac_record_deployment(deployment=shared) == []


def test_a_succeeded_shared_infrastructure_deployment_records_its_role_assignments(platform):
    run = Deployment.objects.create(environment=platform, template="shared-infrastructure",
                                    parameters={"environment": "dev"}, status=DeploymentStatus.SUCCEEDED)

    recorded = services.rbac_record_deployment(deployment=run)

    assert len(recorded) == 6
    assert audit(platform).clean


# --- Scheduling, history, commands --------------------------------------------------------------

def test_audit_now_and_the_sweep_queue_tasks_on_commit(dev, engineer, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.rbac_audit_request(environment=dev, user=engineer)
        services.rbac_audit_sweep()

    assert [(c.func.__self__.name, c.args) for c in callbacks] == [
        ("portal.access.tasks.audit_rbac", (dev.pk, engineer.pk)),
        ("portal.access.tasks.audit_rbac", ((dev.pk,),))]


def test_old_audits_go_but_the_last_good_one_stays(dev, monkeypatch, settings):
    settings.PORTAL_RBAC_HISTORY_DAYS = 30
    good = audit(dev)
    RbacAudit.objects.filter(pk=good.pk).update(ran_at=good.ran_at.replace(year=good.ran_at.year - 1))
    old_failed = RbacAudit.objects.create(environment=dev, outcome=AuditOutcome.FAILED, backend="sandbox",
                                          ran_at=good.ran_at.replace(year=good.ran_at.year - 1))
    monkeypatch.setattr(backends, "rbac_backend", lambda env: Unreadable())

    audit(dev)

    assert RbacAudit.objects.filter(pk=good.pk).exists()
    assert not RbacAudit.objects.filter(pk=old_failed.pk).exists()


def test_seed_sandbox_rbac_seeds_every_environment_with_drift_in_dev_once(db):
    for position, name in enumerate(["dev", "staging", "prod"]):
        EnvironmentFactory(name=name, position=position)
    out = StringIO()

    call_command("seed_sandbox_rbac", stdout=out)
    call_command("seed_sandbox_rbac", stdout=out)

    latest = {a.environment.name: a for a in RbacAudit.objects.select_related("environment").order_by("ran_at")}
    assert (latest["dev"].missing_count, latest["dev"].unexpected_count) == (1, 1)
    assert latest["staging"].clean and latest["prod"].clean
    assert "dev: already seeded, left as it is." in out.getvalue()
    assert "drift injected (AcrPull missing, an unexpected Owner)" in out.getvalue()


def test_inject_rbac_drift_takes_role_names(dev):
    out = StringIO()

    call_command("inject_rbac_drift", "dev", "--missing", "Key Vault Secrets User", "--unexpected", "contributor",
                 stdout=out)

    row = RbacAudit.objects.first()
    assert kinds(row) == [("missing", "Key Vault Secrets User"), ("unexpected", "Contributor")]
    with pytest.raises(CommandError, match="Unknown role"):
        call_command("inject_rbac_drift", "dev", "--missing", "Reader")
    with pytest.raises(CommandError, match="No environment named"):
        call_command("inject_rbac_drift", "nope")


def test_drift_and_seeding_are_for_the_sandbox_only(dev, settings):
    settings.PORTAL_CLOUD, settings.PORTAL_BACKENDS = "azure", settings.PORTAL_BACKEND_SETS["azure"]
    with pytest.raises(DomainError, match="sandbox"):
        services.rbac_sandbox_drift_inject(environment=dev)
    out = StringIO()
    call_command("seed_sandbox_rbac", stdout=out)
    assert "no sandbox role assignments to seed" in out.getvalue()
    assert not RbacAudit.objects.exists()


def test_a_broad_role_is_needed_for_unexpected_drift(dev):
    with pytest.raises(DomainError, match="not a broad role"):
        services.rbac_sandbox_drift_inject(environment=dev, missing=None, unexpected=ACR_PULL)
