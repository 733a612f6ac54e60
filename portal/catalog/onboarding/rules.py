"""The onboarding's rules: which environment agents are onboarded into, what a slug, a container
name, an image and a tag must look like, and which Redis databases are free. Each check answers
with a message that says what to change. Names are checked against Azure's and Kubernetes' rules
(portal.catalog.naming) and against the catalog: a slug or container name already taken, a Redis
database free within the SKU's limit.
"""

import re
from dataclasses import dataclass

from portal.catalog.choices import REDIS_DATABASES
from portal.catalog.models import Environment, Placement
from portal.catalog.naming import (
    blob_container_errors,
    cold_container_name,
    cosmos_container_errors,
    dns1123_label_errors,
    suggest_blob_container_name,
    warm_container_name,
)
from portal.catalog.services import redis_free_databases
from portal.core.errors import DomainError

ONBOARDING_ENVIRONMENT = "dev"
AGENT_TEMPLATE = "agent"
AGENT_NAME_LENGTH = (3, 50)  # the agent module's @minLength/@maxLength on agentName
REDIS_OWN, REDIS_SHARE = "own", "share"
RESERVED_SLUGS = frozenset({"new"})  # /agents/new/ is this form
_HOST = r"[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*(:[0-9]+)?"
_PATH = r"[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*"
IMAGE_RE = re.compile(rf"^({_HOST}/)?{_PATH}(/{_PATH})*$")  # a repository reference without tag or digest
TAG_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")


def onboarding_environment() -> Environment:
    try:
        return Environment.objects.get(name=ONBOARDING_ENVIRONMENT)
    except Environment.DoesNotExist:
        raise DomainError(f"There is no {ONBOARDING_ENVIRONMENT} environment to onboard agents into; "
                          "a platform admin creates it first.") from None


def redis_key_prefix(slug: str) -> str:
    return f"{slug}:"


# --- Rules, with messages that say what to change ----------------------------------------------

def suggest_slug(value: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", value.lower()).strip("-")
    slug = re.sub(r"^[0-9-]+", "", slug)[:AGENT_NAME_LENGTH[1]].rstrip("-")
    return slug if len(slug) >= AGENT_NAME_LENGTH[0] else ""


def slug_problem(slug: str) -> str | None:
    low, high = AGENT_NAME_LENGTH
    problems = [p for p in dns1123_label_errors(slug) if "characters" not in p]
    if not low <= len(slug) <= high:
        problems.insert(0, f"is {len(slug)} characters; the agent module takes {low} to {high}")
    if slug[:1].isdigit():
        problems.append("must start with a letter (the workload's Kubernetes Service name is a DNS-1035 label)")
    if slug in RESERVED_SLUGS:
        problems.append("is taken by the portal's own pages (/agents/new/)")
    if not problems:
        return None
    suggestion = suggest_slug(slug)
    hint = f" Try “{suggestion}”." if suggestion and suggestion != slug else ""
    return f"The slug “{slug}” {'; '.join(problems)}.{hint}"


def container_owner(*, environment: Environment, kind: str, name: str, slug: str = "") -> str | None:
    """The agent whose warm (Cosmos) or cold (blob) container in this environment has this name."""
    column = {"warm": "cosmos_container", "cold": "blob_container"}[kind]
    taken = Placement.objects.filter(environment=environment, **{column: name})
    if slug:
        taken = taken.exclude(agent__slug=slug)
    return taken.values_list("agent__slug", flat=True).first()


def warm_container_problem(*, environment: Environment, name: str, slug: str) -> str | None:
    errors = cosmos_container_errors(name)
    if errors:
        return (f"“{name}” {'; '.join(errors)}. Cosmos DB container names are 1 to 255 characters without "
                f"/ \\ # ?, e.g. “{warm_container_name(slug or 'agent')}”.")
    if name in (environment.cosmos_containers or []):
        return (f"“{name}” is one of {environment.name}'s operational Cosmos DB containers. Give the agent its own, "
                f"e.g. “{warm_container_name(slug or 'agent')}”.")
    owner = container_owner(environment=environment, kind="warm", name=name, slug=slug)
    if owner:
        return f"“{name}” is already the warm-memory container of {owner} in {environment.name}. Choose another name."
    return None


def cold_container_problem(*, environment: Environment, name: str, slug: str) -> str | None:
    errors = blob_container_errors(name)
    if errors:
        suggestion = suggest_blob_container_name(slug) if slug else ""
        why = "" if suggestion == cold_container_name(slug) else ": shortened, with a hash of the slug so it stays unique"
        hint = f" Use “{suggestion}” instead{why}." if suggestion and suggestion != name else ""
        rules = ("" if all("characters" in e for e in errors) else " Blob container names are lowercase letters, "
                 "digits and single hyphens, starting and ending with a letter or digit.")
        return f"“{name}” {'; '.join(errors)}.{rules}{hint}"
    owner = container_owner(environment=environment, kind="cold", name=name, slug=slug)
    if owner:
        return f"“{name}” is already the cold-memory container of {owner} in {environment.name}. Choose another name."
    return None


@dataclass(frozen=True)
class RedisOptions:
    environment: Environment
    free: tuple[int, ...]
    in_use: tuple[tuple[int, str], ...]  # (database, agent slug), lowest first

    @property
    def full(self) -> bool:
        return not self.free

    @property
    def next_free(self) -> int | None:
        return self.free[0] if self.free else None

    @property
    def full_message(self) -> str:
        return redis_full_message(self.environment)

    def sharing(self, database: int) -> tuple[str, ...]:
        return tuple(slug for db, slug in self.in_use if db == database)


def redis_options(*, environment: Environment) -> RedisOptions:
    in_use = tuple(Placement.objects.filter(environment=environment, redis_db__isnull=False)
                   .order_by("redis_db").values_list("redis_db", "agent__slug"))
    return RedisOptions(environment, tuple(redis_free_databases(environment=environment)), in_use)


def redis_full_message(environment: Environment) -> str:
    env, limit = environment, environment.redis_database_limit
    cache = f"its {env.get_redis_sku_display()} cache has {limit} database{'s' if limit != 1 else ''}"
    share = "or share a database with another agent, its keys prefixed with the slug (choose “Share” below)"
    if env.redis_clustered:
        return (f"No free Redis database in {env.name}: {cache} (a clustered cache has database 0 only, whatever "
                f"its size). Share a database with another agent, its keys prefixed with the slug.")
    larger = [f"{sku}: {n}" for sku, n in REDIS_DATABASES.items() if sku[0] == env.redis_sku[0] and n > limit]
    bigger = (f"a platform admin moves {env.name} to a larger SKU ({', '.join(larger)} databases), "
              if larger else "")
    return (f"No free Redis database in {env.name}: {cache}, {env.redis_reserved_databases} kept for the platform "
            f"and the rest allocated. Options: {bigger}{share}.")
