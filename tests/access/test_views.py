"""The RBAC pages: what each role sees and may do, remediation from the page, query counts."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from portal.access import backends, services
from portal.access.choices import AuditOutcome, FindingKind
from portal.access.models import RbacAudit, RbacFinding
from portal.deployments.models import Deployment
from provisioning.rbac import ACR_PULL, COSMOS_DATA_CONTRIBUTOR
from tests.access.test_services import Unreadable


@pytest.fixture
def drifted(platform):
    services.rbac_sandbox_seed(environment=platform)
    services.rbac_sandbox_drift_inject(environment=platform)
    services.rbac_audit_run(environment_id=platform.pk)
    return platform


def page(client, env="dev"):
    response = client.get(reverse("access:environment", args=[env]))
    assert response.status_code == 200
    return response.content.decode()


def test_the_page_lists_missing_unexpected_and_present(drifted, client_for, viewer):
    html = page(client_for(viewer))

    assert 'data-testid="audit-state">drift</span>' in html
    assert "5 present · 1 missing · 1 unexpected" in html
    assert '<tr data-role="AcrPull">' in html
    assert "holidaypeakhubdevacr" in html
    assert '<tr data-role="Owner">' in html and services.DRIFT_PRINCIPAL_ID in html
    assert html.count('<tr data-role=') == 7
    assert "Remediate" not in html and "Audit now" not in html      # a viewer may do neither
    assert "An engineer can remediate it." in html


def test_an_engineer_sees_remediate_and_audit_now(drifted, client_for, engineer):
    html = page(client_for(engineer))

    assert f'action="/access/dev/remediate/{ACR_PULL}/"' in html
    assert ">Remediate</button>" in html and ">Audit now</button>" in html


def test_remediate_from_the_page_starts_the_run_and_shows_it_on_the_page(
        drifted, client_for, engineer, django_capture_on_commit_callbacks):
    client = client_for(engineer)
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(reverse("access:remediate", args=["dev", ACR_PULL]))

    run = Deployment.objects.get(template="role-assignment")
    assert response.status_code == 302 and response["Location"] == f"/deployments/{run.pk}/"
    html = page(client)
    assert f'href="/deployments/{run.pk}/">run #{run.pk}</a>' in html
    assert ">Remediate</button>" not in html


def test_remediating_what_is_not_missing_says_why(drifted, client_for, engineer):
    client = client_for(engineer)

    response = client.post(reverse("access:remediate", args=["dev", COSMOS_DATA_CONTRIBUTOR]), follow=True)

    assert "Cosmos DB Built-in Data Contributor is not missing in the latest audit of dev" in response.content.decode()
    assert not Deployment.objects.exists()


def test_audit_now_queues_an_audit(drifted, client_for, engineer, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client_for(engineer).post(reverse("access:audit", args=["dev"]))

    assert response.status_code == 302
    assert [c.args[0].task for c in callbacks] == ["portal.access.tasks.audit_rbac"]


def test_a_failed_latest_audit_is_shown_above_the_last_good_one(drifted, client_for, viewer, monkeypatch):
    monkeypatch.setattr(backends, "rbac_backend", lambda env: Unreadable())
    services.rbac_audit_run(environment_id=drifted.pk)

    html = page(client_for(viewer))

    assert 'data-testid="audit-failed"' in html and "AuthorizationFailed" in html
    assert "Showing the last audit that could" in html
    assert '<tr data-role="AcrPull">' in html


def test_the_overview_shows_each_environment(drifted, client_for, viewer):
    html = client_for(viewer).get(reverse("access:overview")).content.decode()

    assert 'href="/access/dev/"' in html and ">drift</span>" in html


def test_not_audited_yet(platform, client_for, viewer):
    assert "Not audited yet." in page(client_for(viewer))


def test_unknown_environments_and_wrong_methods(platform, client_for, engineer):
    client = client_for(engineer)
    assert client.get(reverse("access:environment", args=["nope"])).status_code == 404
    assert client.post(reverse("access:remediate", args=["nope", ACR_PULL])).status_code == 404
    assert client.get(reverse("access:remediate", args=["dev", ACR_PULL])).status_code == 405
    assert client.get(reverse("access:audit", args=["dev"])).status_code == 405


def add_audits(env, n, kinds=(FindingKind.MISSING, FindingKind.UNEXPECTED)):
    """n audits, each with half a dozen findings of each kind."""
    for i in range(n):
        audit = RbacAudit.objects.create(environment=env, outcome=AuditOutcome.READ, backend="sandbox",
                                         ran_at=timezone.now() - timedelta(minutes=i),
                                         missing_count=6 * (FindingKind.MISSING in kinds), unexpected_count=6)
        RbacFinding.objects.bulk_create(
            RbacFinding(audit=audit, kind=kind, role_name="AcrPull", role_guid=ACR_PULL, scope=f"/x/acr{j}")
            for j in range(6) for kind in kinds)


# Session, user, permissions (2), the user's roles: 5; then overview 1; the page 4 (environment,
# audits, findings, remediation runs).
PINNED = {"access:overview": 6, "access:environment": 9}


@pytest.mark.parametrize("name", list(PINNED))
def test_rbac_pages_query_counts_are_pinned_and_flat(platform, client_for, engineer, name):
    url = reverse(name) if name == "access:overview" else reverse(name, args=["dev"])
    client = client_for(engineer)
    counts = []
    for n in (2, 20):
        add_audits(platform, n)
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url).status_code == 200
        counts.append(len(ctx.captured_queries))

    assert counts == [PINNED[name]] * 2



def test_with_nothing_missing_the_page_does_not_look_for_remediation_runs(platform, client_for, engineer):
    client = client_for(engineer)
    counts = []
    for n in (2, 20):
        add_audits(platform, n, kinds=(FindingKind.UNEXPECTED, FindingKind.PRESENT))
        with CaptureQueriesContext(connection) as ctx:
            html = client.get(reverse("access:environment", args=["dev"])).content.decode()
        counts.append(len(ctx.captured_queries))
        assert "Nothing missing." in html and html.count('<tr data-role="AcrPull">') == 12

    assert counts == [PINNED["access:environment"] - 1] * 2
    assert not any("deployments_deployment" in q["sql"] for q in ctx.captured_queries)

def test_the_admin_action_injects_drift_and_queues_an_audit(platform, client_for, make_user,
                                                           django_capture_on_commit_callbacks):
    services.rbac_sandbox_seed(environment=platform)
    clean = services.rbac_audit_run(environment_id=platform.pk)
    admin = make_user("root", is_staff=True, is_superuser=True)
    client = client_for(admin)
    assert client.get(reverse("admin:access_rbacaudit_changelist")).status_code == 200
    assert client.get(reverse("admin:health_healthcheck_changelist")).status_code == 200

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(reverse("admin:access_rbacaudit_changelist"),
                               {"action": "inject_drift", "_selected_action": [clean.pk]}, follow=True)

    assert "Drift injected in dev; an audit is queued." in response.content.decode()
    assert [c.args[0].task for c in callbacks] == ["portal.access.tasks.audit_rbac"]
    after = services.rbac_audit_run(environment_id=platform.pk)
    assert (after.missing_count, after.unexpected_count) == (1, 1)
