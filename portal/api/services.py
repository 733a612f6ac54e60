"""Personal access tokens: create (the secret is returned once), revoke, and authenticate a request."""

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import timedelta
from functools import lru_cache

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.utils import timezone

from portal.api.choices import TokenScope
from portal.api.models import ApiToken
from portal.audit.services import audit_record
from portal.core.errors import DomainError
from portal.core.sql import column, fetch, table
from provisioning.text import shorten, too_long

TOKEN_NAME_MAX = 100  # ApiToken.name

TOKEN_PREFIX = "pp_"
MAX_TOKEN_DAYS = 365


class TokenRefused(DomainError):
    """The bearer token is not one the portal accepts (unknown, expired, revoked, bad signature)."""

    status = 401


@dataclass(frozen=True)
class Principal:
    """Who calls the API and what this call may do: the user's role permissions, narrowed by scopes."""

    user: object
    scopes: frozenset = field(default_factory=frozenset)
    via: str = "token"                # "token" (personal access token) or "entra" (an Entra access token)
    token: ApiToken | None = None

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes


def token_digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@transaction.atomic
def token_create(*, user, name: str, scopes: list[str], days: int, request=None, now=None) -> tuple[ApiToken, str]:
    """A new token for `user`. Returns the row and the secret, which is never stored or shown again."""
    name = (name or "").strip()
    if not name:
        raise DomainError("Give the token a name saying what it is for.", field="name")
    if len(name) > TOKEN_NAME_MAX:  # refused, never cut
        raise DomainError(too_long(name, TOKEN_NAME_MAX, what="The name"), field="name")
    chosen = sorted(set(scopes))
    unknown = [s for s in chosen if s not in TokenScope.values]
    if unknown or not chosen:
        raise DomainError("Choose at least one scope: read, deploy or approve.", field="scopes")
    if not 1 <= int(days) <= MAX_TOKEN_DAYS:
        raise DomainError(f"A token expires within 1 to {MAX_TOKEN_DAYS} days.", field="days")
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = now or timezone.now()
    token = ApiToken.objects.create(user=user, name=name, prefix=raw[:10], digest=token_digest(raw),
                                    scopes=chosen, expires_at=now + timedelta(days=int(days)))
    audit_record(action="api_token.created", obj=token, actor=user, request=request,
                 details={"scopes": chosen, "expires_at": token.expires_at.isoformat()})
    return token, raw


@transaction.atomic
def token_revoke(*, token: ApiToken, user, request=None) -> ApiToken:
    if token.user_id != user.pk and not user.is_superuser:
        raise DomainError("You can only revoke your own tokens.")
    if not ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now()):
        raise DomainError("This token is already revoked.")
    audit_record(action="api_token.revoked", obj=token, actor=user, request=request)
    return ApiToken.objects.get(pk=token.pk)


def token_authenticate(*, raw: str, request=None) -> Principal:
    """The principal a personal access token stands for. Every use is audited (refusals too) and
    moves the token's last-used time."""
    token = _token_with_user(token_digest(raw)) if raw.startswith(TOKEN_PREFIX) else None
    now = timezone.now()
    refusal = None
    if token is None:
        refusal = "unknown token"
    elif token.is_revoked:
        refusal = "token revoked"
    elif token.is_expired(now):
        refusal = "token expired"
    elif not token.user.is_active:
        refusal = "user inactive"
    details = {"method": request.method, "path": shorten(request.path, 200)} if request is not None else {}
    with transaction.atomic():
        if refusal:
            audit_record(action="api.refused", object_type="api.apitoken",
                         object_id=str(token.pk) if token else "", actor=token.user if token else None,
                         request=request, details={**details, "why": refusal})
        else:
            _token_used(token, now)
            audit_record(action="api.request", obj=token, actor=token.user, request=request, details=details)
    if refusal:
        raise TokenRefused(f"The bearer token was refused: {refusal}.")
    return Principal(user=token.user, scopes=frozenset(token.scopes), via="token", token=token)


# Every API request authenticates (issue #11): its token and user are read, and its last-used time written, by
# statements written once a process (the ORM took longer compiling the token's select_related than PostgreSQL
# took to answer it). The same rows and instances as ApiToken.objects.select_related("user").filter(digest=...).

@lru_cache(maxsize=1)
def _token_sql() -> tuple[str, tuple, tuple]:
    user = get_user_model()
    token_fields, user_fields = tuple(ApiToken._meta.concrete_fields), tuple(user._meta.concrete_fields)
    select = ", ".join([f"t.{column(ApiToken, f.name)}" for f in token_fields]
                       + [f"u.{column(user, f.name)}" for f in user_fields])
    sql = (f"SELECT {select} FROM {table(ApiToken)} t INNER JOIN {table(user)} u"
           f" ON u.{column(user, 'id')} = t.{column(ApiToken, 'user')} WHERE t.{column(ApiToken, 'digest')} = %s")
    return sql, token_fields, user_fields


def _token_with_user(digest: str) -> ApiToken | None:
    """The token of this digest (unique), its user read with it; None when there is none."""
    sql, token_fields, user_fields = _token_sql()
    rows = fetch(sql, [digest], (*token_fields, *user_fields))
    if not rows:
        return None
    row, n = rows[0], len(token_fields)
    token = ApiToken.from_db(connection.alias, [f.attname for f in token_fields], row[:n])
    user = get_user_model().from_db(connection.alias, [f.attname for f in user_fields], row[n:])
    ApiToken.user.field.set_cached_value(token, user)
    return token


@lru_cache(maxsize=1)
def _token_used_sql() -> str:
    return (f"UPDATE {table(ApiToken)} SET {column(ApiToken, 'last_used_at')} = %s"
            f" WHERE {column(ApiToken, 'id')} = %s")


def _token_used(token: ApiToken, now) -> None:
    """ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)."""
    value = ApiToken._meta.get_field("last_used_at").get_db_prep_value(now, connection)
    with connection.cursor() as cursor:
        cursor.execute(_token_used_sql(), [value, token.pk])
