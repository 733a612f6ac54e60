"""Readiness: the design document's open success criteria for an environment, as a live checklist.
Each item says whether it is met and links to its evidence (a run, the health board, the RBAC audit)."""

from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlencode

from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.timesince import timesince

from portal.access import selectors as access_selectors
from portal.deployments.choices import DeploymentKind, DeploymentStatus
from portal.deployments.models import Deployment
from portal.health.choices import HealthState
from portal.health.models import HealthCheck


@dataclass(frozen=True)
class ReadinessItem:
    key: str
    label: str
    done: bool
    detail: str
    evidence_url: str
    evidence_label: str


def _ago(when) -> str:
    return "just now" if timezone.now() - when < timedelta(minutes=1) else f"{timesince(when)} ago"


def environment_readiness(*, environment) -> list[ReadinessItem]:
    """Four items, five queries at most, whatever the environment holds."""
    return [
        _deployed(environment, "shared-infrastructure", "Shared infrastructure deployed"),
        _deployed(environment, "static-web-app", "Static Web App deployed"),
        _health(environment),
        _rbac(environment),
    ]


def _deployed(environment, template: str, label: str) -> ReadinessItem:
    run = (Deployment.objects.filter(environment=environment, template=template, kind=DeploymentKind.TEMPLATE,
                                     status=DeploymentStatus.SUCCEEDED).order_by("-finished_at", "-pk").first())
    if run is None:
        query = urlencode({"environment": environment.name, "template": template})
        return ReadinessItem(template, label, False, f"No {template} deployment has succeeded in {environment.name}.",
                             f"{reverse('deployments:list')}?{query}", f"{template} runs")
    when = run.finished_at or run.created_at
    return ReadinessItem(template, label, True, f"Run #{run.pk} succeeded {_ago(when)}.",
                         run.get_absolute_url(), f"run #{run.pk}")


def _health(environment) -> ReadinessItem:
    counts = HealthCheck.objects.filter(environment=environment, active=True).aggregate(
        total=Count("pk"), green=Count("pk", filter=Q(state=HealthState.GREEN)),
        red=Count("pk", filter=Q(state=HealthState.RED)), amber=Count("pk", filter=Q(state=HealthState.AMBER)),
        unknown=Count("pk", filter=Q(state=HealthState.UNKNOWN)))
    url = reverse("health:board", args=[environment.name])
    if not counts["total"]:
        return ReadinessItem("health", "All health checks passing", False, "No health check has run here yet.",
                             url, "health board")
    done = counts["green"] == counts["total"]
    others = ", ".join(f"{counts[s]} {s}" for s in ("red", "amber", "unknown") if counts[s])
    detail = f"{counts['green']} of {counts['total']} checks green" + (f"; {others}." if others else ".")
    return ReadinessItem("health", "All health checks passing", done, detail, url, "health board")


def _rbac(environment) -> ReadinessItem:
    audit = access_selectors.rbac_latest_read(environment=environment)
    url = reverse("access:environment", args=[environment.name])
    label = "RBAC verified"
    if audit is None:
        return ReadinessItem("rbac", label, False, "No RBAC audit has read the role assignments yet.", url,
                             "RBAC status")
    age = _ago(audit.ran_at)
    if audit.clean:
        return ReadinessItem("rbac", label, True, f"Audit #{audit.pk} ({age}): all {audit.present_count} "
                             "expected assignments present, none unexpected.", url, f"audit #{audit.pk}")
    return ReadinessItem("rbac", label, False, f"Audit #{audit.pk} ({age}): {audit.missing_count} missing, "
                         f"{audit.unexpected_count} unexpected.", url, f"audit #{audit.pk}")
