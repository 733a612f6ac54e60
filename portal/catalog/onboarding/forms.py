"""The onboarding form: three steps (identity, resources, review), their live field checks, and the
promotion form. Earlier steps' values travel as hidden fields and are validated again at every step,
so nothing from the browser is trusted and no session is needed."""

import re

from django import forms
from django.urls import reverse

from portal.catalog.choices import MemoryTier
from portal.catalog.models import Agent, Environment, Team, slug_validator
from portal.catalog.naming import (
    blob_container_errors,
    cold_container_name,
    suggest_blob_container_name,
    warm_container_name,
)
from portal.catalog.onboarding.plan import WORKLOAD_RESOURCES, onboarding_plan
from portal.catalog.onboarding.rules import (
    IMAGE_RE,
    REDIS_OWN,
    REDIS_SHARE,
    TAG_RE,
    RedisOptions,
    cold_container_problem,
    redis_key_prefix,
    redis_options,
    slug_problem,
    warm_container_problem,
)
from portal.core.errors import DomainError


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


class PromoteForm(forms.Form):
    environment = forms.ModelChoiceField(queryset=Environment.objects.all(), to_field_name="name")
    reason = forms.CharField(max_length=500, required=False)
