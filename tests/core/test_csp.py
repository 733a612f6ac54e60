"""Content-Security-Policy: on every page, with a nonce on each script and stylesheet tag; no template has an inline
handler, style or script left (the browser tests fail on any violation Chromium reports)."""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from tests.core.test_permissions import MATRIX, concrete_kwargs

TEMPLATES = Path(settings.BASE_DIR) / "templates"
INLINE = [
    (re.compile(r"\son[a-z]+\s*=", re.I), "an inline event handler"),
    (re.compile(r"\sstyle\s*=", re.I), "an inline style attribute"),
    (re.compile(r"<style", re.I), "a <style> element"),
    (re.compile(r"javascript:", re.I), "a javascript: URL"),
    (re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I), "an inline <script>"),
    (re.compile(r"\shx-on", re.I), "an hx-on handler (evaluated code)"),
]


def test_no_template_has_inline_scripts_handlers_or_styles():
    found = []
    for path in sorted(TEMPLATES.rglob("*.html")):
        text = path.read_text()
        for pattern, what in INLINE:
            for match in pattern.finditer(text):
                found.append(f"{path.relative_to(TEMPLATES)}: {what}: {match.group(0)!r}")
    assert found == []
    assert len(list(TEMPLATES.rglob("*.html"))) > 30


def test_the_policy_allows_no_inline_code():
    policy = settings.SECURE_CSP
    assert "'unsafe-inline'" not in str(policy) and "'unsafe-eval'" not in str(policy)
    assert policy["object-src"] == ["'none'"] and policy["frame-ancestors"] == ["'none'"]


GET_PAGES = [row for row in MATRIX if row[3] == "get"]


@pytest.mark.parametrize("name,url_name,kwargs,method,allowed", GET_PAGES, ids=[row[0] for row in GET_PAGES])
def test_every_page_sends_the_policy_with_its_nonce(platform, client_for, platform_admin, name, url_name, kwargs,
                                                     method, allowed):
    kwargs = concrete_kwargs(kwargs, platform=platform, requester=platform_admin)
    response = client_for(platform_admin).get(reverse(url_name, kwargs=kwargs))
    assert response.status_code in (200, 302)
    header = response["Content-Security-Policy"]
    assert "default-src 'self'" in header and "object-src 'none'" in header
    html = response.content.decode()
    if response.status_code == 200 and "<html" in html:
        nonce = re.search(r"script-src 'self' 'nonce-([^']+)'", header).group(1)
        scripts = re.findall(r"<script[^>]*\bsrc=[^>]*>", html)
        assert scripts and all(f'nonce="{nonce}"' in tag for tag in scripts)


@pytest.mark.parametrize("url_name", ["login"])
def test_anonymous_pages_send_the_policy(db, client, url_name):
    assert "script-src 'self'" in client.get(reverse(url_name))["Content-Security-Policy"]


def test_the_error_partial_dismisses_without_an_inline_handler(platform, client_for, engineer):
    from django.template.loader import render_to_string

    html = render_to_string("core/_error.html", {"message": "No."})
    assert "data-dismiss" in html and "onclick" not in html
