"""Start tests/oidc/server.mjs (node's oidc-provider) on 127.0.0.1 and point the portal's settings at it."""

import json
import os
import shutil
import subprocess
from contextlib import contextmanager
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
CLIENT_ID = "5f1d3a4e-peak-portal-tests"
CLIENT_SECRET = "test-secret-not-used-elsewhere"
ENGINEERS, APPROVERS = "9a1b0c2d-0000-4000-8000-00000000e001", "9a1b0c2d-0000-4000-8000-00000000a001"
UNMAPPED = "9a1b0c2d-0000-4000-8000-00000000f001"
USERS = {
    "erin@contoso.example": {"oid": "00000000-0000-0000-0000-0000000e0001", "tid": TENANT, "name": "Erin Engineer",
                             "email": "erin@contoso.example", "groups": [ENGINEERS, UNMAPPED]},
    "ada@contoso.example": {"oid": "00000000-0000-0000-0000-0000000a0001", "tid": TENANT, "name": "Ada Approver",
                            "email": "ada@contoso.example", "groups": [APPROVERS]},
    "olga@contoso.example": {"oid": "00000000-0000-0000-0000-0000000b0001", "tid": TENANT, "name": "Olga Overage",
                             "email": "olga@contoso.example", "groups": [UNMAPPED, APPROVERS], "overage": True},
    "nina@contoso.example": {"oid": "00000000-0000-0000-0000-0000000c0001", "tid": TENANT, "name": "Nina Nogroup",
                             "email": "nina@contoso.example", "groups": [UNMAPPED]},
}


def node_ready() -> str | None:
    """Why the provider cannot start here, or None."""
    if shutil.which("node") is None:
        return "node is not installed"
    if not (HERE / "node_modules" / "oidc-provider").is_dir():
        return "tests/oidc/node_modules is missing (make test runs `npm ci` there)"
    return None


@contextmanager
def oidc_provider(redirect_uri: str, **client):
    """`client` adds to the portal's client registration, e.g. token_endpoint_auth_method and jwks."""
    problem = node_ready()
    if problem:
        if os.environ.get("PORTAL_REQUIRE_BROWSER"):
            pytest.fail(f"The OpenID Connect provider is required: {problem}")
        pytest.skip(problem)
    env = {**os.environ, "PORT": "0", "OIDC_USERS": json.dumps(USERS), "NODE_NO_WARNINGS": "1",
           "OIDC_CLIENTS": json.dumps([{"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
                                        "redirect_uris": [redirect_uri], **client}])}
    process = subprocess.Popen(["node", str(HERE / "server.mjs")], env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True)
    try:
        line = process.stdout.readline()
        if not line.startswith("READY "):
            raise RuntimeError(f"the OpenID Connect provider did not start: {line!r}")
        yield line.split()[1]
    finally:
        process.terminate()
        process.wait(timeout=10)


def point_settings_at(settings, issuer: str) -> None:
    settings.PORTAL_ENTRA_TENANT_ID = TENANT
    settings.PORTAL_ENTRA_CLIENT_ID = settings.OIDC_RP_CLIENT_ID = CLIENT_ID
    settings.PORTAL_ENTRA_CLIENT_SECRET = settings.OIDC_RP_CLIENT_SECRET = CLIENT_SECRET
    settings.PORTAL_ENTRA_AUTHORITY = settings.PORTAL_ENTRA_ISSUER = issuer
    settings.OIDC_OP_AUTHORIZATION_ENDPOINT = f"{issuer}/auth"
    settings.OIDC_OP_TOKEN_ENDPOINT = f"{issuer}/token"
    settings.OIDC_OP_JWKS_ENDPOINT = settings.PORTAL_ENTRA_JWKS_URL = f"{issuer}/jwks"
    settings.PORTAL_ENTRA_GRAPH_URL = f"{issuer}/graph"
    settings.PORTAL_ENTRA_GROUP_ROLES = {ENGINEERS: "Engineer", APPROVERS: "Approver"}
