"""Sign-in backends: passwords (the embedded demo, a break-glass admin; PORTAL_PASSWORD_LOGIN=0 turns
them off except for PORTAL_BREAK_GLASS_USERS) and Entra ID through mozilla-django-oidc."""

import time

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from portal.accounts import entra
from portal.audit.services import audit_record


def password_login_allowed(username: str | None = None) -> bool:
    if settings.PORTAL_PASSWORD_LOGIN:
        return True
    return username is not None and username in settings.PORTAL_BREAK_GLASS_USERS


class PasswordBackend(ModelBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        if not password_login_allowed(username):
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


class EntraBackend(OIDCAuthenticationBackend):
    """The ID token's claims are the user (oid, tid, preferred_username, name, email, groups); roles come from
    the groups through PORTAL_ENTRA_GROUP_ROLES at every sign-in."""

    def verify_claims(self, claims):
        audience = claims.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        problems = []
        if claims.get("iss") != settings.PORTAL_ENTRA_ISSUER:
            problems.append("issuer")
        if settings.PORTAL_ENTRA_CLIENT_ID not in audiences:
            problems.append("audience")
        if int(claims.get("exp", 0)) < time.time() - 30:
            problems.append("expired")
        if not claims.get("oid"):
            problems.append("no oid")
        if problems:
            audit_record(action="auth.refused", object_type="auth.user", object_id=str(claims.get("oid", "")),
                         request=self.request, details={"why": ", ".join(problems), "via": "oidc"})
            return False
        return True

    def get_userinfo(self, access_token, id_token, payload):
        return payload

    def get_or_create_user(self, access_token, id_token, payload):
        if not self.verify_claims(payload):
            return None
        try:
            groups = entra.groups_from_claims(payload, access_token=access_token)
            user = entra.user_sync_from_claims(claims=payload, groups=groups, request=self.request, via="oidc")
        except entra.SignInRefused as exc:
            if not isinstance(exc, entra.NoMappedGroup):  # that one is recorded with the user it names
                audit_record(action="auth.refused", object_type="auth.user", object_id=str(payload.get("oid", "")),
                             request=self.request, details={"why": exc.message, "via": "oidc"})
            self.request.session["entra_refusal"] = exc.message
            return None
        self.request.session.pop("entra_refusal", None)
        return user
