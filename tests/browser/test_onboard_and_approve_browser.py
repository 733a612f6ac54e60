"""In real Chromium, two people: the engineer onboards an agent, it deploys to dev, the engineer promotes
it through staging to prod; the approver, in a second browser context, finds it in the inbox and
approves it; the engineer sees the prod deployment run and succeed. A real Celery worker runs it all."""

import re

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect

from portal.catalog.demo import DEMO_PASSWORD
from portal.catalog.models import Environment

pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.django_db(transaction=True)]
SLUG = "ecommerce-gift-wrapping"


def step_shows(page, label):
    """Wait for the next step's field; if it never comes, fail with what the page shows instead (this step
    failed once in CI without saying why: a form error, or the page it was on)."""
    try:
        page.get_by_label(label).first.wait_for()
    except PlaywrightTimeout:
        pytest.fail(f"{label!r} never appeared at {page.url}; the page shows:\n{page.locator('main').inner_text()[:3000]}")


def checked(page, *names):
    """Wait until each field's live check has answered, so no answer lands while a button is being clicked."""
    for name in names:
        expect(page.locator(f"#{name}-feedback")).to_contain_text("Looks good")


def test_engineer_onboards_promotes_to_prod_and_an_approver_approves(live_server, browser, login, demo,
                                                                     celery_worker):
    Environment.objects.filter(name="dev").update(redis_sku="P2")  # the demo's dev P1 is full (as designed)
    engineer_ctx = browser.new_context()
    approver_ctx = browser.new_context()
    for ctx in (engineer_ctx, approver_ctx):
        ctx.set_default_timeout(30_000)
    eng = engineer_ctx.new_page()
    login(eng, "engineer", DEMO_PASSWORD)

    # Onboard, step by step.
    eng.get_by_role("link", name="Onboard an agent").click()
    next_step = eng.get_by_role("button", name="Next: resources")
    top = next_step.bounding_box()["y"]
    eng.get_by_label("Slug").fill(SLUG)
    eng.get_by_role("textbox", name="Name", exact=True).fill("Gift Wrapping")
    eng.get_by_label("Domain").fill("ecommerce")
    eng.get_by_label("Owner team").select_option(label="E-commerce team")
    checked(eng, "slug", "display_name", "domain", "owner_team")
    assert next_step.bounding_box()["y"] == top  # the checks' answers landed in room kept for them: nothing moved
    next_step.click()
    step_shows(eng, "Container image")
    eng.get_by_label("Container image").fill(f"holidaypeakhubacr.azurecr.io/agents/{SLUG}")
    eng.get_by_label("Tag").fill("1.0.0")
    checked(eng, "image", "image_tag")
    eng.get_by_role("button", name="Next: review").click()
    expect(eng.get_by_text(f"cold-{SLUG}-chat-memory").first).to_be_visible()
    eng.get_by_role("button", name=re.compile("Register and deploy to dev")).click()

    # The agent page's checklist fills in as the runs complete.
    expect(eng.get_by_role("heading", name="Gift Wrapping")).to_be_visible()
    checklist = eng.locator("#agent-checklist")
    expect(checklist.locator('[data-step="workload"]')).to_have_class(re.compile("check-done"), timeout=60_000)
    expect(checklist.locator('[data-step="resources"]')).to_have_class(re.compile("check-done"))

    # Promote to staging (its run page shows it through), then to prod with a reason.
    eng.get_by_role("button", name="Promote to staging").click()  # enabled once dev is done, without a reload
    expect(eng.get_by_test_id("run-status")).to_have_text("Succeeded", timeout=60_000)
    eng.goto(f"{live_server.url}/agents/{SLUG}/")
    eng.get_by_label("Reason").fill("Gift wrapping for the holiday peak")
    eng.get_by_role("button", name="Promote to prod").click()
    expect(eng.get_by_test_id("run-status")).to_have_text("Awaiting approval", timeout=60_000)

    # The approver, in another browser context, sees it in the inbox and approves it.
    appr = approver_ctx.new_page()
    login(appr, "approver", DEMO_PASSWORD)
    expect(appr.get_by_test_id("approval-count")).to_have_text("1")
    appr.get_by_role("link", name=re.compile("^Approvals")).click()
    appr.get_by_test_id("inbox").get_by_role("link", name=re.compile("Review #")).click()
    expect(appr.get_by_text("Gift wrapping for the holiday peak")).to_be_visible()
    appr.get_by_label("Approve").check()
    appr.get_by_role("button", name="Record decision").click()
    expect(appr.get_by_test_id("approval-status")).to_have_text("Approved")

    # The engineer's run page, still open, follows the prod deployment to the end.
    expect(eng.get_by_test_id("run-status")).to_have_text("Succeeded", timeout=60_000)
    expect(eng.locator("#log-lines")).to_contain_text("Approved by approver")
    engineer_ctx.close()
    approver_ctx.close()
