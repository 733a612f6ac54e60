"""Production static files: `collectstatic` with the manifest storage passes, and pages render with it."""

import json
import re

import pytest
from django.contrib.staticfiles import finders
from django.urls import reverse

from tests.core.test_settings import manage

PRODUCTION_ENV = {
    "PORTAL_MODE": "production", "ALLOWED_HOSTS": "portal.example.com",
    "SECRET_KEY": "kq8-3vP_uYw2s9ZtL0xR7mJb4nHc6dEa1fGi5oKp8qWs2Xv-Yz3Au7Bc9De1Fg4Hj6",
}
SOURCE_MAP = re.compile(r"sourceMappingURL=([^\s*]+)")

TOP_LEVEL_PAGES = ["login", "home", "catalog:agent_list", "deployments:list", "deployments:approvals",
                   "health:overview", "access:overview", "costs:dashboard", "costs:showback", "audit:list", "system"]


def test_every_source_map_a_static_file_names_is_vendored(settings):
    """ManifestStaticFilesStorage follows sourceMappingURL comments and fails on a missing map."""
    checked = 0
    for directory in settings.STATICFILES_DIRS:
        for path in directory.rglob("*"):
            if path.suffix not in {".js", ".css"}:
                continue
            checked += 1
            for target in SOURCE_MAP.findall(path.read_text(errors="replace")):
                assert (path.parent / target).exists(), f"{path.name} names {target}, which is not vendored"
    assert checked >= 4


@pytest.fixture(scope="module")
def collected(tmp_path_factory):
    """`manage.py collectstatic` exactly as production runs it, into a directory of the test's own."""
    var_dir = tmp_path_factory.mktemp("var")
    static_root = tmp_path_factory.mktemp("staticfiles")
    result = manage("collectstatic", "--noinput", env_extra={**PRODUCTION_ENV, "STATIC_ROOT": str(static_root)},
                    tmp_path=var_dir)
    assert result.returncode == 0, result.stdout + result.stderr
    return static_root


def test_collectstatic_passes_in_production_mode(collected):
    manifest = json.loads((collected / "staticfiles.json").read_text())
    chart = manifest["paths"]["vendor/chart-4.6.1.umd.min.js"]
    assert re.fullmatch(r"vendor/chart-4\.6\.1\.umd\.min\.[0-9a-f]{12}\.js", chart)
    assert (collected / chart).exists()
    assert "css/portal.css" in manifest["paths"] and "js/portal.js" in manifest["paths"]


@pytest.mark.parametrize("url_name", TOP_LEVEL_PAGES)
def test_pages_render_with_the_manifest_storage(collected, settings, platform, platform_admin, client_for, url_name):
    settings.STATIC_ROOT = collected
    settings.STORAGES = {**settings.STORAGES,
                         "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"}}
    settings.DEBUG = False
    client = client_for(None if url_name == "login" else platform_admin)
    response = client.get(reverse(url_name))
    assert response.status_code == 200
    html = response.content.decode()
    hashed = re.search(r'/static/css/portal\.([0-9a-f]{12})\.css', html)
    assert hashed, "the page links the hashed stylesheet of the manifest"
    assert finders.find("css/portal.css")
