"""Signing in with a real OpenID Connect provider (node's oidc-provider, tests/oidc/) that issues
Entra-shaped tokens: the authorization code flow with PKCE (the provider requires it), users from oid,
roles from groups, the groups overage through the Graph stand-in, and the no-access page."""

import re

import pytest
import requests

from portal.accounts.models import EntraIdentity
from portal.audit.models import AuditEvent
from tests.oidc.provider import USERS, oidc_provider, point_settings_at

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


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
