"""In real Chromium: while the portal answers 503 (a database outage), a polling run page backs off
quietly, with one notice and no error toasts, and carries on by itself when answers come back.
The 503s are served by Playwright's network interception, standing in for the portal during an outage
(tests/integration/test_production.py stops a real database and checks the server side)."""

import pytest
from playwright.sync_api import expect

from portal.deployments import services
from portal.deployments.models import Deployment

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_polling_page_backs_off_quietly_while_the_portal_answers_503(live_server, page, login, platform,
                                                                       engineer):
    run = services.deployment_request(environment=platform, template="static-web-app", user=engineer,
                                      parameters={})  # no worker here: it stays validating, the page polls
    login(page, engineer.username)
    polls = []
    page.on("request", lambda request: "/progress/" in request.url and polls.append(request.url))
    page.route("**/progress/**", lambda route: route.fulfill(
        status=503, headers={"Retry-After": "4", "Content-Type": "text/html"}, body="<h1>Back in a moment</h1>"))
    page.goto(f"{live_server.url}/deployments/{run.pk}/")

    notice = page.get_by_test_id("outage-notice")
    expect(notice).to_be_visible(timeout=10_000)
    seen = len(polls)
    page.wait_for_timeout(3000)  # every 1 s without the back-off; Retry-After says 4 s
    assert len(polls) - seen <= 1, polls
    expect(page.locator(".toast-error")).to_have_count(0)
    expect(notice).to_have_count(1)

    page.unroute("**/progress/**")
    expect(notice).to_have_count(0, timeout=20_000)  # the first good answer clears it
    expect(page.get_by_test_id("run-status")).to_have_text("Validating")
    expect(page.locator(".toast-error")).to_have_count(0)


def test_a_live_log_catching_up_tries_again_after_a_503(live_server, page, login, platform, engineer, settings):
    """A run's page fetches the lines after its first page at once (hx-trigger "load"): when that one fetch
    meets a 503 it is tried again after the back-off, so the log still reaches its last line, in order."""
    settings.PORTAL_LOG_PAGE_LINES = 10
    run = services.deployment_request(environment=platform, template="static-web-app", user=engineer,
                                      parameters={})  # no worker here: it stays validating, the page polls
    services.deployment_log(run.pk, [("info", f"line {n}") for n in range(1, 26)])
    total = Deployment.objects.get(pk=run.pk).log_seq  # the request's own lines, then these 25
    login(page, engineer.username)
    refused = []

    def outage_then_back(route):
        if "follow=1" in route.request.url and len(refused) < 2:
            refused.append(route.request.url)
            route.fulfill(status=503, headers={"Retry-After": "1", "Content-Type": "text/html"},
                          body="<h1>Back in a moment</h1>")
        else:
            route.continue_()

    page.route("**/progress/**", outage_then_back)
    page.goto(f"{live_server.url}/deployments/{run.pk}/")
    expect(page.locator("#log-lines li")).to_have_count(total, timeout=20_000)
    assert len(refused) == 2 and all("after=10" in url for url in refused), refused
    assert page.locator("#log-lines li").all_inner_texts()[-1].endswith("line 25")
    assert [int(s) for s in page.locator("#log-lines li").evaluate_all("els => els.map(e => e.dataset.seq)")] == \
        list(range(1, total + 1))
    expect(page.get_by_test_id("outage-notice")).to_have_count(0, timeout=10_000)
    expect(page.locator(".toast-error")).to_have_count(0)
