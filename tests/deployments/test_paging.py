"""Issue #11: the deployment list and the decided approvals are paged; every run is reachable."""

import re

from django.urls import reverse

from portal.deployments.choices import DeploymentStatus as S
from portal.deployments.models import Deployment


def test_every_run_is_on_exactly_one_page_of_the_list_newest_first(platform, client_for, viewer, settings):
    settings.PORTAL_PAGE_SIZE = 10
    runs = [Deployment.objects.create(environment=platform, template=f"t-{i}", status=S.SUCCEEDED) for i in range(25)]
    client, seen = client_for(viewer), []
    for number in (1, 2, 3):
        html = client.get(reverse("deployments:list") + f"?page={number}&status=succeeded").content.decode()
        seen += [int(pk) for pk in re.findall(r'href="/deployments/(\d+)/"', html)]
        assert f"Page {number} of 3" in html
    assert seen == [run.pk for run in reversed(runs)]
    first = client.get(reverse("deployments:list") + "?status=succeeded").content.decode()
    next_link = re.search(r'<a href="(\?[^"]+)" rel="next"', first).group(1)
    assert "page=2" in next_link and "status=succeeded" in next_link            # the filter is kept


def test_a_long_lists_total_is_counted_once_and_kept_a_short_ones_every_time(platform, client_for, viewer, settings,
                                                                            monkeypatch):
    """#11: above EXACT_COUNT rows the total comes from the cache (LONG_COUNT_SECONDS); the rows never do."""
    from django.core.cache import cache

    from portal.core import pagination

    monkeypatch.setattr(pagination, "EXACT_COUNT", 4)
    settings.PORTAL_PAGE_SIZE = 2
    cache.clear()
    client, url = client_for(viewer), reverse("deployments:list") + "?status=succeeded"

    def make(n):
        return [Deployment.objects.create(environment=platform, template=f"t-{i}", status=S.SUCCEEDED) for i in range(n)]

    make(3)
    assert "Page 1 of 2" in client.get(url).content.decode()          # short: exact
    make(1)
    assert "Page 1 of 2" in client.get(url).content.decode()
    make(1)                                                          # 5 > EXACT_COUNT: counted, then kept
    assert "Page 1 of 3" in client.get(url).content.decode()
    newest = make(2)[-1]
    html = client.get(url).content.decode()
    assert "Page 1 of 3" in html                                     # the kept total (5), not 7 yet
    assert f'href="/deployments/{newest.pk}/"' in html               # but the rows are live
    cache.clear()                                                    # as when LONG_COUNT_SECONDS have passed
    assert "Page 1 of 4" in client.get(url).content.decode()
