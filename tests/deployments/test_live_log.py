"""Issue #11: a long log is paged without gaps, polls send only what changed, a finished run's poll is small."""

import re

from django.urls import reverse

from portal.deployments.choices import DeploymentStatus as S
from portal.deployments.models import Deployment, DeploymentOperation
from portal.deployments.services import deployment_log

SEQ = re.compile(r'data-seq="(\d+)"')
NEXT = re.compile(r'id="log-tail"[^>]*hx-get="([^"]+)"')
MORE_LINK = re.compile(r'id="log-tail"[^>]*href="([^"]+)"')


def ten_thousand_lines(deployment):
    deployment_log(deployment.pk, [("info", f"line {i}") for i in range(1, 10_001)])


def test_a_finished_10000_line_log_is_readable_in_order_by_paging_on(platform, client_for, viewer):
    run = Deployment.objects.create(environment=platform, template="agent", status=S.RUNNING)
    ten_thousand_lines(run)
    Deployment.objects.filter(pk=run.pk).update(status=S.SUCCEEDED)
    client = client_for(viewer)

    page = client.get(run.get_absolute_url()).content.decode()
    seen = [int(n) for n in SEQ.findall(page)]
    assert len(page) < 200_000 and seen[0] == 1 and 0 < len(seen) < 10_000
    status = 200
    while status != 286:
        url = NEXT.search(page).group(1).replace("&amp;", "&")
        response = client.get(url, HTTP_HX_REQUEST="true")
        status, page = response.status_code, response.content.decode()
        seen += [int(n) for n in SEQ.findall(page)]
    assert seen == list(range(1, 10_001))
    assert 'id="log-tail"></div>' in page        # nothing more to fetch


def test_without_javascript_the_log_pages_through_links(platform, client_for, viewer, settings):
    settings.PORTAL_LOG_PAGE_LINES = 400
    run = Deployment.objects.create(environment=platform, template="agent", status=S.RUNNING)
    deployment_log(run.pk, [("info", f"line {i}") for i in range(1, 1001)])
    Deployment.objects.filter(pk=run.pk).update(status=S.FAILED)
    client = client_for(viewer)
    url, seen = run.get_absolute_url(), []
    while url:
        page = client.get(url).content.decode()
        seen += [int(n) for n in SEQ.findall(page)]
        link = MORE_LINK.search(page)
        url = link.group(1).replace("&amp;", "&").split("#")[0] if link else None
    assert seen == list(range(1, 1001))


def test_a_running_log_polls_on_from_the_last_line_shown_not_the_runs_last_line(platform, client_for, viewer,
                                                                                settings):
    settings.PORTAL_LOG_PAGE_LINES = 100
    run = Deployment.objects.create(environment=platform, template="agent", status=S.RUNNING)
    deployment_log(run.pk, [("info", f"line {i}") for i in range(1, 251)])
    page = client_for(viewer).get(run.get_absolute_url()).content.decode()
    assert SEQ.findall(page)[-1] == "100"
    poll = NEXT.search(page).group(1)
    assert "after=100" in poll and 'hx-trigger="load, portal:retry"' in page   # behind: fetch the next page at once


def test_a_poll_resends_the_run_card_only_when_it_changed(platform, client_for, viewer):
    run = Deployment.objects.create(environment=platform, template="agent", status=S.RUNNING)
    op = DeploymentOperation.objects.create(deployment=run, operation_id="op-1", resource_type="t", resource_name="r",
                                            state="Running")
    deployment_log(run.pk, [("info", "one")])
    client = client_for(viewer)
    url = reverse("deployments:progress", args=[run.pk])

    first = client.get(url + "?after=0", HTTP_HX_REQUEST="true").content.decode()
    version = re.search(r'data-version="(\w+)"', first).group(1)
    assert 'id="run-progress"' in first and 'hx-swap-oob="true"' in first and "one" in first
    same = client.get(f"{url}?after=1&v={version}", HTTP_HX_REQUEST="true").content.decode()
    assert 'id="run-progress"' not in same and "data-seq" not in same and 'id="log-tail"' in same
    assert len(same) < 500
    DeploymentOperation.objects.filter(pk=op.pk).update(state="Succeeded")
    changed = client.get(f"{url}?after=1&v={version}", HTTP_HX_REQUEST="true").content.decode()
    assert 'id="run-progress"' in changed and "Succeeded" in changed


def test_a_finished_runs_poll_is_one_small_fragment(platform, client_for, viewer):
    run = Deployment.objects.create(environment=platform, template="agent", status=S.SUCCEEDED,
                                    what_if={"changes": [{"change_type": "Create", "resource_type": "t",
                                                          "resource_name": f"r{i}"} for i in range(50)]})
    DeploymentOperation.objects.create(deployment=run, operation_id="op-1", resource_type="t", resource_name="r",
                                       state="Succeeded")
    deployment_log(run.pk, [("info", "done")])
    client = client_for(viewer)
    page = client.get(run.get_absolute_url()).content.decode()
    version = re.search(r'data-version="(\w+)"', page).group(1)
    response = client.get(reverse("deployments:progress", args=[run.pk]) + f"?after=1&v={version}",
                          HTTP_HX_REQUEST="true")
    assert response.status_code == 286
    assert response.content.decode().strip() == '<div id="log-tail"></div>'


def test_the_run_page_shows_everything_of_a_run_from_one_read_of_its_row(platform, client_for, engineer):
    """The page reads only the columns it shows (#11), and every one it shows is among them: no column is
    fetched again on its own while the page renders."""
    from datetime import timedelta

    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from portal.catalog.models import Agent
    from portal.deployments.models import ApprovalRequest

    agent = Agent.objects.get(slug="ecommerce-catalog-search")
    first = Deployment.objects.create(environment=platform, template="agent", status=S.FAILED, agent=agent)
    run = Deployment.objects.create(
        environment=platform, template="agent", status=S.FAILED, agent=agent, requested_by=engineer, retry_of=first,
        reason="second try", parameters={"agentName": "ecommerce-catalog-search", "sku": "Basic"},
        secure_parameter_names=["apiKey"], template_hash="ab" * 32, template_commit="c0ffee" * 6,
        template_source="git", arm_deployment_name="pp-agent-dev-2", correlation_id="corr-1", attempts=2,
        started_at=timezone.now() - timedelta(seconds=65), finished_at=timezone.now(),
        what_if={"changes": [{"change_type": "Create", "resource_type": "Microsoft.Cache/redis",
                              "resource_name": "redis-one"}]},
        error={"code": "Conflict", "message": "It broke.", "details": [{"code": "Inner", "message": "Why."}]})
    ApprovalRequest.objects.create(deployment=run, status="approved", template_hash="x", parameters_hash="y",
                                   expires_at=timezone.now())
    DeploymentOperation.objects.create(deployment=run, operation_id="op-1", resource_type="Microsoft.Cache/redis",
                                       resource_name="redis-one", state="Failed",
                                       error={"code": "Quota", "message": "No room."})
    deployment_log(run.pk, [("error", "it broke")])
    client = client_for(engineer)
    client.get(run.get_absolute_url())

    with CaptureQueriesContext(connection) as queries:
        page = client.get(run.get_absolute_url()).content.decode()

    for shown in ("ecommerce-catalog-search", "erin", f"retry of <a href=\"/deployments/{first.pk}/\">#{first.pk}</a>",
                  "second try", "approval request (approved)", "sku", "Basic", "apiKey", "pp-agent-dev-2", "corr-1",
                  "c0ffee", "redis-one", "Conflict", "It broke.", "Why.", "Quota", "No room.", "1 min 5 s",
                  "it broke", "Retry"):
        assert shown in page, shown
    by_pk = re.compile(rf'FROM "deployments_deployment"(?:(?!SELECT).)*? WHERE \(?(?:d|"deployments_deployment")\."id" = {run.pk}\b')
    own_row = [q["sql"] for q in queries.captured_queries if by_pk.search(q["sql"])]  # the run's row, by its pk
    assert len(own_row) == 1, own_row
    assert not [q["sql"] for q in queries.captured_queries
                if q["sql"].startswith('SELECT "catalog_environment"') or q["sql"].startswith('SELECT "catalog_agent"')
                or q["sql"].startswith('SELECT "deployments_approvalrequest"')]


def test_a_running_runs_page_polls_every_half_second_following_the_run(platform, client_for, viewer):
    run = Deployment.objects.create(environment=platform, template="agent", status=S.RUNNING)
    deployment_log(run.pk, [("info", "one")])
    page = client_for(viewer).get(run.get_absolute_url()).content.decode()
    tail = re.search(r'<div id="log-tail"[^>]*>', page).group(0)
    assert 'hx-trigger="every 500ms"' in tail and "after=1&amp;" in tail and "follow=1" in tail


def test_a_page_following_a_run_that_finishes_while_behind_fetches_the_rest_at_once(platform, client_for, viewer,
                                                                                   settings):
    """Its polls carry follow=1: the lines left when the run finished come without a click, in order, and the
    polls stop when the last one is on the page. Opening the finished run's page instead pages on request."""
    settings.PORTAL_LOG_PAGE_LINES = 100
    run = Deployment.objects.create(environment=platform, template="agent", status=S.RUNNING)
    deployment_log(run.pk, [("info", f"line {i}") for i in range(1, 101)])
    client = client_for(viewer)
    page = client.get(run.get_absolute_url()).content.decode()
    seen = [int(n) for n in SEQ.findall(page)]
    deployment_log(run.pk, [("info", f"line {i}") for i in range(101, 351)])   # the run writes on, then ends
    Deployment.objects.filter(pk=run.pk).update(status=S.SUCCEEDED)

    url, status, triggers = NEXT.search(page).group(1).replace("&amp;", "&"), 200, []
    while status != 286:
        response = client.get(url, HTTP_HX_REQUEST="true")
        status, body = response.status_code, response.content.decode()
        seen += [int(n) for n in SEQ.findall(body)]
        if status != 286:
            tail = re.search(r'<(?:div|a) id="log-tail"[^>]*>', body).group(0)
            triggers.append(re.search(r'hx-trigger="([^"]+)"', tail).group(1))
            url = NEXT.search(body).group(1).replace("&amp;", "&")
    assert seen == list(range(1, 351))
    assert triggers == ["load, portal:retry"] * 2                # no "Show the next lines" button on the way

    finished_page = client.get(run.get_absolute_url()).content.decode()
    assert 'data-testid="log-more"' in finished_page and "follow=1" not in finished_page


def test_the_run_page_shows_its_first_200_lines_and_the_next_ones_follow_in_order(platform, client_for, viewer,
                                                                                   settings):
    settings.PORTAL_LOG_PAGE_LINES = 500  # a poll's page; the run page shows fewer at first (views.RUN_PAGE_LINES)
    run = Deployment.objects.create(environment=platform, template="agent", status=S.RUNNING)
    deployment_log(run.pk, [("info", f"line {i}") for i in range(1, 1201)])
    Deployment.objects.filter(pk=run.pk).update(status=S.SUCCEEDED)
    client = client_for(viewer)
    page = client.get(run.get_absolute_url()).content.decode()
    assert [int(n) for n in SEQ.findall(page)] == list(range(1, 201))
    assert "Show the next lines (after line 200 of 1200)" in page
    assert "log_after=200" in MORE_LINK.search(page).group(1)
    more = client.get(NEXT.search(page).group(1).replace("&amp;", "&"), HTTP_HX_REQUEST="true").content.decode()
    assert [int(n) for n in SEQ.findall(more)] == list(range(201, 701))  # then a poll's page at a time
