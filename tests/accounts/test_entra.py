"""Users and roles from Entra ID claims: groups to roles (re-applied at every sign-in), the groups
overage through a Graph stand-in, no mapped group, wrong tenant; Entra access tokens for the API."""

import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from django.contrib.auth import get_user_model
from django.test import Client
from jwt.algorithms import RSAAlgorithm

from portal.accounts import entra
from portal.accounts.models import EntraIdentity
from portal.audit.models import AuditEvent
from tests.accounts.stand_ins import JsonServer

pytestmark = pytest.mark.django_db
TENANT = "11111111-1111-1111-1111-111111111111"
ENGINEERS, APPROVERS, OTHERS = "aaaa-engineers", "bbbb-approvers", "cccc-unmapped"


@pytest.fixture(autouse=True)
def entra_settings(settings, role_groups):
    settings.PORTAL_ENTRA_TENANT_ID = TENANT
    settings.PORTAL_ENTRA_CLIENT_ID = "portal-client"
    settings.PORTAL_ENTRA_GROUP_ROLES = {ENGINEERS: "Engineer", APPROVERS: "Approver"}
    return settings


def claims(oid="oid-erin", **extra):
    return {"oid": oid, "tid": TENANT, "preferred_username": "erin@contoso.example", "name": "Erin Example",
            "email": "erin@contoso.example", **extra}


def roles_of(user):
    return sorted(user.groups.values_list("name", flat=True))


def test_first_sign_in_creates_the_user_with_the_role_of_their_group():
    user = entra.user_sync_from_claims(claims=claims(), groups=[ENGINEERS, OTHERS])
    assert user.username == "erin@contoso.example" and user.email == "erin@contoso.example"
    assert (user.first_name, user.last_name) == ("Erin", "Example")
    assert not user.has_usable_password()
    assert roles_of(user) == ["Engineer"]
    assert EntraIdentity.objects.get(user=user).oid == "oid-erin"
    change = AuditEvent.objects.get(action="auth.roles_changed")
    assert change.details == {"added": ["Engineer"], "removed": [], "via": "sign-in"}


def test_roles_are_re_applied_at_every_sign_in_and_oid_is_the_key():
    first = entra.user_sync_from_claims(claims=claims(), groups=[ENGINEERS])
    renamed = claims(preferred_username="erin.new@contoso.example", name="Erin Renamed")
    again = entra.user_sync_from_claims(claims=renamed, groups=[APPROVERS])
    assert again.pk == first.pk and get_user_model().objects.count() == 1
    assert again.first_name == "Erin" and again.last_name == "Renamed"
    assert roles_of(again) == ["Approver"]
    last = AuditEvent.objects.filter(action="auth.roles_changed").first()
    assert last.details["added"] == ["Approver"] and last.details["removed"] == ["Engineer"]


def test_no_mapped_group_gives_no_access_and_takes_roles_away():
    user = entra.user_sync_from_claims(claims=claims(), groups=[ENGINEERS])
    with pytest.raises(entra.NoMappedGroup, match="none of the groups"):
        entra.user_sync_from_claims(claims=claims(), groups=[OTHERS])
    user.refresh_from_db()
    assert roles_of(user) == []  # removed from the group at Entra: the role is gone, committed
    assert AuditEvent.objects.filter(action="auth.refused", details__why="no mapped group").exists()


def test_another_tenant_is_refused():
    with pytest.raises(entra.SignInRefused, match="another Entra ID tenant"):
        entra.user_sync_from_claims(claims=claims(tid="22222222-0000-0000-0000-000000000000"), groups=[ENGINEERS])
    assert not get_user_model().objects.exists()
    assert AuditEvent.objects.filter(action="auth.refused", details__why="wrong tenant").exists()


def test_groups_overage_reads_the_groups_from_graph(settings):
    overage = claims(_claim_names={"groups": "src1"},
                     _claim_sources={"src1": {"endpoint": "https://graph.windows.net/x/users/y/getMemberObjects"}})
    assert entra.has_groups_overage(overage)
    with JsonServer() as graph:
        graph.routes["/v1.0/me/getMemberObjects"] = (200, {"value": [OTHERS, APPROVERS]})
        settings.PORTAL_ENTRA_GRAPH_URL = graph.url
        groups = entra.groups_from_claims(overage, access_token="access-token-1")
    assert groups == [OTHERS, APPROVERS]
    assert graph.requests == [{"method": "POST", "path": "/v1.0/me/getMemberObjects",
                               "authorization": "Bearer access-token-1", "body": {"securityEnabledOnly": False}}]
    user = entra.user_sync_from_claims(claims=overage, groups=groups)
    assert roles_of(user) == ["Approver"]


def test_graph_refusing_is_a_refusal_not_an_error(settings):
    overage = claims(_claim_names={"groups": "src1"})
    with JsonServer() as graph:
        graph.routes["/v1.0/me/getMemberObjects"] = (403, {"error": {"code": "Authorization_RequestDenied"}})
        settings.PORTAL_ENTRA_GRAPH_URL = graph.url
        with pytest.raises(entra.SignInRefused, match="HTTP 403"):
            entra.groups_from_claims(overage, access_token="t")


# --- Entra access tokens for the API ------------------------------------------------------------

@pytest.fixture
def signing_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def jwks(settings, signing_key):
    jwk = RSAAlgorithm.to_jwk(signing_key.public_key(), as_dict=True) | {"kid": "key-1", "use": "sig", "alg": "RS256"}
    with JsonServer() as server:
        server.routes["/keys"] = (200, {"keys": [jwk]})
        settings.PORTAL_ENTRA_AUTHORITY = f"https://login.microsoftonline.com/{TENANT}/v2.0"
        settings.PORTAL_ENTRA_ISSUER = settings.PORTAL_ENTRA_AUTHORITY
        settings.PORTAL_ENTRA_JWKS_URL = f"{server.url}/keys"
        settings.PORTAL_ENTRA_API_AUDIENCES = ["api://portal-client"]
        yield server


def access_token(key, *, aud="api://portal-client", exp_in=3600, **extra):
    now = int(time.time())
    payload = {"iss": f"https://login.microsoftonline.com/{TENANT}/v2.0", "aud": aud, "iat": now, "nbf": now,
               "exp": now + exp_in, **claims(), **extra}
    return jwt.encode(payload, key, algorithm="RS256", headers={"kid": "key-1"})


def call_me(token):
    return Client().get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {token}")


def test_entra_access_token_is_accepted_with_roles_from_groups(jwks, signing_key):
    response = call_me(access_token(signing_key, groups=[ENGINEERS], scp="Portal.Deploy"))
    assert response.status_code == 200, response.content
    body = response.json()
    assert body == {"username": "erin@contoso.example", "name": "Erin Example", "email": "erin@contoso.example",
                    "roles": ["Engineer"], "scopes": ["deploy", "read"], "via": "entra"}
    assert AuditEvent.objects.filter(action="api.request", details__via="entra").exists()


def test_entra_access_token_without_a_portal_scope_cannot_read(jwks, signing_key):
    response = Client().get("/api/v1/environments",
                            HTTP_AUTHORIZATION=f"Bearer {access_token(signing_key, groups=[ENGINEERS])}")
    assert response.status_code == 403 and "read scope" in response.json()["detail"]


@pytest.mark.parametrize("bad", [{"aud": "api://someone-else"}, {"exp_in": -120}, {"groups": [OTHERS]},
                                 {"tid": "22222222-0000-0000-0000-000000000000"}])
def test_entra_access_tokens_that_are_refused(jwks, signing_key, bad):
    response = call_me(access_token(signing_key, **{"groups": [ENGINEERS], "scp": "Portal.Read", **bad}))
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"


def test_a_token_signed_by_another_key_is_refused(jwks):
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    response = call_me(access_token(other, groups=[ENGINEERS], scp="Portal.Read"))
    assert response.status_code == 401 and "Signature" in response.json()["detail"]


@pytest.mark.parametrize("bad, why", [({"iss": "https://evil.example/v2.0"}, "issuer"),
                                      ({"aud": "someone-else"}, "audience"),
                                      ({"exp": 1_000_000}, "expired"),
                                      ({"oid": ""}, "no oid")])
def test_id_tokens_with_wrong_issuer_audience_expiry_or_no_oid_are_refused(settings, rf, bad, why):
    from django.contrib.auth.models import AnonymousUser

    from portal.accounts.backends import EntraBackend

    settings.PORTAL_ENTRA_ISSUER = f"https://login.microsoftonline.com/{TENANT}/v2.0"
    backend = EntraBackend()
    backend.request = rf.get("/accounts/entra/callback/")
    backend.request.user = AnonymousUser()
    good = {"iss": settings.PORTAL_ENTRA_ISSUER, "aud": "portal-client", "exp": int(time.time()) + 600, **claims()}
    assert backend.verify_claims(good) is True
    assert backend.verify_claims({**good, **bad}) is False
    assert AuditEvent.objects.get(action="auth.refused").details == {"why": why, "via": "oidc"}
