import pytest

from portal.audit.models import AuditEvent
from portal.core.errors import ConflictError, DomainError
from portal.deployments import services
from portal.deployments.choices import DeploymentStatus as S
from portal.deployments.models import Deployment, DeploymentOperation, SandboxFault
from tests.factories import EnvironmentFactory

AGENT_PARAMS = {"agentName": "ecommerce-catalog-search", "environment": "dev"}


@pytest.fixture
def dev(db):
    return EnvironmentFactory(name="dev")


def request_and_preview(dev, engineer, captured, params=AGENT_PARAMS, secure=None, reason=""):
    with captured(execute=False):
        d = services.deployment_request(environment=dev, template="agent", parameters=params,
                                        secure_parameters=secure, user=engineer, reason=reason)
    return services.deployment_preview_run(deployment_id=d.pk)


def test_agent_module_previews_runs_and_succeeds_on_the_sandbox(dev, engineer, django_capture_on_commit_callbacks):
    d = request_and_preview(dev, engineer, django_capture_on_commit_callbacks)
    assert d.status == S.PREVIEWED, d.error
    groups = dict(d.what_if_groups)
    assert groups["Create"], d.what_if
    with django_capture_on_commit_callbacks() as callbacks:
        d = services.deployment_confirm(deployment=d, user=engineer)
    assert d.status == S.QUEUED and len(callbacks) == 1
    d = services.deployment_execute(deployment_id=d.pk, sleep=lambda s: None)
    assert d.status == S.SUCCEEDED, d.error
    ops = list(DeploymentOperation.objects.filter(deployment=d))
    assert ops and all(op.state == "Succeeded" for op in ops)
    assert d.log_lines.filter(message="Deployment succeeded.").exists()
    actions = list(AuditEvent.objects.filter(object_type="deployments.deployment").values_list("action", flat=True))
    assert {"deployment.requested", "deployment.previewed", "deployment.queued", "deployment.running",
            "deployment.succeeded"} <= set(actions)


def test_second_preview_after_a_deploy_shows_no_change(dev, engineer, django_capture_on_commit_callbacks):
    d = request_and_preview(dev, engineer, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks():
        services.deployment_confirm(deployment=d, user=engineer)
    services.deployment_execute(deployment_id=d.pk, sleep=lambda s: None)
    again = request_and_preview(dev, engineer, django_capture_on_commit_callbacks)
    assert set(dict(again.what_if_groups)) <= {"NoChange", "Ignore"}, again.what_if


def test_injected_failure_ends_failed_with_the_arm_error(dev, engineer, django_capture_on_commit_callbacks):
    SandboxFault.objects.create(match="cold-*", code="ContainerOperationFailure", message="The blob service said no.")
    d = request_and_preview(dev, engineer, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks():
        services.deployment_confirm(deployment=d, user=engineer)
    d = services.deployment_execute(deployment_id=d.pk, sleep=lambda s: None)
    assert d.status == S.FAILED
    assert d.error["code"] == "DeploymentFailed"
    assert "ContainerOperationFailure" in str(d.error)
    failed = DeploymentOperation.objects.get(deployment=d, state="Failed")
    assert failed.error["code"] == "ContainerOperationFailure"


def test_only_one_active_deployment_per_environment_and_template(dev, engineer, django_capture_on_commit_callbacks):
    first = request_and_preview(dev, engineer, django_capture_on_commit_callbacks)
    second = request_and_preview(dev, engineer, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks():
        services.deployment_confirm(deployment=first, user=engineer)
    with pytest.raises(ConflictError, match="queued or running"):
        services.deployment_confirm(deployment=second, user=engineer)
    assert Deployment.objects.get(pk=second.pk).status == S.PREVIEWED


def test_redelivered_run_task_does_not_deploy_twice(dev, engineer, django_capture_on_commit_callbacks):
    d = request_and_preview(dev, engineer, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks():
        services.deployment_confirm(deployment=d, user=engineer)
    services.deployment_execute(deployment_id=d.pk, sleep=lambda s: None)
    assert services.deployment_execute(deployment_id=d.pk, sleep=lambda s: None) is None
    assert Deployment.objects.get(pk=d.pk).attempts == 1


def test_cancel_before_start_and_retry_links_the_new_run(dev, engineer, django_capture_on_commit_callbacks):
    d = request_and_preview(dev, engineer, django_capture_on_commit_callbacks, secure={"openAiApiKeyOverride": "s3cr3t"})
    d = services.deployment_cancel(deployment=d, user=engineer)
    assert d.status == S.CANCELLED
    with django_capture_on_commit_callbacks():
        retry = services.deployment_retry(deployment=d, user=engineer)
    assert retry.retry_of_id == d.pk and retry.parameters == d.parameters
    assert retry.secure_parameters and "s3cr3t" not in retry.secure_parameters
    assert "s3cr3t" not in str(list(AuditEvent.objects.values_list("details", flat=True)))


def test_cancel_of_a_finished_run_is_refused(dev, engineer, django_capture_on_commit_callbacks):
    d = request_and_preview(dev, engineer, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks():
        services.deployment_confirm(deployment=d, user=engineer)
    d = services.deployment_execute(deployment_id=d.pk, sleep=lambda s: None)
    with pytest.raises(ConflictError):
        services.deployment_cancel(deployment=d, user=engineer)


def test_prod_deployment_stops_for_approval(db, engineer, django_capture_on_commit_callbacks):
    prod = EnvironmentFactory(name="prod", approvals_required=1)
    d = request_and_preview(prod, engineer, django_capture_on_commit_callbacks,
                            params={**AGENT_PARAMS, "environment": "prod"}, reason="Release 1.5")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        d = services.deployment_confirm(deployment=d, user=engineer)
    assert d.status == S.AWAITING_APPROVAL
    assert [c.func.__self__.name for c in callbacks] == ["portal.deployments.tasks.send_notification"]  # no run queued


def test_a_deployment_that_needs_approval_needs_a_reason(db, engineer):
    prod = EnvironmentFactory(name="prod", approvals_required=1)
    with pytest.raises(DomainError, match="say why"):
        services.deployment_request(environment=prod, template="agent", parameters=AGENT_PARAMS, user=engineer)


def test_a_resumed_run_follows_the_deployment_it_started_and_never_starts_a_second(
        dev, engineer, django_capture_on_commit_callbacks):
    from django.utils import timezone

    from portal.deployments.backends import DatabaseSandboxStore

    d = request_and_preview(dev, engineer, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks():
        services.deployment_confirm(deployment=d, user=engineer)
    d = services.deployment_claim(deployment_id=d.pk)
    # The first worker started the ARM deployment, then died before recording anything more.
    from portal.deployments.backends import cloud_backend
    from portal.deployments import templates

    spec = templates.template_spec(templates.template_get("agent"), d.parameters, compiler=None)
    cloud_backend().begin_deploy(deployment_name=d.arm_deployment_name, location="eastus", template=spec,
                                 parameters=d.parameters)
    Deployment.objects.filter(pk=d.pk).update(lease_expires_at=timezone.now())  # its lease lapses

    d = services.deployment_execute(deployment_id=d.pk, sleep=lambda s: None)
    assert d.status == S.SUCCEEDED and d.attempts == 2
    record = DatabaseSandboxStore().get(f"deployment:{d.arm_deployment_name.lower()}")
    assert record["generation"] == 1  # one ARM deployment, followed to the end
    assert d.log_lines.filter(message__startswith="Following ARM deployment").exists()


def test_a_run_held_by_a_live_worker_is_not_taken_by_another(dev, engineer, django_capture_on_commit_callbacks):
    d = request_and_preview(dev, engineer, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks():
        services.deployment_confirm(deployment=d, user=engineer)
    assert services.deployment_claim(deployment_id=d.pk) is not None
    assert services.deployment_claim(deployment_id=d.pk) is None  # lease still fresh


def test_in_azure_mode_without_a_compiler_a_bicep_deployment_fails_at_validation_saying_how_to_install_one(
        dev, engineer, settings, monkeypatch, django_capture_on_commit_callbacks):
    settings.PORTAL_CLOUD, settings.PORTAL_BACKENDS = "azure", settings.PORTAL_BACKEND_SETS["azure"]
    settings.PORTAL_BICEP = ""
    settings.AZURE_SUBSCRIPTION_ID = "00000000-0000-0000-0000-000000000001"
    monkeypatch.setenv("PATH", "/nonexistent")  # no bicep, no az
    d = request_and_preview(dev, engineer, django_capture_on_commit_callbacks)
    assert d.status == S.FAILED
    assert d.error["code"] == "NoCompiledTemplate"
    assert "bicep" in d.error["message"].lower() and "install" in d.error["message"].lower()


def test_a_shared_redis_database_reaches_the_workload_with_its_key_prefix(dev, engineer,
                                                                          django_capture_on_commit_callbacks):
    from portal.deployments.backends import cluster_backend
    from tests.factories import PlacementFactory

    placement = PlacementFactory(environment=dev, redis_db=3, redis_key_prefix="gift-wrapping:")
    with django_capture_on_commit_callbacks(execute=False):
        d = services.cluster_operation_request(placement=placement, action="apply", user=engineer)
    assert services.deployment_execute(deployment_id=d.pk, sleep=lambda s: None).status == S.SUCCEEDED
    workload = cluster_backend(dev).get_workload(placement.agent.slug)
    assert workload.env["REDIS_DB"] == "3" and workload.env["REDIS_KEY_PREFIX"] == "gift-wrapping:"
