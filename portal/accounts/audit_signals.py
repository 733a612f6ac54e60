from portal.audit.services import audit_record


def _via(request) -> str:
    return "oidc" if request is not None and "oidc" in request.path else "password"


def signed_in(sender, request, user, **kwargs):
    audit_record(action="auth.signed_in", obj=user, actor=user, request=request, details={"via": _via(request)})


def signed_out(sender, request, user, **kwargs):
    if user is not None:
        audit_record(action="auth.signed_out", obj=user, actor=user, request=request)


def sign_in_failed(sender, credentials, request=None, **kwargs):
    audit_record(action="auth.refused", object_type="auth.user", object_id="", request=request,
                 object_repr=str(credentials.get("username", ""))[:200], details={"why": "bad credentials",
                                                                                    "via": "password"})
