"""What a deployment would cost a month, before it runs: the template's resources with its parameters,
priced with the current price catalogue, and the change against what is deployed now (the last
successful deployment of the same template to the same environment, or nothing).

Local work only: the template is read from bicep/ (the parser caches it) and priced in memory; the
database gives the catalogue and the baseline (two queries). Nothing is written, no cloud is called.
Resources the catalogue cannot price are listed with the reason and never counted as 0.
"""

from dataclasses import dataclass, field
from decimal import Decimal

from portal.core.errors import DomainError
from portal.costs.models import PriceRefresh
from portal.costs.prices import price_catalogue_current
from portal.deployments import templates
from portal.deployments.choices import DeploymentKind, DeploymentStatus
from portal.deployments.models import Deployment
from provisioning.backends.base import ResourceSpec
from provisioning.bicep import BicepError
from provisioning.cost.catalogue import ENVIRONMENTS, Estimate, EstimateLine, PriceCatalogue, Unpriced


@dataclass
class DeploymentEstimate:
    template: str
    environment: str
    after: Estimate | None = None        # every resource of the template, a month
    change: Estimate | None = None       # what deploying it adds to what is there (line by line)
    baseline: Deployment | None = None   # what is deployed now; None: nothing of this template yet
    refresh: PriceRefresh | None = None  # where the prices come from; None: the design document's
    error: str = ""                      # the template could not be read
    lines: list[EstimateLine] = field(default_factory=list)

    @property
    def unpriced(self) -> list[Unpriced]:
        """Resources priced neither in the total nor in the change, each once."""
        seen: dict[tuple[str, str], Unpriced] = {}
        for estimate in (self.change, self.after):
            for item in (estimate.skipped if estimate else []):
                seen.setdefault((item.resource.type.lower(), item.resource.name.lower()), item)
        return list(seen.values())

    @property
    def total(self) -> Decimal | None:
        return self.after.total if self.after else None

    @property
    def delta(self) -> Decimal | None:
        return self.change.total if self.change else None

    @property
    def complete(self) -> bool:
        return not self.error and not self.unpriced

    @property
    def price_source(self) -> str:
        if self.refresh is None:
            return "the design document's figures and Azure list prices (not refreshed)"
        return f"the Azure Retail Prices API ({self.refresh.region}, {self.refresh.at:%Y-%m-%d})"


def baseline_for(deployment: Deployment) -> Deployment | None:
    """What is deployed now: the newest successful deployment of the same template there, not this one."""
    return (Deployment.objects.filter(environment_id=deployment.environment_id, template=deployment.template,
                                      agent_id=deployment.agent_id,  # the same agent's, not another's
                                      kind=DeploymentKind.TEMPLATE, status=DeploymentStatus.SUCCEEDED)
            .exclude(pk=deployment.pk).order_by("-finished_at", "-pk").first())


def deployment_estimate(*, deployment: Deployment) -> DeploymentEstimate | None:
    """The estimate of a template deployment (None for cluster operations and retirements)."""
    if deployment.kind != DeploymentKind.TEMPLATE:
        return None
    environment = deployment.environment.name
    result = DeploymentEstimate(template=deployment.template, environment=environment)
    catalogue, result.refresh = price_catalogue_current()
    result.baseline = baseline_for(deployment)
    try:
        after = _resources(deployment.template, deployment.parameters)
        before = _resources(deployment.template, result.baseline.parameters) if result.baseline else ()
    except (DomainError, BicepError) as exc:
        result.error = getattr(exc, "message", None) or str(exc)
        return result
    env = environment if environment in ENVIRONMENTS else None
    result.after = catalogue.estimate(after, environment=env)
    result.change = catalogue.estimate_changes(after, before, environment=env)
    result.lines = result.change.lines
    return result


def template_estimate(*, template: str, parameters: dict, environment: str | None = None,
                      catalogue: PriceCatalogue | None = None) -> Estimate:
    """The monthly cost of a template's resources with these parameters."""
    catalogue = catalogue or price_catalogue_current()[0]
    return catalogue.estimate(_resources(template, parameters),
                              environment=environment if environment in ENVIRONMENTS else None)


def _resources(template: str, parameters: dict) -> tuple[ResourceSpec, ...]:
    return templates.template_resources(templates.template_get(template), dict(parameters or {}))
