"""Telling people: email through Django's mailer, and an optional chat webhook per environment.

Sent from a Celery task after the decision has committed, so a failure to notify is logged and
recorded, and never blocks or undoes what it reports.
"""

import json
import logging
import urllib.request

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail

from portal.audit.services import audit_record
from portal.core.outbox import enqueue
from provisioning.text import shorten

log = logging.getLogger(__name__)
WEBHOOK_TIMEOUT_SECONDS = 5


def absolute(path: str) -> str:
    return settings.PORTAL_BASE_URL.rstrip("/") + path


def notification_queue(*, subject: str, body: str, recipients: list[str], webhook_url: str = "",
                       about: str = "") -> None:
    """Send after the current transaction commits (a Celery task)."""
    payload = {"subject": subject, "body": body, "recipients": sorted(set(filter(None, recipients))),
               "webhook_url": webhook_url, "about": about}
    enqueue("portal.deployments.tasks.send_notification", payload)


def notification_send(*, subject: str, body: str, recipients: list[str], webhook_url: str = "",
                      about: str = "") -> dict:
    """Send and audit. Returns what went out; failures are logged and audited, never raised."""
    outcome = notification_deliver(subject=subject, body=body, recipients=recipients, webhook_url=webhook_url)
    notification_audit(subject=subject, body=body, recipients=recipients, about=about, outcome=outcome)
    return outcome


def notification_deliver(*, subject: str, body: str, recipients: list[str], webhook_url: str = "",
                         about: str = "") -> dict:
    """Email and webhook, no database: what went out, failures logged, never raised."""
    outcome = {"email": None, "webhook": None}
    if recipients:
        try:
            send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, recipients)
            outcome["email"] = "sent"
        except Exception as exc:  # any mail failure: record it, never block the decision
            log.warning("email %r failed: %s", subject, exc)
            outcome["email"] = f"failed: {type(exc).__name__}: {exc}"
    if webhook_url:
        try:
            request = urllib.request.Request(webhook_url, data=json.dumps({"text": f"{subject}\n{body}"}).encode(),
                                             headers={"Content-Type": "application/json"}, method="POST")
            with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT_SECONDS) as response:
                outcome["webhook"] = f"sent ({response.status})"
        except Exception as exc:  # network, HTTP error, bad URL: record it, never block
            log.warning("webhook for %r failed: %s", subject, exc)
            outcome["webhook"] = f"failed: {type(exc).__name__}: {exc}"
    return outcome


def notification_audit(*, subject: str, recipients: list[str], outcome: dict, about: str = "", **_) -> None:
    failed = any(v and v.startswith("failed") for v in outcome.values())
    audit_record(action="notification.failed" if failed else "notification.sent", object_type="notification",
                 object_repr=shorten(subject, 200), details={"about": about, "recipients": recipients, **outcome})
    return outcome


def approver_emails(approval) -> list[str]:
    users = get_user_model().objects.filter(is_active=True).exclude(email="")
    if approval.approver_group_id:
        users = users.filter(groups=approval.approver_group_id)
    else:
        users = users.filter(groups__permissions__codename="decide_approvalrequest")
    if approval.requested_by_id:
        users = users.exclude(pk=approval.requested_by_id)
    return sorted(set(users.values_list("email", flat=True)))
