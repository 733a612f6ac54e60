"""Onboarding's writes: registering an agent and its dev placement and starting its deployment, and
promoting it to the next environment."""

from django.db import IntegrityError, transaction

from portal.audit.services import audit_record
from portal.catalog.choices import PlacementStatus
from portal.catalog.models import Agent, Environment, Placement
from portal.catalog.naming import suggest_blob_container_name, warm_container_name
from portal.catalog.onboarding.plan import ENVIRONMENT_PARAMETERS, agent_parameters, environment_parameters
from portal.catalog.onboarding.rules import (
    AGENT_TEMPLATE,
    REDIS_SHARE,
    cold_container_problem,
    redis_full_message,
    redis_key_prefix,
    warm_container_problem,
)
from portal.catalog.onboarding.selectors import _agent_runs, promotion_source
from portal.catalog.services import RedisFull, redis_allocate
from portal.core.errors import ConflictError, DomainError
from portal.deployments import services as deployment_services
from portal.deployments.choices import IN_PROGRESS, DeploymentStatus
from portal.deployments.models import Deployment


def _save(obj, *, message: str, field: str | None = None) -> None:
    try:
        with transaction.atomic():
            obj.save()
    except IntegrityError as exc:
        raise ConflictError(message, field=field) from exc


def _redis_for(placement: Placement, *, mode: str, shared_db: int | None) -> dict:
    """Allocate the placement's own database, or record the one it shares with its key prefix."""
    env = placement.environment
    if mode != REDIS_SHARE:
        try:
            return {"database": redis_allocate(placement=placement), "shared": False}
        except RedisFull as exc:
            raise RedisFull(redis_full_message(env), field="redis_mode") from exc
    env = Environment.objects.select_for_update().get(pk=env.pk)
    if shared_db is None or not env.redis_reserved_databases <= shared_db < env.redis_database_limit:
        raise DomainError(f"Redis database {shared_db} is not one {env.name}'s agents can use: choose one from "
                          f"{env.redis_reserved_databases} to {env.redis_database_limit - 1}.", field="redis_share_db")
    prefix = redis_key_prefix(placement.agent.slug)
    placement.redis_db, placement.redis_key_prefix = shared_db, prefix
    return {"database": shared_db, "shared": True, "prefix": prefix}


@transaction.atomic
def agent_onboard(*, identity: dict, resources: dict, environment: Environment, user=None,
                  request=None) -> tuple[Agent, Deployment]:
    """Register the agent and its placement in dev (provisioning), and start its deployment there:
    resources first, then its workload."""
    slug = identity["slug"]
    if Agent.objects.filter(slug=slug).exists():
        raise ConflictError(f"An agent with the slug “{slug}” was registered meanwhile. Choose another slug.",
                            field="slug")
    warm, cold = resources["warm_container"], resources["cold_container"]
    for field, problem in (("warm_container", warm_container_problem(environment=environment, name=warm, slug=slug)),
                           ("cold_container", cold_container_problem(environment=environment, name=cold, slug=slug))):
        if problem:
            raise ConflictError(problem, field=field)
    agent = Agent(slug=slug, display_name=identity["display_name"], domain=identity["domain"],
                  owner_team=identity["owner_team"], description=identity["description"], image=resources["image"],
                  memory_tiers=resources["memory_tiers"], needs_ai_search=resources["needs_ai_search"],
                  needs_openai=resources["needs_openai"], health_path=resources["health_path"], created_by=user)
    _save(agent, message=f"An agent with the slug “{slug}” was registered meanwhile.", field="slug")
    placement = Placement(agent=agent, environment=environment, cosmos_container=warm, blob_container=cold,
                          image_tag=resources["image_tag"], replicas=resources["replicas"],
                          status=PlacementStatus.PROVISIONING)
    redis = _redis_for(placement, mode=resources["redis_mode"], shared_db=resources["redis_share_db"])
    _save(placement, message="Another agent took one of these container names or this Redis database meanwhile; "
                             "go back to the resources and check them again.")
    parameters = agent_parameters(identity=identity, resources=resources, environment=environment,
                                  redis_db=redis["database"])
    audit_record(action="agent.onboarded", obj=agent, actor=user, request=request,
                 details={"team": agent.owner_team.slug, "domain": agent.domain, "image": agent.image,
                          "tag": placement.image_tag, "memory_tiers": agent.memory_tiers,
                          "environment": environment.name})
    audit_record(action="placement.created", obj=placement, actor=user, request=request,
                 details={"redis": redis, "warm_container": warm, "cold_container": cold,
                          "replicas": placement.replicas})
    deployment = deployment_services.deployment_request(
        environment=environment, template=AGENT_TEMPLATE, parameters=parameters, user=user, request=request,
        reason="Onboarding", agent=agent, auto_confirm=True, then_apply_workload=True)
    return agent, deployment


@transaction.atomic
def agent_promote(*, agent: Agent, target: Environment, reason: str = "", user=None, request=None) -> Deployment:
    """Deploy to `target` what last succeeded in the environment before it: its parameters carried
    over, the environment's own values (names, region, Redis database) worked out for the target."""
    source = promotion_source(target=target)
    if source is None:
        raise DomainError(f"{target.name} is the first environment: onboard the agent there.", field="environment")
    last = (_agent_runs(agent).filter(environment=source, status=DeploymentStatus.SUCCEEDED)
            .order_by("-finished_at", "-pk").first())
    if last is None:
        raise DomainError(f"{agent.slug} has no successful deployment of the agent module in {source.name} "
                          f"to promote; deploy it there first.", field="environment")
    pending = _agent_runs(agent).filter(environment=target, status__in=IN_PROGRESS).first()
    if pending is not None:
        raise ConflictError(f"Deployment #{pending.pk} of {agent.slug} to {target.name} is "
                            f"{pending.get_status_display().lower()}; wait for it or cancel it.")
    origin = Placement.objects.filter(agent=agent, environment=source).first()
    placement = Placement.objects.select_for_update().filter(agent=agent, environment=target).first()
    created = placement is None
    if created:
        placement = Placement(agent=agent, environment=target, replicas=origin.replicas if origin else 1,
                              status=PlacementStatus.PROVISIONING)
    if origin is not None:
        placement.image_tag = origin.image_tag  # the same version
    placement.cosmos_container = (placement.cosmos_container or (origin and origin.cosmos_container)
                                  or warm_container_name(agent.slug))
    placement.blob_container = (placement.blob_container or (origin and origin.blob_container)
                                or suggest_blob_container_name(agent.slug))
    for problem in (warm_container_problem(environment=target, name=placement.cosmos_container, slug=agent.slug),
                    cold_container_problem(environment=target, name=placement.blob_container, slug=agent.slug)):
        if problem:
            raise ConflictError(problem)
    try:
        redis_allocate(placement=placement)
    except RedisFull as exc:
        raise RedisFull(redis_full_message(target)) from exc
    _save(placement, message=f"Another agent took a container name or the Redis database in {target.name} "
                             "meanwhile; try again.")
    parameters = {name: value for name, value in last.parameters.items() if name not in ENVIRONMENT_PARAMETERS}
    parameters.update(environment_parameters(environment=target, warm=placement.cosmos_container,
                                             cold=placement.blob_container, redis_db=placement.redis_db))
    audit_record(action="agent.promoted", obj=agent, actor=user, request=request,
                 details={"from": source.name, "to": target.name, "source_deployment": last.pk,
                          "tag": placement.image_tag, "redis_database": placement.redis_db,
                          "placement_created": created})
    if not reason.strip() and not target.needs_approval:
        reason = f"Promotion from {source.name} (#{last.pk})"
    return deployment_services.deployment_request(
        environment=target, template=AGENT_TEMPLATE, parameters=parameters, sealed_secure=last.secure_parameters,
        secure_names=last.secure_parameter_names, user=user, request=request, reason=reason, agent=agent,
        auto_confirm=True, then_apply_workload=True)

