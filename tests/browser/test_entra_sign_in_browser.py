"""In real Chromium: "Sign in with Microsoft" through a real OpenID Connect provider (node's oidc-provider
issuing Entra-shaped tokens, tests/oidc/), as an engineer and as an approver, each seeing the navigation
of the role their Entra ID group gives."""

import pytest
from playwright.sync_api import expect

from tests.oidc.provider import oidc_provider, point_settings_at

# real_clock: the OpenID Connect provider (node) signs tokens with the real clock.
pytestmark = [pytest.mark.browser, pytest.mark.real_clock, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def provider(live_server, settings, role_groups):
    with oidc_provider(f"{live_server.url}/accounts/entra/callback/") as issuer:
        point_settings_at(settings, issuer)
        yield issuer


def sign_in_with_microsoft(page, live_server, login):
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_role("link", name="Sign in with Microsoft").click()
    page.locator("input[name=login]").fill(login)
    page.locator("input[name=password]").fill("any password")
    page.get_by_role("button", name="Sign-in").click()
    page.wait_for_url(f"{live_server.url}/")


def test_engineer_signs_in_with_microsoft_and_sees_the_engineers_navigation(provider, live_server, page):
    sign_in_with_microsoft(page, live_server, "erin@contoso.example")
    expect(page.locator(".whoami")).to_contain_text("Erin Engineer · Engineer")
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Onboard an agent")).to_be_visible()
    expect(nav.get_by_role("link", name="Deployments")).to_be_visible()
    expect(page.get_by_test_id("approval-count")).to_have_count(0)  # only people who decide see the count


def test_approver_signs_in_with_microsoft_and_sees_the_approvers_navigation(provider, live_server, page):
    sign_in_with_microsoft(page, live_server, "ada@contoso.example")
    expect(page.locator(".whoami")).to_contain_text("Ada Approver · Approver")
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Approvals")).to_be_visible()
    expect(nav.get_by_role("link", name="Onboard an agent")).to_have_count(0)
    expect(page.get_by_test_id("approval-count")).to_have_text("0")
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("link", name="Sign in with Microsoft")).to_be_visible()
