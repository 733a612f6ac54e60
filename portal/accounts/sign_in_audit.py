"""Failed sign-ins and lockouts (django-axes) in the audit log. Django and axes announce them only as signals,
so these receivers are the one place they are recorded (connected in AccountsConfig.ready)."""

from django.conf import settings
from django.contrib.auth import get_user_model

from portal.audit.services import audit_record


def _record(action: str, *, username: str, request, **details) -> None:
    username = (username or "")[:150]
    user = get_user_model().objects.filter(username=username).only("pk").first() if username else None
    audit_record(action=action, request=request, object_type="auth.user", object_id=str(user.pk) if user else "",
                 object_repr=username, actor_name="anonymous", details={"username": username, **details})


def on_login_failed(sender, credentials, request=None, **kwargs):
    if request is None:
        return
    username = credentials.get("username") or ""
    if getattr(request, "axes_locked_out", False):
        return  # recorded as auth.locked_out
    _record("auth.login_failed", username=username, request=request)


def on_locked_out(sender, request=None, username=None, ip_address=None, **kwargs):
    if request is None:
        return
    _record("auth.locked_out", username=username or "", request=request,
            cooloff_minutes=settings.AXES_COOLOFF_TIME.total_seconds() / 60 if settings.AXES_COOLOFF_TIME else None,
            failure_limit=settings.AXES_FAILURE_LIMIT)
