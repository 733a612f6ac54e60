"""Issue #9's smaller items: favicon, durations, audit details, the sandbox faults admin."""

def test_favicon_is_not_a_404(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301 and response["Location"].endswith("favicon.svg")


def test_run_durations_read_in_seconds_not_zero_minutes():
    from datetime import datetime, timedelta

    from portal.deployments.templatetags.runs import duration

    start = datetime(2026, 11, 30, 10, 0, 0)
    assert duration(start, start + timedelta(seconds=42)) == "42 s"
    assert duration(start, start + timedelta(seconds=182)) == "3 min 2 s"
    assert duration(start, start + timedelta(hours=1, minutes=4)) == "1 h 4 min"


def test_audit_details_read_as_key_and_json_not_python_reprs():
    from portal.audit.templatetags.audit_details import detail_items

    items = dict(detail_items({"template": "agent", "parameters": {"enabled": True, "name": None}}))
    assert items["template"] == "agent"
    assert items["parameters"] == '{"enabled": true, "name": null}'


def test_sandbox_faults_are_managed_from_the_admin(admin_client):
    from portal.deployments.models import SandboxFault

    response = admin_client.post("/admin/deployments/sandboxfault/add/", {
        "match": "cold-*", "kind": "fail", "code": "ContainerOperationFailure", "message": "no", "factor": "10",
        "enabled": "on"})
    assert response.status_code == 302
    assert SandboxFault.objects.get().code == "ContainerOperationFailure"
    assert admin_client.get("/admin/deployments/sandboxfault/").status_code == 200


def test_a_403_is_logged_once_without_a_traceback(client_for, viewer, platform):
    import logging

    from django.urls import reverse

    records = []
    catcher = logging.Handler()
    catcher.emit = records.append
    logger = logging.getLogger("django.request")
    logger.addHandler(catcher)
    try:
        response = client_for(viewer).get(reverse("deployments:new"))
    finally:
        logger.removeHandler(catcher)
    assert response.status_code == 403
    forbidden = [r for r in records if r.getMessage().startswith("Forbidden")]
    assert len(forbidden) == 1
    assert forbidden[0].exc_info is None  # no traceback for a refusal
    assert logger.propagate is False  # printed by its own handler only, not again by the root's
