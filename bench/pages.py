"""The pages the benchmark loads (and tests/core/test_scale_pages.py checks at two sizes)."""

from portal.deployments.models import Deployment

# The `bench` user's read token for the API's lists (bench/seed.py makes it). Like the bench password, not a secret:
# a bench database is made to be measured.
BENCH_TOKEN = "pp_bench-api-lists-2026"


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
    if _bench_token_exists():  # a database seeded before the token: `bench/seed.py --token` adds it
        bearer = {"Authorization": f"Bearer {BENCH_TOKEN}"}
        result += [("API deployments", "/api/v1/deployments", bearer), ("API approvals", "/api/v1/approvals", bearer)]
    return result


def _bench_token_exists() -> bool:
    from django.utils import timezone

    from portal.api.models import ApiToken
    from portal.api.services import token_digest

    return ApiToken.objects.filter(digest=token_digest(BENCH_TOKEN), revoked_at=None,
                                   expires_at__gt=timezone.now()).exists()
