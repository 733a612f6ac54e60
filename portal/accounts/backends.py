"""Sign-in backends: passwords (the embedded demo, a break-glass admin; PORTAL_PASSWORD_LOGIN=0 turns
them off except for PORTAL_BREAK_GLASS_USERS) and Entra ID through mozilla-django-oidc."""

import logging
import time

import requests
from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from portal.accounts import entra
from portal.audit.services import audit_record

log = logging.getLogger(__name__)


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

    def authenticate(self, request, **kwargs):
        try:
            return super().authenticate(request, **kwargs)
        except requests.RequestException as exc:
            # The provider refused the code or the portal's credential, or could not be reached.
            status = getattr(exc.response, "status_code", None)
            log.warning("Entra ID sign-in failed at the token endpoint: %s", exc)
            audit_record(action="auth.refused", object_type="auth.user", request=request,
                         details={"why": f"token endpoint: HTTP {status}" if status else "token endpoint unreachable",
                                  "via": "oidc"})
            request.session["entra_refusal"] = ("Microsoft did not complete the sign-in (the portal could not "
                                                "redeem the sign-in code). Try again; if it keeps failing, tell "
                                                "the platform team.")
            return None

    def get_token(self, payload):
        """The code for tokens: with a client secret, or with a certificate (a signed client assertion)."""
        if settings.PORTAL_ENTRA_CLIENT_CERTIFICATE:
            payload = {k: v for k, v in payload.items() if k != "client_secret"}
            payload["client_assertion_type"] = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
            payload["client_assertion"] = entra.client_assertion(audience=self.OIDC_OP_TOKEN_ENDPOINT)
        return super().get_token(payload)

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
