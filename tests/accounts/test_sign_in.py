"""The sign-in page: Microsoft when configured, passwords switchable off (break-glass kept), and the
audit of sign-in, sign-out and refusals."""

from datetime import datetime, timedelta
from datetime import timezone as dt_timezone

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from portal.audit.models import AuditEvent

pytestmark = pytest.mark.django_db


def sign_in(username, password="pw-for-tests-1"):
    client = Client()
    response = client.post(reverse("login"), {"username": username, "password": password})
    return client, response


def test_password_sign_in_and_out_are_audited(engineer):
    client, response = sign_in("erin")
    assert response.status_code == 302
    assert AuditEvent.objects.filter(action="auth.signed_in", actor=engineer, details__via="password").exists()
    client.post(reverse("logout"))
    assert AuditEvent.objects.filter(action="auth.signed_out", actor=engineer).exists()


def test_failed_password_sign_in_is_audited(engineer):
    _, response = sign_in("erin", "wrong")
    assert response.status_code == 200
    refusal = AuditEvent.objects.get(action="auth.refused")
    assert refusal.object_repr == "erin" and refusal.details["why"] == "bad credentials"


def test_password_sign_in_switched_off_refuses_all_but_break_glass(engineer, platform_admin, settings):
    settings.PORTAL_PASSWORD_LOGIN = False
    settings.PORTAL_BREAK_GLASS_USERS = ["pat"]
    _, refused = sign_in("erin")
    assert refused.status_code == 200
    assert "Password sign-in is switched off here" in refused.content.decode()
    _, allowed = sign_in("pat")
    assert allowed.status_code == 302


def test_sign_in_page_offers_microsoft_only_when_configured(settings, db):
    settings.PORTAL_ENTRA_CLIENT_ID = ""
    assert "Sign in with Microsoft" not in Client().get(reverse("login")).content.decode()
    settings.PORTAL_ENTRA_CLIENT_ID = "portal-client"
    settings.PORTAL_ENTRA_AUTHORITY = "https://login.microsoftonline.com/t/v2.0"
    page = Client().get(reverse("login")).content.decode()
    assert "Sign in with Microsoft" in page and reverse("oidc_authentication_init") in page


def test_sessions_end_at_the_maximum_age_after_sign_in_however_active(engineer, settings):
    settings.SESSION_COOKIE_AGE = 3600
    start = datetime(2026, 11, 20, 9, 0, tzinfo=dt_timezone.utc)
    with time_machine.travel(start, tick=False):
        client, _ = sign_in("erin")
        assert client.session.get_expiry_date() == start + timedelta(hours=1)
    with time_machine.travel(start + timedelta(minutes=59), tick=False):
        assert client.get(reverse("home")).status_code == 200
        session = client.session
        session["touched"] = True  # a change to the session does not push the end back
        session.save()
        assert client.session.get_expiry_date() == start + timedelta(hours=1)
    with time_machine.travel(start + timedelta(minutes=61), tick=False):
        response = client.get(reverse("home"))
    assert response.status_code == 302 and reverse("login") in response["Location"]


def test_no_access_page_says_why(client):
    session = client.session
    session["entra_refusal"] = "You are in none of the groups that give a role in Peak Portal."
    session.save()
    response = client.get(reverse("entra_no_access"))
    assert response.status_code == 403
    assert "none of the groups" in response.content.decode()
