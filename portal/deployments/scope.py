"""What an environment owns, and the runs that reach beyond it (issue #9).

Each environment declares its subscription, resource groups, a pattern its resource names follow and
its AKS cluster. Before a run can be confirmed, every resource its what-if names (resource ids from
Azure, the template's resources in the sandbox) is checked: a run that touches another environment's
scope, or a resource group that is not its own, is refused with the resources named.

Parameters that name the environment (its code, resource group, region, and the account names the
template derives from them) are filled from the environment, never typed.
"""

import re
from dataclasses import dataclass

from portal.catalog.models import Environment

# Parameters the environment decides, with where their value comes from.
ENVIRONMENT_OWNED = {"environment": lambda env: env.name, "resourceGroupName": lambda env: env.resource_group,
                     "location": lambda env: env.region}
_REFERENCE = re.compile(r"\b(environment|resourceGroupName)\b")
_IDENTIFIER = re.compile(r"(?<![.'\w])([A-Za-z_]\w*)\b(?!\s*\()")
SCOPE_ERROR = "OutsideEnvironmentScope"


def environment_owned_values(environment: Environment, specs) -> dict:
    """The parameters of these specs that the environment decides: its name, resource group and region
    (where the template allows the value), nothing else. Derived ones come from `derived_parameters`."""
    values = {}
    for spec in specs:
        fill = ENVIRONMENT_OWNED.get(spec.name)
        if fill is None:
            continue
        value = fill(environment)
        if spec.allowed and value not in spec.allowed:
            continue  # e.g. a Static Web App region the environment's region is not one of: the template decides
        values[spec.name] = value
    return values


def derived_parameters(specs) -> set[str]:
    """Parameters whose default the template works out from the environment's own parameters only
    (e.g. storageAccountName = 'holidaypeakhub${environment}st'): shown read-only, never typed."""
    names = {spec.name for spec in specs}
    derived = set()
    for spec in specs:
        expression = spec.default_expression or ""
        if spec.secure or not _REFERENCE.search(expression):
            continue
        text = re.sub(r"'(?:[^'\\]|\\.)*'", lambda m: " ".join(re.findall(r"\$\{([^}]*)\}", m.group(0))), expression)
        referenced = {word for word in _IDENTIFIER.findall(text) if word in names}
        if referenced <= set(ENVIRONMENT_OWNED):
            derived.add(spec.name)
    return derived


def environment_parameters(environment: Environment, specs) -> tuple[dict, set[str]]:
    """(values the environment fixes, names of the parameters left to the template's own derivation)."""
    owned = environment_owned_values(environment, specs)
    return owned, derived_parameters(specs) - set(owned)


# --- Scope ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ScopeBreach:
    resource_id: str
    owner: str      # the environment it belongs to, or "" when it is nobody's
    why: str

    def __str__(self) -> str:
        return f"{self.resource_id} ({self.why})"


def _parts(resource_id: str) -> tuple[str, str, list[str]]:
    """(subscription, resource group, names) of an ARM resource id."""
    segments = [s for s in resource_id.split("/") if s]
    lower = [s.lower() for s in segments]
    subscription = segments[lower.index("subscriptions") + 1] if "subscriptions" in lower else ""
    group = segments[lower.index("resourcegroups") + 1] if "resourcegroups" in lower else ""
    names = []
    if "providers" in lower:
        rest = segments[lower.index("providers") + 2:]  # after the namespace: type, name, type, name...
        names = rest[1::2]
    elif group:
        names = [group]
    return subscription, group, names


def _matches(pattern: str, name: str) -> bool:
    return bool(pattern) and re.search(pattern, name, flags=re.IGNORECASE) is not None


def scope_breaches(*, environment: Environment, resource_ids, environments=None) -> list[ScopeBreach]:
    """The resources among these that are not this environment's to touch, each with the reason."""
    others = [e for e in (environments if environments is not None else Environment.objects.all())
              if e.pk != environment.pk]
    own_groups = {g.lower() for g in environment.scope_resource_groups}
    breaches = []
    for rid in dict.fromkeys(resource_ids):
        subscription, group, names = _parts(rid)
        breach = None
        for other in others:
            if group and group.lower() in {g.lower() for g in other.scope_resource_groups}:
                breach = ScopeBreach(rid, other.name, f"in {other.name}'s resource group {group}")
            elif other.aks_cluster and any(n.lower() == other.aks_cluster.lower() for n in names):
                breach = ScopeBreach(rid, other.name, f"{other.name}'s cluster {other.aks_cluster}")
            elif any(_matches(other.resource_name_pattern, n) for n in names):
                breach = ScopeBreach(rid, other.name, f"named as {other.name}'s resources are")
            elif (other.subscription_id and subscription.lower() == other.subscription_id.lower()
                  and subscription.lower() != environment.subscription_id.lower()):
                breach = ScopeBreach(rid, other.name, f"in {other.name}'s subscription")
            if breach:
                break
        if breach is None and group and group.lower() not in own_groups:
            breach = ScopeBreach(rid, "", f"resource group {group} is not one of {environment.name}'s")
        if breach is None and (environment.subscription_id and subscription
                               and subscription.lower() != environment.subscription_id.lower()):
            breach = ScopeBreach(rid, "", f"subscription {subscription} is not {environment.name}'s")
        if breach is not None:
            breaches.append(breach)
    return breaches


def what_if_resource_ids(what_if: dict | None) -> list[str]:
    """The resources a previewed run would touch: every change but Ignore (what it leaves alone)."""
    return [c["resource_id"] for c in (what_if or {}).get("changes", []) if c.get("change_type") != "Ignore"]


def scope_error(environment: Environment, breaches: list[ScopeBreach]) -> dict:
    """An ARM-shaped error naming each resource outside the environment's scope."""
    listed = "; ".join(str(b) for b in breaches[:10]) + (f"; and {len(breaches) - 10} more" if len(breaches) > 10 else "")
    return {"code": SCOPE_ERROR,
            "message": f"This run to {environment.name} would touch resources outside {environment.name}'s scope: "
                       f"{listed}. Deploy to the environment they belong to instead.",
            "details": [{"code": SCOPE_ERROR, "message": str(b), "details": []} for b in breaches]}
