"""Azure's rules applied to New deployment's parameters (issue #9).

The portal learns from the template which parameters flow into a resource's name: it reads the
template's resources with a marker in one parameter at a time (every condition switched on, each
allowed environment) and sees whose names carry the marker. A value that would give a resource a name
Azure refuses is refused on its field, with Azure's code and message (provisioning.azure_rules, the
module onboarding and the sandbox use too). The agent module's Redis database is checked against the
environment's cache and the databases already allocated there.
"""

from functools import lru_cache
from pathlib import Path

from portal.catalog.models import Placement
from portal.deployments import templates
from provisioning.azure_rules import (
    KUBERNETES_NAME,
    RESOURCE_GROUP,
    name_violation,
    redis_database_problem,
)
from provisioning.bicep import BicepError, parse_parameters, template_resources

_MARKER = "zq9marker9zq"
# Names the portal itself gives from a parameter, outside the template: the agent's workload.
PORTAL_NAMES = {("agent", "agentName"): KUBERNETES_NAME}


def _placeholder(spec):
    if spec.default is not None:
        return spec.default
    if spec.allowed:
        return spec.allowed[0]
    return {"int": spec.min_value or 0, "bool": True, "object": {}, "array": []}.get(spec.type, "x" * (spec.min_length or 3))


@lru_cache(maxsize=32)
def _flows(path: str, content_hash: str) -> dict[str, tuple[tuple[str, bool], ...]]:
    try:
        specs = parse_parameters(Path(path))
    except BicepError:  # a file only the tolerant reader follows: no flows known here, Azure checks at deploy
        return {}
    flows: dict[str, set[tuple[str, bool]]] = {}
    environments = next((s.allowed for s in specs if s.name == "environment" and s.allowed), [None])
    for spec in specs:
        if spec.type != "string" or spec.secure or spec.allowed:
            continue
        for env in environments:
            values = {s.name: (True if s.type == "bool" else _placeholder(s)) for s in specs if not s.secure}
            if env is not None:
                values["environment"] = env
            values[spec.name] = _MARKER
            try:
                resources = template_resources(Path(path), values)
            except BicepError:
                continue
            for resource in resources:
                own = resource.name.rsplit("/", 1)[-1] if resource.type.count("/") > 1 else resource.name
                if _MARKER in own:
                    flows.setdefault(spec.name, set()).add((resource.type, own == _MARKER))
        if spec.name == "resourceGroupName":
            flows.setdefault(spec.name, set()).add((RESOURCE_GROUP, True))
    return {name: tuple(sorted(kinds)) for name, kinds in flows.items()}


def name_flows(info) -> dict[str, tuple[tuple[str, bool], ...]]:
    """{parameter: ((resource type, whether the value is the whole name), ...)} for the template."""
    specs = templates.template_parameters(info)
    flows = dict(_flows(str(info.path), info.content_hash))
    for (template, parameter), kind in PORTAL_NAMES.items():
        if info.name == template and any(s.name == parameter for s in specs):
            flows[parameter] = tuple(sorted({*flows.get(parameter, ()), (kind, True)}))
    return flows


def parameter_problems(*, environment, info, values: dict) -> dict[str, str]:
    """{parameter: what Azure would answer} for the values that break Azure's rules."""
    problems: dict[str, str] = {}
    flows = name_flows(info)
    for parameter, kinds in flows.items():
        value = values.get(parameter)
        if not isinstance(value, str) or not value:
            continue
        for resource_type, whole in kinds:
            if whole:
                violation = name_violation(resource_type, value, own=True)
                if violation is not None:
                    problems[parameter] = _say(violation)
                    break
    try:
        resources = templates.template_resources(info, {**templates.effective_parameters(info, values), **values})
    except BicepError:
        resources = ()
    for resource in resources:
        violation = name_violation(resource.type, resource.name)
        if violation is None:
            continue
        for parameter, kinds in flows.items():
            value = values.get(parameter)
            if (parameter not in problems and isinstance(value, str) and value and value in violation.name
                    and any(t.lower() == resource.type.lower() for t, _ in kinds)):
                problems[parameter] = _say(violation)
    if info.name == "agent" and isinstance(values.get("redisDatabase"), int):
        problem = _redis_problem(environment, values["redisDatabase"], values.get("agentName") or "")
        if problem:
            problems["redisDatabase"] = problem
    return problems


def _say(violation) -> str:
    return f"Azure would refuse this: {violation.code}: {violation.message} ({'; '.join(violation.problems)})"


def _redis_problem(environment, database: int, agent: str) -> str | None:
    taken_by = (Placement.objects.filter(environment=environment, redis_db=database, redis_key_prefix="")
                .exclude(agent__slug=agent).values_list("agent__slug", flat=True).first())
    return redis_database_problem(database, sku=environment.redis_sku, clustered=environment.redis_clustered,
                                  reserved=environment.redis_reserved_databases, taken_by=taken_by or "")
