import pytest
from django.test import RequestFactory
from django.urls import reverse

from portal.audit.models import AuditEvent
from portal.audit.services import audit_record


def test_audit_events_are_append_only(platform, engineer):
    event = audit_record(action="environment.sync_requested", obj=platform, actor=engineer)
    event.action = "something.else"
    with pytest.raises(TypeError):
        event.save()
    with pytest.raises(TypeError):
        event.delete()
    with pytest.raises(TypeError):
        AuditEvent.objects.filter(pk=event.pk).update(action="x")
    with pytest.raises(TypeError):
        AuditEvent.objects.all().delete()
    assert AuditEvent.objects.get(pk=event.pk).action == "environment.sync_requested"


def test_audit_record_keeps_who_what_and_where_from(platform, engineer, settings):
    settings.PORTAL_TRUSTED_PROXIES = 2  # the gateway and an ingress in front: the client is two from the right
    request = RequestFactory().post("/", HTTP_X_FORWARDED_FOR="203.0.113.7, 10.0.0.1", HTTP_USER_AGENT="pytest")
    request.user = engineer
    event = audit_record(action="environment.updated", obj=platform, request=request,
                         details={"changes": {"region": ["a", "b"]}, "client_secret": "s3cr3t"})
    assert (event.actor, event.actor_name, event.ip_address, event.user_agent) == (engineer, "erin", "203.0.113.7", "pytest")
    assert (event.object_type, event.object_id, event.object_repr) == ("catalog.environment", str(platform.pk), "dev")
    assert "client_secret" not in event.details and event.details["changes"]


def test_system_events_have_no_actor(platform):
    assert audit_record(action="environment.sync_succeeded", obj=platform).actor_name == "system"


def test_audit_log_filters(platform, engineer, client_for, viewer):
    audit_record(action="environment.sync_requested", obj=platform, actor=engineer)
    audit_record(action="environment.updated", obj=platform, actor=viewer)
    client = client_for(viewer)
    html = client.get(reverse("audit:list"), {"action": "environment.updated"}).content.decode()
    assert "<code>environment.updated</code>" in html and "<code>environment.sync_requested</code>" not in html
    fragment = client.get(reverse("audit:list"), {"actor": "erin"}, HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in fragment and "environment.sync_requested" in fragment
