"""Entra ID: users from token claims, roles from the `groups` claim through PORTAL_ENTRA_GROUP_ROLES
(re-applied at every sign-in, so leaving a group removes the role), the groups overage through Microsoft
Graph, and Entra access tokens for the API (a JWT checked against the provider's JWKS)."""

import base64
import hashlib
import logging
import time
import uuid
from functools import lru_cache
from pathlib import Path

import jwt
import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone

from portal.accounts.models import EntraIdentity
from portal.accounts.roles import ROLES
from portal.audit.services import audit_record
from portal.core.errors import DomainError

log = logging.getLogger(__name__)


class SignInRefused(DomainError):
    status = 403


class NoMappedGroup(SignInRefused):
    """Signed in at Entra, but in none of the groups the portal maps to a role."""


def entra_configured() -> bool:
    return bool(settings.PORTAL_ENTRA_CLIENT_ID and settings.PORTAL_ENTRA_AUTHORITY)


def roles_for_groups(group_ids) -> set[str]:
    mapping = settings.PORTAL_ENTRA_GROUP_ROLES
    return {mapping[g] for g in group_ids if g in mapping and mapping[g] in ROLES}


def has_groups_overage(claims: dict) -> bool:
    """Too many groups for the token: Entra leaves `groups` out and points at Graph in `_claim_names`."""
    return "groups" not in claims and "groups" in (claims.get("_claim_names") or {})


def graph_member_groups(*, access_token: str) -> list[str]:
    """The signed-in user's groups (transitive) from Microsoft Graph: POST /me/getMemberObjects."""
    response = requests.post(f"{settings.PORTAL_ENTRA_GRAPH_URL.rstrip('/')}/v1.0/me/getMemberObjects",
                             json={"securityEnabledOnly": False},
                             headers={"Authorization": f"Bearer {access_token}"}, timeout=10)
    if response.status_code != 200:
        raise SignInRefused(f"Microsoft Graph did not list your groups (HTTP {response.status_code}); "
                            "try again or ask the platform team.")
    return [str(g) for g in response.json().get("value", [])]


def groups_from_claims(claims: dict, *, access_token: str | None) -> list[str]:
    if has_groups_overage(claims):
        if not access_token:
            raise SignInRefused("You are in too many groups for the token, and the portal cannot ask "
                                "Microsoft Graph for them here.")
        return graph_member_groups(access_token=access_token)
    return [str(g) for g in claims.get("groups", [])]


def _unique_username(wanted: str) -> str:
    User = get_user_model()
    base = (wanted or "entra-user")[:140]
    name, n = base, 1
    while User.objects.filter(username=name).exists():
        n += 1
        name = f"{base}-{n}"
    return name


def user_sync_from_claims(*, claims: dict, groups: list[str], request=None, via: str = "sign-in"):
    """Create or update the user whose `oid` this is, and set their roles from their groups.
    Raises NoMappedGroup (after committing the change: any roles are taken away) when no group maps to a role."""
    oid, tenant = str(claims.get("oid") or ""), str(claims.get("tid") or "")
    if not oid:
        raise SignInRefused("The token has no oid claim; the portal cannot tell who you are.")
    if settings.PORTAL_ENTRA_TENANT_ID and tenant != settings.PORTAL_ENTRA_TENANT_ID:
        audit_record(action="auth.refused", object_type="auth.user", object_id=oid, request=request,
                     details={"why": "wrong tenant", "tid": tenant, "via": via})
        raise SignInRefused("Your account belongs to another Entra ID tenant.")
    user, roles = _user_sync(claims=claims, groups=groups, request=request, via=via)
    if not roles:
        raise NoMappedGroup("You signed in with Microsoft, but you are in none of the groups that give a role in "
                            "Peak Portal. Ask the platform team to add you to the Entra ID group for your role.")
    return user


@transaction.atomic
def _user_sync(*, claims: dict, groups: list[str], request, via: str):
    oid = str(claims.get("oid") or "")
    tenant = str(claims.get("tid") or "")
    identity = EntraIdentity.objects.select_related("user").select_for_update().filter(oid=oid).first()
    User = get_user_model()
    username = str(claims.get("preferred_username") or claims.get("email") or oid)[:150]
    if identity is None:
        user = User(username=_unique_username(username))
        user.set_unusable_password()
        user.save()
        identity = EntraIdentity.objects.create(user=user, oid=oid, tenant_id=tenant)
        audit_record(action="auth.user_created", obj=user, actor=user, request=request, details={"oid": oid, "via": via})
    user = identity.user
    full = str(claims.get("name") or "")
    first, _, last = full.partition(" ")
    user.first_name, user.last_name = first[:150], last[:150]
    user.email = str(claims.get("email") or claims.get("preferred_username") or "")[:254]
    user.save(update_fields=["first_name", "last_name", "email"])
    identity.last_sign_in_at = timezone.now()
    identity.last_groups = sorted(groups)
    identity.tenant_id = tenant
    identity.save(update_fields=["last_sign_in_at", "last_groups", "tenant_id"])

    wanted = roles_for_groups(groups)
    current = set(user.groups.filter(name__in=ROLES).values_list("name", flat=True))
    if wanted != current:
        user.groups.remove(*Group.objects.filter(name__in=current - wanted))
        user.groups.add(*Group.objects.filter(name__in=wanted - current))
        audit_record(action="auth.roles_changed", obj=user, actor=user, request=request,
                     details={"added": sorted(wanted - current), "removed": sorted(current - wanted), "via": via})
        for cache in ("_perm_cache", "_user_perm_cache", "_group_perm_cache"):
            user.__dict__.pop(cache, None)
    if not wanted:
        audit_record(action="auth.refused", obj=user, actor=user, request=request,
                     details={"why": "no mapped group", "via": via, "groups": len(groups)})
    return user, wanted


# --- The portal's own credential: a certificate instead of a client secret ---------------------

@lru_cache(maxsize=4)
def _certificate(path: str):
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    pem = Path(path).read_bytes()
    key = serialization.load_pem_private_key(pem, password=None)
    cert = x509.load_pem_x509_certificate(pem)
    der = cert.public_bytes(serialization.Encoding.DER)
    return key, base64.urlsafe_b64encode(hashlib.sha1(der).digest()).rstrip(b"=").decode()  # noqa: S324 (x5t is SHA-1)


def client_assertion(*, audience: str) -> str:
    """A signed JWT proving the portal holds its certificate's private key (RFC 7523, as Entra ID takes it:
    `x5t` names the certificate). PORTAL_ENTRA_CLIENT_CERTIFICATE is a PEM file with the key and the certificate."""
    key, thumbprint = _certificate(settings.PORTAL_ENTRA_CLIENT_CERTIFICATE)
    now = int(time.time())
    claims = {"aud": audience, "iss": settings.PORTAL_ENTRA_CLIENT_ID, "sub": settings.PORTAL_ENTRA_CLIENT_ID,
              "jti": str(uuid.uuid4()), "nbf": now, "iat": now, "exp": now + 300}
    return jwt.encode(claims, key, algorithm="RS256", headers={"x5t": thumbprint})


# --- Entra access tokens for the API ------------------------------------------------------------

_jwks_clients: dict[str, jwt.PyJWKClient] = {}


def _jwks_client() -> jwt.PyJWKClient:
    url = settings.PORTAL_ENTRA_JWKS_URL
    if url not in _jwks_clients:
        _jwks_clients[url] = jwt.PyJWKClient(url, cache_keys=True, lifespan=3600, timeout=10)
    return _jwks_clients[url]


def api_claims_from_jwt(token: str) -> dict:
    """The claims of an Entra access token for the portal's API: signature (JWKS), issuer, audience, expiry."""
    from portal.api.services import TokenRefused

    if not entra_configured() or not settings.PORTAL_ENTRA_JWKS_URL:
        raise TokenRefused("The bearer token was refused: Entra ID is not configured here; use a personal "
                           "access token.")
    try:
        key = _jwks_client().get_signing_key_from_jwt(token)
        return jwt.decode(token, key.key, algorithms=["RS256"], audience=settings.PORTAL_ENTRA_API_AUDIENCES,
                          issuer=settings.PORTAL_ENTRA_ISSUER, options={"require": ["exp", "iss", "aud"]},
                          leeway=30)
    except (jwt.PyJWTError, jwt.PyJWKClientError) as exc:
        raise TokenRefused(f"The bearer token was refused: {exc}.") from exc


def api_principal_from_jwt(*, token: str, request=None):
    from portal.api.services import Principal, TokenRefused

    claims = api_claims_from_jwt(token)
    granted = set(str(claims.get("scp", "")).split()) | set(claims.get("roles", []) or [])
    scopes = set()
    for claim, given in settings.PORTAL_ENTRA_API_SCOPES.items():
        if claim in granted:
            scopes.update(given)
    try:
        user = user_sync_from_claims(claims=claims, groups=groups_from_claims(claims, access_token=None),
                                     request=request, via="api")
    except SignInRefused as exc:
        raise TokenRefused(f"The bearer token was refused: {exc.message}") from exc
    audit_record(action="api.request", obj=user, actor=user, request=request,
                 details={"method": request.method, "path": request.path[:200], "via": "entra"} if request else {})
    return Principal(user=user, scopes=frozenset(scopes), via="entra")
