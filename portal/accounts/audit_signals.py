from portal.audit.services import audit_record
from provisioning.text import shorten


def signed_in(sender, request, user, **kwargs):
    via = "oidc" if getattr(user, "backend", "").endswith("EntraBackend") else "password"
    audit_record(action="auth.signed_in", obj=user, actor=user, request=request, details={"via": via})


def signed_out(sender, request, user, **kwargs):
    if user is not None:
        audit_record(action="auth.signed_out", obj=user, actor=user, request=request)


def sign_in_failed(sender, credentials, request=None, **kwargs):
    audit_record(action="auth.refused", object_type="auth.user", object_id="", request=request,
                 object_repr=shorten(str(credentials.get("username", "")), 200), details={"why": "bad credentials",
                                                                                    "via": "password"})
