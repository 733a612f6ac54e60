"""Onboarding an agent: the guided form, what it will create in dev, registering and deploying it,
the agent page's checklist, and promoting it to the next environments.

The form has three steps (identity, resources, review). Earlier steps' values travel as hidden fields
and are validated again at every step, so nothing from the browser is trusted and no session is
needed. Names are checked against Azure's and Kubernetes' rules (portal.catalog.naming) and against
the catalog: a slug or container name already taken, a Redis database free within the SKU's limit.

- rules.py: the onboarding environment, slug/container/image rules, Redis options and messages
- plan.py: the agent module's parameters and the review of what it will create
- forms.py: the form's steps, the wizard that drives them, the promotion form
- services.py (writes): agent_onboard, agent_promote
- selectors.py (reads): the checklist, the promotions, the agent page's onboarding context

Import from here (`from portal.catalog import onboarding`, then `onboarding.X`); the modules import
each other in that order (rules, plan, forms, selectors, services), never back.
"""

from portal.catalog.onboarding.rules import (
    AGENT_NAME_LENGTH,
    AGENT_TEMPLATE,
    IMAGE_RE,
    ONBOARDING_ENVIRONMENT,
    REDIS_OWN,
    REDIS_SHARE,
    RESERVED_SLUGS,
    TAG_RE,
    RedisOptions,
    cold_container_problem,
    container_owner,
    onboarding_environment,
    redis_full_message,
    redis_key_prefix,
    redis_options,
    slug_problem,
    suggest_slug,
    warm_container_problem,
)
from portal.catalog.onboarding.plan import (
    ENVIRONMENT_PARAMETERS,
    WORKLOAD_RESOURCES,
    OnboardingPlan,
    agent_parameters,
    environment_parameters,
    onboarding_plan,
)
from portal.catalog.onboarding.forms import (
    IDENTITY_FIELDS,
    RESOURCE_FIELDS,
    IdentityForm,
    LiveValidationForm,
    OnboardingWizard,
    PromoteForm,
    ResourcesForm,
    form_for_field,
)
from portal.catalog.onboarding.selectors import (
    STATE_LABELS,
    Checklist,
    ChecklistStep,
    Promotion,
    agent_checklist,
    agent_onboarding_context,
    agent_promotions,
    promotion_source,
)
from portal.catalog.onboarding.services import agent_onboard, agent_promote

# The errors its services raise, where callers of onboarding.agent_onboard/agent_promote look for them.
from portal.catalog.services import RedisFull
from portal.core.errors import ConflictError, DomainError

__all__ = [
    # rules
    "AGENT_NAME_LENGTH", "AGENT_TEMPLATE", "IMAGE_RE", "ONBOARDING_ENVIRONMENT", "REDIS_OWN", "REDIS_SHARE",
    "RESERVED_SLUGS", "TAG_RE", "RedisOptions", "cold_container_problem", "container_owner",
    "onboarding_environment", "redis_full_message", "redis_key_prefix", "redis_options", "slug_problem",
    "suggest_slug", "warm_container_problem",
    # plan
    "ENVIRONMENT_PARAMETERS", "WORKLOAD_RESOURCES", "OnboardingPlan", "agent_parameters", "environment_parameters",
    "onboarding_plan",
    # forms
    "IDENTITY_FIELDS", "RESOURCE_FIELDS", "IdentityForm", "LiveValidationForm", "OnboardingWizard", "PromoteForm",
    "ResourcesForm", "form_for_field",
    # selectors
    "STATE_LABELS", "Checklist", "ChecklistStep", "Promotion", "agent_checklist", "agent_onboarding_context",
    "agent_promotions", "promotion_source",
    # services
    "agent_onboard", "agent_promote",
    # errors
    "ConflictError", "DomainError", "RedisFull",
]
