"""What onboarding an agent will create: the agent module's parameters for an environment, and the
review (step 3) that lists the module's resources with those parameters."""

import json
from dataclasses import dataclass, fields

from portal.catalog.models import Environment
from portal.catalog.onboarding.rules import AGENT_TEMPLATE, REDIS_SHARE, RedisOptions, redis_key_prefix
from portal.deployments import templates
from provisioning.bicep import template_resources
from provisioning.cluster.base import AgentWorkloadSpec

# What every agent workload gets (AgentWorkloadSpec's defaults): shown, not chosen per agent yet.
WORKLOAD_RESOURCES = {f.name: f.default for f in fields(AgentWorkloadSpec)
                      if f.name in ("cpu_request", "memory_request", "cpu_limit", "memory_limit")}
# Agent-module parameters that belong to one environment: recomputed when an agent is promoted.
ENVIRONMENT_PARAMETERS = frozenset({"environment", "location", "resourceGroupName", "cosmosAccountName",
                                    "storageAccountName", "keyVaultName", "redisDatabase", "warmContainerName",
                                    "coldContainerName"})


def environment_parameters(*, environment: Environment, warm: str, cold: str, redis_db: int | None) -> dict:
    return {"environment": environment.name, "location": environment.region,
            "resourceGroupName": environment.resource_group, "warmContainerName": warm, "coldContainerName": cold,
            "redisDatabase": redis_db}


def agent_parameters(*, identity: dict, resources: dict, environment: Environment, redis_db: int | None) -> dict:
    return {"agentName": identity["slug"],
            **environment_parameters(environment=environment, warm=resources["warm_container"],
                                     cold=resources["cold_container"], redis_db=redis_db),
            "enableAiSearch": resources["needs_ai_search"], "enableOpenAi": resources["needs_openai"],
            # The memory tiers chosen decide which containers the agent module creates (issue #9).
            "createWarmContainer": "warm" in resources["memory_tiers"],
            "createColdContainer": "cold" in resources["memory_tiers"]}


@dataclass(frozen=True)
class OnboardingPlan:
    environment: Environment
    parameters: dict
    resources: tuple  # provisioning.backends.base.ResourceSpec
    redis_db: int | None
    redis_shared_with: tuple[str, ...]
    key_prefix: str
    image_ref: str
    replicas: int
    workload_resources: dict

    @property
    def parameter_rows(self) -> list[tuple[str, str]]:
        return [(name, json.dumps(value)) for name, value in self.parameters.items()]


def onboarding_plan(*, identity: dict, resources: dict, environment: Environment,
                    redis: RedisOptions) -> OnboardingPlan:
    """The review: the agent module's resources with these parameters (a local read of the template)."""
    shared = resources["redis_mode"] == REDIS_SHARE
    redis_db = resources["redis_share_db"] if shared else redis.next_free
    parameters = agent_parameters(identity=identity, resources=resources, environment=environment, redis_db=redis_db)
    info = templates.template_get(AGENT_TEMPLATE)
    return OnboardingPlan(
        environment=environment, parameters=parameters, resources=template_resources(info.path, parameters),
        redis_db=redis_db, redis_shared_with=redis.sharing(redis_db) if shared else (),
        key_prefix=redis_key_prefix(identity["slug"]), image_ref=f"{resources['image']}:{resources['image_tag']}",
        replicas=resources["replicas"], workload_resources=WORKLOAD_RESOURCES)
