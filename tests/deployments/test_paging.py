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
