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
    assert "after=100" in poll and 'hx-trigger="load"' in page   # behind: fetch the next page at once


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
    deployment_log(run.pk, [("info", "done")])
    client = client_for(viewer)
    page = client.get(run.get_absolute_url()).content.decode()
    version = re.search(r'data-version="(\w+)"', page).group(1)
    response = client.get(reverse("deployments:progress", args=[run.pk]) + f"?after=1&v={version}",
                          HTTP_HX_REQUEST="true")
    assert response.status_code == 286
    assert response.content.decode().strip() == '<div id="log-tail"></div>'
