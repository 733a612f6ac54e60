"""Onboarding an agent: the guided form, what it will create in dev, registering and deploying it,
the agent page's checklist, and promoting it to the next environments.

The form has three steps (identity, resources, review). Earlier steps' values travel as hidden fields
and are validated again at every step, so nothing from the browser is trusted and no session is
needed. Names are checked against Azure's and Kubernetes' rules (portal.catalog.naming) and against
the catalog: a slug or container name already taken, a Redis database free within the SKU's limit.
"""

import json
import re
from dataclasses import dataclass, fields

from django import forms
from django.db import IntegrityError, transaction
from django.urls import reverse

from portal.audit.services import audit_record
from portal.catalog.choices import REDIS_DATABASES, MemoryTier, PlacementStatus
from portal.catalog.models import Agent, Environment, Placement, Team, slug_validator
from portal.catalog.naming import (
    blob_container_errors,
    cold_container_name,
    cosmos_container_errors,
    dns1123_label_errors,
    suggest_blob_container_name,
    warm_container_name,
)
from portal.catalog.services import RedisFull, redis_allocate, redis_free_databases
from portal.core.errors import ConflictError, DomainError
from portal.deployments import services as deployment_services
from portal.deployments import templates
from portal.deployments.choices import IN_PROGRESS, ClusterAction, DeploymentKind, DeploymentStatus
from portal.deployments.models import Deployment
from provisioning.bicep import template_resources
from provisioning.cluster.base import AgentWorkloadSpec

ONBOARDING_ENVIRONMENT = "dev"
AGENT_TEMPLATE = "agent"
AGENT_NAME_LENGTH = (3, 50)  # the agent module's @minLength/@maxLength on agentName
REDIS_OWN, REDIS_SHARE = "own", "share"
RESERVED_SLUGS = frozenset({"new"})  # /agents/new/ is this form
# What every agent workload gets (AgentWorkloadSpec's defaults): shown, not chosen per agent yet.
WORKLOAD_RESOURCES = {f.name: f.default for f in fields(AgentWorkloadSpec)
                      if f.name in ("cpu_request", "memory_request", "cpu_limit", "memory_limit")}
# Agent-module parameters that belong to one environment: recomputed when an agent is promoted.
ENVIRONMENT_PARAMETERS = frozenset({"environment", "location", "resourceGroupName", "cosmosAccountName",
                                    "storageAccountName", "keyVaultName", "redisDatabase", "warmContainerName",
                                    "coldContainerName"})
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


# --- The form's steps ---------------------------------------------------------------------------

class LiveValidationForm(forms.Form):
    """Each visible field asks the server about itself as you type or leave it (htmx); the answer
    replaces the field's feedback, never the input being typed in."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            if isinstance(field.widget, forms.HiddenInput):
                continue
            typed = isinstance(field.widget, (forms.TextInput, forms.NumberInput, forms.Textarea))
            field.widget.attrs.update({
                "hx-post": reverse("catalog:agent_onboard_check", args=[name]),
                "hx-trigger": "input changed delay:400ms, blur" if typed else "change",
                "hx-target": f"#{name}-feedback", "hx-swap": "outerHTML", "hx-include": "closest form",
                "hx-sync": "this:replace", "aria-describedby": f"{name}-feedback",
            })


class IdentityForm(LiveValidationForm):
    slug = forms.CharField(help_text="Lowercase letters, digits and hyphens, starting with a letter; 3 to 50 "
                                     "characters. Names its Kubernetes workload and its memory containers.")
    display_name = forms.CharField(label="Name", max_length=100)
    domain = forms.CharField(max_length=40, validators=[slug_validator],
                             help_text="e.g. ecommerce, crm, inventory, logistics, product-management.")
    owner_team = forms.ModelChoiceField(label="Owner team", queryset=Team.objects.order_by("name"),
                                        to_field_name="slug", empty_label="Choose a team")
    description = forms.CharField(required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3}))

    def clean_slug(self):
        slug = self.cleaned_data["slug"]
        problem = slug_problem(slug)
        if problem:
            raise forms.ValidationError(problem)
        owner = Agent.objects.filter(slug=slug).values_list("owner_team__name", flat=True).first()
        if owner is not None:
            raise forms.ValidationError(f"An agent with the slug “{slug}” is already registered ({owner}). "
                                        "Choose another slug.")
        return slug


class ResourcesForm(LiveValidationForm):
    image = forms.CharField(label="Container image", max_length=255,
                            help_text="The repository, without the tag, e.g. holidaypeakhubacr.azurecr.io/agents/…")
    image_tag = forms.CharField(label="Tag", max_length=128, initial="latest")
    replicas = forms.IntegerField(min_value=1, max_value=50, initial=1)
    health_path = forms.CharField(label="Health endpoint", max_length=100, initial="/health")
    memory_tiers = forms.MultipleChoiceField(
        choices=MemoryTier.choices, widget=forms.CheckboxSelectMultiple, required=False,
        initial=list(MemoryTier.values), label="Memory tiers it uses",
        help_text="The agent module creates both containers and takes a Redis database for every agent.")
    warm_container = forms.CharField(label="Warm memory: Cosmos DB container")
    cold_container = forms.CharField(label="Cold memory: blob container")
    redis_mode = forms.ChoiceField(label="Hot memory: Redis database", widget=forms.RadioSelect)
    redis_share_db = forms.TypedChoiceField(label="Database to share", coerce=int, required=False, empty_value=None)
    needs_ai_search = forms.BooleanField(label="Azure AI Search: its own search service", required=False)
    needs_openai = forms.BooleanField(label="Azure OpenAI: its own account and model deployment", required=False)
    names_for = forms.CharField(required=False, widget=forms.HiddenInput)  # the slug the names were made for

    workload_resources = WORKLOAD_RESOURCES
    GROUPS = (
        ("Container", ("image", "image_tag", "replicas", "health_path")),
        ("Memory", ("memory_tiers", "warm_container", "cold_container", "redis_mode", "redis_share_db")),
        ("AI services", ("needs_ai_search", "needs_openai")),
    )

    def __init__(self, *args, slug: str, environment: Environment, redis: RedisOptions, initial=None, **kwargs):
        defaults = {"warm_container": warm_container_name(slug), "cold_container": cold_container_name(slug),
                    "names_for": slug, "redis_mode": None if redis.full else REDIS_OWN}
        super().__init__(*args, initial={**defaults, **(initial or {})}, **kwargs)
        self.slug, self.environment, self.redis = slug, environment, redis
        own = (f"Its own database: {redis.next_free}, the lowest free in {environment.name}" if not redis.full
               else f"Its own database (none free in {environment.name})")
        self.fields["redis_mode"].choices = [
            (REDIS_OWN, own),
            (REDIS_SHARE, f"Share a database with another agent, keys prefixed “{redis_key_prefix(slug)}”"),
        ]
        self.fields["redis_share_db"].choices = [("", "Choose a database")] + [
            (db, f"{db}: {owner}") for db, owner in redis.in_use]
        self.fields["image"].widget.attrs["placeholder"] = f"holidaypeakhubacr.azurecr.io/agents/{slug}"

    def fieldsets(self):
        return [(legend, [self[name] for name in names]) for legend, names in self.GROUPS]

    @property
    def cold_suggestion(self) -> str:
        """The compliant name to offer when the cold container's name breaks the blob rules."""
        value = self["cold_container"].value() or ""
        suggestion = suggest_blob_container_name(self.slug) if self.slug else ""
        return suggestion if blob_container_errors(value) and suggestion != value else ""

    @property
    def cold_notice(self) -> str:
        """Before anything is submitted, say at once when the default name does not fit."""
        if self.is_bound or not self.cold_suggestion:
            return ""
        return cold_container_problem(environment=self.environment, name=self["cold_container"].value(),
                                      slug=self.slug) or ""

    def clean_image(self):
        image = self.cleaned_data["image"].strip()
        head, _, last = image.rpartition("/")
        if ":" in last or "@" in last:
            name = re.split(r"[:@]", last)[0]
            repository = f"{head}/{name}" if head else name
            raise forms.ValidationError(f"Put the version in Tag, not in the image: image “{repository}” and the "
                                        "tag on its own.")
        if not IMAGE_RE.fullmatch(image):
            raise forms.ValidationError("Use a registry and repository in lowercase, e.g. "
                                        f"“holidaypeakhubacr.azurecr.io/agents/{self.slug or 'my-agent'}”.")
        return image

    def clean_image_tag(self):
        tag = self.cleaned_data["image_tag"].strip()
        if not TAG_RE.fullmatch(tag):
            raise forms.ValidationError("A tag is up to 128 letters, digits, underscores, dots and hyphens, not "
                                        "starting with a dot or hyphen, e.g. “1.4.2”.")
        return tag

    def clean_health_path(self):
        path = self.cleaned_data["health_path"].strip()
        if not path.startswith("/") or " " in path:
            raise forms.ValidationError("Give the path the cluster probes, starting with “/”, e.g. “/health”.")
        return path

    def clean_warm_container(self):
        name = self.cleaned_data["warm_container"]
        problem = warm_container_problem(environment=self.environment, name=name, slug=self.slug)
        if problem:
            raise forms.ValidationError(problem)
        return name

    def clean_cold_container(self):
        name = self.cleaned_data["cold_container"]
        problem = cold_container_problem(environment=self.environment, name=name, slug=self.slug)
        if problem:
            raise forms.ValidationError(problem)
        return name

    def clean(self):
        data = super().clean()
        mode, shared = data.get("redis_mode"), data.get("redis_share_db")
        if mode == REDIS_OWN and self.redis.full:
            self.add_error("redis_mode", self.redis.full_message)
        elif mode == REDIS_SHARE and shared is None and "redis_share_db" not in self.errors:
            self.add_error("redis_share_db", "Choose the database to share: the agent's keys get the prefix "
                                             f"“{redis_key_prefix(self.slug)}” so they do not collide.")
        return data


IDENTITY_FIELDS = tuple(IdentityForm.base_fields)
RESOURCE_FIELDS = tuple(ResourcesForm.base_fields)


def _as_initial(form: forms.Form) -> dict:
    """A bound form's submitted values, to show again without errors."""
    return {name: form[name].data for name in form.fields}


def form_for_field(name: str, data, *, environment: Environment) -> forms.Form | None:
    """The step form that holds this field, bound to the posted values (for the live checks)."""
    if name in IDENTITY_FIELDS:
        return IdentityForm(data)
    if name in RESOURCE_FIELDS and name != "names_for":
        return ResourcesForm(data, slug=data.get("slug", "").strip(), environment=environment,
                             redis=redis_options(environment=environment))
    return None


class OnboardingWizard:
    """Which step a request shows, with its forms: 1 identity, 2 resources, 3 review."""

    def __init__(self, data=None, *, environment: Environment):
        self.environment = environment
        self.redis = redis_options(environment=environment)
        self.data, self.step, self.status, self.error = data, 1, 200, ""
        self.identity, self.resources, self.plan, self.register = IdentityForm(), None, None, False
        if data is not None:
            self._resolve(data)

    def _resources_form(self, data=None, initial=None) -> ResourcesForm:
        return ResourcesForm(data, initial=initial, slug=self.identity.cleaned_data["slug"],
                             environment=self.environment, redis=self.redis)

    def _resolve(self, data) -> None:
        came_from = _number(data.get("step"), 1)
        target = 3 if "register" in data else 2 if "use_cold_suggestion" in data else _number(data.get("go"), came_from)
        self.identity = IdentityForm(data)
        if target == 1 or not self.identity.is_valid():
            if target == 1 and came_from > 1:
                self.identity = IdentityForm(initial=_as_initial(self.identity))  # going back: no errors
            elif self.identity.errors:
                self.status = 400
            return
        slug = self.identity.cleaned_data["slug"]
        self.step = 2
        if target == 2:
            if came_from == 1 and not any(name in data for name in RESOURCE_FIELDS):
                self.resources = self._resources_form()
                return
            initial = _as_initial(self._resources_form(data))
            if "use_cold_suggestion" in data:
                initial["cold_container"] = suggest_blob_container_name(slug)
            self.resources = self._resources_form(initial=_names_for_slug(initial, slug))
            return
        self.resources = self._resources_form(data)
        if not self.resources.is_valid():
            self.status = 400
            return
        self.step = 3
        self.plan = onboarding_plan(identity=self.identity.cleaned_data, resources=self.resources.cleaned_data,
                                    environment=self.environment, redis=self.redis)
        self.register = "register" in data and came_from == 3

    @property
    def carried(self) -> list[tuple[str, str]]:
        """Step 2's values while step 1 is shown again, so going back loses nothing."""
        if self.step != 1 or self.data is None:
            return []
        return [(name, value) for name in RESOURCE_FIELDS for value in self.data.getlist(name)]

    @property
    def cleaned_data(self) -> dict:
        return {"identity": self.identity.cleaned_data, "resources": self.resources.cleaned_data}

    def fail(self, exc: DomainError) -> None:
        """Registration refused (someone took the name or the database meanwhile): show it where it belongs."""
        self.status, self.register = exc.status, False
        if exc.field in IDENTITY_FIELDS:
            self.step = 1
            self.identity.add_error(exc.field, exc.message)
        elif exc.field in RESOURCE_FIELDS:
            self.step = 2
            self.resources.add_error(exc.field, exc.message)
        else:
            self.error = exc.message


def _number(value, default: int) -> int:
    try:
        return min(3, max(1, int(value)))
    except (TypeError, ValueError):
        return default


def _names_for_slug(initial: dict, slug: str) -> dict:
    """Names still at the defaults of an earlier slug follow the slug when it changed."""
    old = initial.get("names_for") or slug
    if old != slug:
        if initial.get("warm_container") == warm_container_name(old):
            initial["warm_container"] = warm_container_name(slug)
        if initial.get("cold_container") in (cold_container_name(old), suggest_blob_container_name(old)):
            initial["cold_container"] = cold_container_name(slug)
    initial["names_for"] = slug
    return initial


# --- What it will create -----------------------------------------------------------------------

def environment_parameters(*, environment: Environment, warm: str, cold: str, redis_db: int | None) -> dict:
    return {"environment": environment.name, "location": environment.region,
            "resourceGroupName": environment.resource_group, "warmContainerName": warm, "coldContainerName": cold,
            "redisDatabase": redis_db}


def agent_parameters(*, identity: dict, resources: dict, environment: Environment, redis_db: int | None) -> dict:
    return {"agentName": identity["slug"],
            **environment_parameters(environment=environment, warm=resources["warm_container"],
                                     cold=resources["cold_container"], redis_db=redis_db),
            "enableAiSearch": resources["needs_ai_search"], "enableOpenAi": resources["needs_openai"]}


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


# --- Services ----------------------------------------------------------------------------------

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


def promotion_source(*, target: Environment) -> Environment | None:
    """The environment before this one (dev before staging before prod)."""
    ordered = list(Environment.objects.order_by("position", "name"))
    index = next(i for i, env in enumerate(ordered) if env.pk == target.pk)
    return ordered[index - 1] if index else None


def _agent_runs(agent: Agent):
    return Deployment.objects.filter(agent=agent, kind=DeploymentKind.TEMPLATE, template=AGENT_TEMPLATE)


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


class PromoteForm(forms.Form):
    environment = forms.ModelChoiceField(queryset=Environment.objects.all(), to_field_name="name")
    reason = forms.CharField(max_length=500, required=False)


# --- The agent page: checklist and promotion ---------------------------------------------------

STATE_LABELS = {"done": "done", "active": "in progress", "failed": "failed", "todo": "not yet",
                "unknown": "not checked yet"}


@dataclass(frozen=True)
class ChecklistStep:
    key: str
    label: str
    state: str  # a key of STATE_LABELS
    detail: str = ""
    run: Deployment | None = None

    @property
    def state_label(self) -> str:
        return STATE_LABELS[self.state]


@dataclass(frozen=True)
class Checklist:
    environment: Environment | None
    steps: tuple[ChecklistStep, ...]
    note: str = ""

    @property
    def in_progress(self) -> bool:
        return any(step.state == "active" for step in self.steps)


def _run_state(run: Deployment) -> str:
    if run.status in IN_PROGRESS:
        return "active"
    return "done" if run.status == DeploymentStatus.SUCCEEDED else "failed"


def agent_checklist(*, agent: Agent) -> Checklist:
    """How far the agent's onboarding in dev has come (four queries, whatever the number of runs)."""
    env = Environment.objects.filter(name=ONBOARDING_ENVIRONMENT).first()
    placement = Placement.objects.filter(agent=agent, environment=env).first() if env else None
    runs = Deployment.objects.filter(agent=agent, environment=env).order_by("-created_at", "-pk")
    resources_run = runs.filter(kind=DeploymentKind.TEMPLATE, template=AGENT_TEMPLATE).first()
    workload_run = runs.filter(kind=DeploymentKind.CLUSTER, cluster_action=ClusterAction.APPLY).first()
    who = f" by {agent.created_by.get_username()}" if agent.created_by else ""
    steps = [ChecklistStep("registered", "Registered", "done", f"in the catalog{who}")]

    if resources_run is None:
        steps.append(ChecklistStep("resources", "Resources created", "todo",
                                   f"no deployment of the agent module in {ONBOARDING_ENVIRONMENT} yet"))
    else:
        state = _run_state(resources_run)
        steps.append(ChecklistStep("resources", "Resources created", state,
                                   f"deployment #{resources_run.pk}: {resources_run.get_status_display().lower()}",
                                   resources_run))

    running = placement is not None and placement.status == PlacementStatus.RUNNING
    # The resources succeeded and their run starts the workload next: it is on its way.
    chained = (resources_run is not None and resources_run.status == DeploymentStatus.SUCCEEDED
               and resources_run.then_apply_workload and placement is not None and not running
               and (workload_run is None or (resources_run.finished_at is not None
                                             and workload_run.created_at < resources_run.finished_at)))
    if (workload_run is not None and workload_run.status in IN_PROGRESS) or chained:
        steps.append(ChecklistStep("workload", "Workload running", "active", "deploying the Kubernetes workload",
                                   workload_run if not chained else None))
    elif workload_run is not None and workload_run.status != DeploymentStatus.SUCCEEDED:
        status = workload_run.get_status_display().lower()
        steps.append(ChecklistStep("workload", "Workload running", "failed", f"run #{workload_run.pk}: {status}",
                                   workload_run))
    elif running or workload_run is not None:
        replicas = f", {placement.replicas} replica{'s' if placement.replicas != 1 else ''}" if placement else ""
        steps.append(ChecklistStep("workload", "Workload running", "done", f"running{replicas}", workload_run))
    else:
        steps.append(ChecklistStep("workload", "Workload running", "todo", "starts when the resources are created"))
    steps.append(ChecklistStep("health", "Health checks green", "unknown", "the portal does not probe agents yet"))

    note = ""
    if placement is not None and placement.redis_db is None and resources_run is not None \
            and resources_run.parameters.get("redisDatabase") is not None:
        note = (f"Hot memory shares Redis database {resources_run.parameters['redisDatabase']}, keys prefixed "
                f"“{redis_key_prefix(agent.slug)}”.")
    return Checklist(env, tuple(steps), note)


@dataclass(frozen=True)
class Promotion:
    source: Environment
    target: Environment
    source_run: Deployment | None
    source_placement: Placement | None
    target_placement: Placement | None
    pending: Deployment | None

    @property
    def ready(self) -> bool:
        return self.source_run is not None and self.pending is None


def agent_promotions(*, agent: Agent) -> list[Promotion]:
    """Each environment after the first, from the one before it (two queries; placements prefetched)."""
    ordered = list(Environment.objects.order_by("position", "name"))
    placements = {p.environment_id: p for p in agent.placements.all()}
    runs = list(_agent_runs(agent).order_by("-created_at", "-pk").only(
        "pk", "environment_id", "status", "finished_at", "created_at"))
    succeeded = sorted((r for r in runs if r.status == DeploymentStatus.SUCCEEDED),
                       key=lambda r: (r.finished_at is not None, r.finished_at, r.pk), reverse=True)
    promotions = []
    for source, target in zip(ordered, ordered[1:]):
        promotions.append(Promotion(
            source=source, target=target,
            source_run=next((r for r in succeeded if r.environment_id == source.pk), None),
            source_placement=placements.get(source.pk), target_placement=placements.get(target.pk),
            pending=next((r for r in runs if r.environment_id == target.pk and r.status in IN_PROGRESS), None)))
    return promotions


def agent_onboarding_context(*, agent: Agent, promote_form: PromoteForm | None = None) -> dict:
    """What the agent page needs for its onboarding section."""
    return {"checklist": agent_checklist(agent=agent), "promotions": agent_promotions(agent=agent),
            "promote_form": promote_form}
