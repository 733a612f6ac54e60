"""The pages the benchmark loads (and tests/core/test_scale_pages.py checks at two sizes)."""

from portal.deployments.models import Deployment


def pages() -> list[tuple[str, str, dict]]:
    big = Deployment.objects.filter(log_seq__gte=10_000).order_by("-pk").first()
    htmx = {"HX-Request": "true"}
    result = [
        ("baseline (base.html)", "/bench/baseline/", {}),
        ("home", "/", {}),
        ("health overview", "/health/", {}),
        ("agents", "/agents/", {}),
        ("agents, filtered", "/agents/?domain=crm&environment=dev", {}),
        ("environment dev", "/environments/dev/", {}),
        ("health board dev", "/health/dev/", {}),
        ("costs (this month)", "/costs/", {}),
        ("costs of dev", "/costs/environments/dev/", {}),
        ("costs of dev AKS", "/costs/environments/dev/services/Azure%20Kubernetes%20Service/", {}),
        ("costs CSV (agents)", "/costs/?format=csv&table=agents", {}),
        ("showback", "/costs/showback/", {}),
        ("deployments", "/deployments/", {}),
        ("approvals", "/deployments/approvals/", {}),
        ("my requests", "/deployments/mine/", {}),
        ("audit log", "/audit/", {}),
        ("RBAC overview", "/access/", {}),
        ("RBAC dev", "/access/dev/", {}),
    ]
    if big is not None:
        try:  # the poll as the page sends it: after its last line, with the run card's version
            from portal.deployments.selectors import deployment_get, deployment_version
            version = f"&v={deployment_version(deployment_get(pk=big.pk))}"
        except ImportError:  # before issue #11 a poll had no version
            version = ""
        result += [(f"run with {big.log_seq:,} log lines", f"/deployments/{big.pk}/", {}),
                   ("poll of a finished run", f"/deployments/{big.pk}/progress/?after={big.log_seq}{version}", htmx)]
    return result
