"""Signing in with a real OpenID Connect provider (node's oidc-provider, tests/oidc/) that issues
Entra-shaped tokens: the authorization code flow with PKCE (the provider requires it), users from oid,
roles from groups, the groups overage through the Graph stand-in, and the no-access page."""

import re

import pytest
import requests

from portal.accounts.models import EntraIdentity
from portal.audit.models import AuditEvent
from tests.oidc.provider import USERS, oidc_provider, point_settings_at

# real_clock: the OpenID Connect provider (node) signs tokens with the real clock.
pytestmark = [pytest.mark.slow, pytest.mark.real_clock, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def provider(live_server, settings, role_groups):
    with oidc_provider(f"{live_server.url}/accounts/entra/callback/") as issuer:
        point_settings_at(settings, issuer)
        yield issuer


def sign_in(live_server, login):
    """The browser's part, with requests: the portal sends us to the provider, we sign in on its login
    form, it sends us back with a code, the portal exchanges it (with the PKCE verifier)."""
    session = requests.Session()
    page = session.get(f"{live_server.url}/accounts/entra/authenticate/", timeout=20)
    assert page.status_code == 200 and 'name="login"' in page.text, page.text[:500]
    assert "code_challenge=" in page.history[0].headers["Location"]
    action = re.search(r'<form[^>]*action="([^"]+)"', page.text).group(1)
    final = session.post(requests.compat.urljoin(page.url, action), data={"login": login, "password": "any",
                                                                          "prompt": "login"}, timeout=20)
    return session, final


def test_engineer_signs_in_with_the_role_of_their_group(provider, live_server):
    session, final = sign_in(live_server, "erin@contoso.example")
    assert final.url == f"{live_server.url}/", final.url
    assert "Erin Engineer" in final.text and "Engineer" in final.text
    identity = EntraIdentity.objects.select_related("user").get(oid=USERS["erin@contoso.example"]["oid"])
    assert identity.user.username == "erin@contoso.example"
    assert sorted(identity.user.groups.values_list("name", flat=True)) == ["Engineer"]
    assert AuditEvent.objects.filter(action="auth.signed_in", actor=identity.user, details__via="oidc").exists()


def test_groups_overage_reads_graph(provider, live_server):
    _, final = sign_in(live_server, "olga@contoso.example")
    assert final.url == f"{live_server.url}/"
    user = EntraIdentity.objects.get(oid=USERS["olga@contoso.example"]["oid"]).user
    assert sorted(user.groups.values_list("name", flat=True)) == ["Approver"]


def test_no_mapped_group_gets_the_no_access_page(provider, live_server):
    _, final = sign_in(live_server, "nina@contoso.example")
    assert final.status_code == 403 and final.url.endswith("/accounts/entra/no-access/")
    assert "none of the groups that give a role" in final.text
    assert AuditEvent.objects.filter(action="auth.refused", details__why="no mapped group").exists()
    assert not AuditEvent.objects.filter(action="auth.signed_in").exists()


@pytest.fixture
def certificate(tmp_path):
    """A self-signed certificate and its key in one PEM file, and its public key as a JWKS."""
    from datetime import datetime, timedelta, timezone as dt_timezone

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID
    from jwt.algorithms import RSAAlgorithm

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "peak-portal-tests")])
    now = datetime.now(dt_timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=1)).sign(key, hashes.SHA256()))
    path = tmp_path / "portal.pem"
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()) + cert.public_bytes(serialization.Encoding.PEM))
    jwk = RSAAlgorithm.to_jwk(key.public_key(), as_dict=True) | {"use": "sig", "alg": "RS256"}
    return path, {"keys": [jwk]}


def test_the_portal_can_prove_itself_with_a_certificate_instead_of_a_secret(live_server, settings, role_groups,
                                                                            certificate):
    from portal.accounts import entra

    path, jwks = certificate
    entra._certificate.cache_clear()
    with oidc_provider(f"{live_server.url}/accounts/entra/callback/", token_endpoint_auth_method="private_key_jwt",
                       token_endpoint_auth_signing_alg="RS256", jwks=jwks) as issuer:
        point_settings_at(settings, issuer)
        settings.PORTAL_ENTRA_CLIENT_SECRET = settings.OIDC_RP_CLIENT_SECRET = ""
        settings.PORTAL_ENTRA_CLIENT_CERTIFICATE = str(path)
        _, final = sign_in(live_server, "ada@contoso.example")
    assert final.url == f"{live_server.url}/", final.url
    assert EntraIdentity.objects.get(oid=USERS["ada@contoso.example"]["oid"]).user.groups.get().name == "Approver"


def test_a_certificate_the_provider_does_not_know_is_refused(live_server, settings, role_groups, certificate):
    from portal.accounts import entra

    path, _ = certificate
    other_jwks = certificate_jwks_of_another_key()
    entra._certificate.cache_clear()
    with oidc_provider(f"{live_server.url}/accounts/entra/callback/", token_endpoint_auth_method="private_key_jwt",
                       token_endpoint_auth_signing_alg="RS256", jwks=other_jwks) as issuer:
        point_settings_at(settings, issuer)
        settings.PORTAL_ENTRA_CLIENT_SECRET = settings.OIDC_RP_CLIENT_SECRET = ""
        settings.PORTAL_ENTRA_CLIENT_CERTIFICATE = str(path)
        _, final = sign_in(live_server, "ada@contoso.example")
    assert final.status_code == 403 and final.url == f"{live_server.url}/accounts/entra/no-access/"
    assert "Microsoft did not complete the sign-in" in final.text
    assert not EntraIdentity.objects.exists()
    assert AuditEvent.objects.filter(action="auth.refused", details__why="token endpoint: HTTP 401").exists()


def certificate_jwks_of_another_key() -> dict:
    from cryptography.hazmat.primitives.asymmetric import rsa
    from jwt.algorithms import RSAAlgorithm

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return {"keys": [RSAAlgorithm.to_jwk(key.public_key(), as_dict=True) | {"use": "sig", "alg": "RS256"}]}
