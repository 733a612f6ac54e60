"""Login throttling (django-axes): a lockout per username and per client IP after repeated failures, a cool-off,
and both in the audit log."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from portal.audit.models import AuditEvent

START = datetime(2026, 11, 30, 21, 0, tzinfo=UTC)
GOOD = "pw-for-tests-1"


def sign_in(username, password, ip="198.51.100.20"):
    return Client().post(reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=ip)


@pytest.fixture
def clock():
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


def test_repeated_failures_lock_the_account_until_the_cool_off_ends(clock, engineer, settings):
    assert settings.AXES_FAILURE_LIMIT == 5
    for attempt in range(5):
        response = sign_in("erin", f"wrong-{attempt}", ip=f"198.51.100.{attempt}")  # a new address each time
        assert response.status_code in (200, 429)
    locked = sign_in("erin", GOOD, ip="203.0.113.99")
    assert locked.status_code == 429
    assert "Sign-in paused" in locked.content.decode()

    clock.shift(timedelta(minutes=14))
    assert sign_in("erin", GOOD, ip="203.0.113.99").status_code == 429
    clock.shift(timedelta(minutes=2))
    response = sign_in("erin", GOOD, ip="203.0.113.99")
    assert response.status_code == 302 and response["Location"] == reverse("home")


def test_repeated_failures_from_one_address_lock_that_address(clock, engineer, viewer):
    for attempt in range(5):
        sign_in(f"guess{attempt}", "nope", ip="192.0.2.66")
    assert sign_in("erin", GOOD, ip="192.0.2.66").status_code == 429  # the address, whatever the user
    assert sign_in("vera", GOOD, ip="192.0.2.67").status_code == 302  # another address is fine


def test_failures_and_the_lockout_are_in_the_audit_log(clock, engineer, platform_admin, client_for):
    for attempt in range(5):
        sign_in("erin", "wrong", ip="198.51.100.7")
    sign_in("erin", GOOD, ip="198.51.100.7")

    failed = AuditEvent.objects.filter(action="auth.refused")
    locked = AuditEvent.objects.filter(action="auth.locked_out")
    assert failed.count() >= 5 and locked.count() >= 1
    event = locked.order_by("pk").first()
    assert (event.actor_name, event.object_repr, event.ip_address) == ("anonymous", "erin", "198.51.100.7")
    assert event.details["failure_limit"] == 5 and event.details["cooloff_minutes"] == 15
    assert "password" not in str(event.details)
    html = client_for(platform_admin).get(reverse("audit:list")).content.decode()
    assert "auth.locked_out" in html and "auth.refused" in html


def test_a_success_resets_the_count(clock, engineer):
    for _ in range(4):
        sign_in("erin", "wrong")
    assert sign_in("erin", GOOD).status_code == 302
    for _ in range(4):
        sign_in("erin", "wrong")
    assert sign_in("erin", GOOD).status_code == 302
