"""The Holiday Peak Hub platform as demo data: environments, node pools, teams, the 21 agents, users.

Creates what is missing and leaves what exists alone, so loading twice changes nothing.
"""

import csv
from decimal import Decimal
from pathlib import Path

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import transaction

from portal.accounts import roles
from portal.accounts.services import roles_sync, user_create_with_role
from portal.catalog.choices import APPROVAL_OPERATIONS, MemoryTier, NodePoolMode, PlacementStatus, Tier
from portal.catalog.models import Agent, Environment, NodePool, Placement, Team
from portal.catalog.naming import suggest_blob_container_name, warm_container_name
from portal.catalog.services import RedisFull, redis_allocate

AGENTS_CSV = Path(__file__).parent / "demo_data" / "agents.csv"

COSMOS_CONTAINERS = ["users", "products", "orders", "cart", "reviews", "addresses", "payment_methods",
                     "tickets", "shipments", "audit_logs"]
EVENT_HUB_TOPICS = ["order-events", "inventory-events", "shipment-events", "payment-events", "user-events"]

ENVIRONMENTS = [
    # name, tier, budget, approvals, vm size for the pools
    ("dev", Tier.DEVELOPMENT, Decimal("600"), 0, "Standard_B4ms"),
    ("staging", Tier.STAGING, Decimal("1500"), 0, "Standard_D4s_v5"),
    ("prod", Tier.PRODUCTION, Decimal("4200"), 1, "Standard_D4s_v5"),
]
NODE_POOLS = [
    ("system", NodePoolMode.SYSTEM, 1, 5, []),
    ("agents", NodePoolMode.USER, 2, 20, ["workload=agents:NoSchedule"]),
    ("crud", NodePoolMode.USER, 1, 10, ["workload=crud:NoSchedule"]),
]
TEAMS = {
    "crm": "CRM team",
    "ecommerce": "E-commerce team",
    "inventory": "Inventory team",
    "logistics": "Logistics team",
    "product-management": "Product management team",
    "platform": "Platform team",
}
NEEDS_AI_SEARCH = {"ecommerce-catalog-search", "ecommerce-product-detail-enrichment",
                   "product-management-normalization-classification"}
NEEDS_OPENAI = {"crm-support-assistance", "ecommerce-checkout-support", "ecommerce-product-detail-enrichment",
                "crm-campaign-intelligence", "logistics-returns-support"}
# Which agents run beyond dev in the demo.
STAGING_AGENTS = {"crm-profile-aggregation", "crm-support-assistance", "ecommerce-cart-intelligence",
                  "ecommerce-catalog-search", "ecommerce-checkout-support", "ecommerce-order-status",
                  "inventory-health-check", "logistics-eta-computation"}
PROD_AGENTS = {"ecommerce-cart-intelligence", "ecommerce-catalog-search", "ecommerce-checkout-support",
               "ecommerce-order-status", "logistics-eta-computation"}

DEMO_PASSWORD = "peak-demo-2026"
DEMO_USERS = [
    # username, role, full name, superuser
    ("viewer", roles.VIEWER, "Vera Viewer", False),
    ("engineer", roles.ENGINEER, "Erin Engineer", False),
    ("engineer2", roles.ENGINEER, "Eli Engineer", False),
    ("approver", roles.APPROVER, "Ada Approver", False),
    ("admin", roles.PLATFORM_ADMIN, "Pat Admin", True),
]


ACRONYMS = {"jit": "JIT", "eta": "ETA", "acp": "ACP"}


def _title(slug: str, domain: str) -> str:
    rest = slug.removeprefix(domain + "-")
    return " ".join(ACRONYMS.get(word, word.capitalize()) for word in rest.split("-"))


def demo_agents() -> list[dict]:
    with AGENTS_CSV.open(newline="") as f:
        return list(csv.DictReader(f))


@transaction.atomic
def demo_load(*, password: str = DEMO_PASSWORD) -> dict:
    """Load the demo platform. Returns counts of what it created."""
    created = {"environments": 0, "node_pools": 0, "teams": 0, "agents": 0, "placements": 0, "users": 0}
    groups = roles_sync()

    envs = {}
    for position, (name, tier, budget, approvals, vm_size) in enumerate(ENVIRONMENTS):
        env, made = Environment.objects.get_or_create(
            name=name,
            defaults=dict(
                tier=tier, position=position, region="eastus",
                resource_group=f"holidaypeakhub-{name}-rg", aks_cluster=f"holidaypeakhub-{name}-aks",
                redis_sku="P1", redis_reserved_databases=1, monthly_budget=budget,
                cosmos_containers=COSMOS_CONTAINERS, event_hub_topics=EVENT_HUB_TOPICS,
                approvals_required=approvals, approver_group=groups[roles.APPROVER] if approvals else None,
            ),
        )
        created["environments"] += made
        if not env.resource_name_pattern:
            # Issue #9: what each environment owns, and what its policy asks approval for.
            code = {"staging": "stg", "prod": "prd"}.get(name, name)
            env.resource_name_pattern = f"^holidaypeakhub-?{name}|-{code}-(search|openai)$"
            env.resource_groups = [f"peakportal-{name}-rg"]   # the portal's own infrastructure (bicep/portal)
            env.approval_operations = ([op for op in APPROVAL_OPERATIONS if op != "restart"] if approvals
                                       else list(APPROVAL_OPERATIONS))
            env.save(update_fields=["resource_name_pattern", "resource_groups", "approval_operations"])
        envs[name] = env
        for pool, mode, low, high, taints in NODE_POOLS:
            _, made = NodePool.objects.get_or_create(
                environment=env, name=pool,
                defaults=dict(mode=mode, vm_size=vm_size, min_nodes=low, max_nodes=high, taints=taints),
            )
            created["node_pools"] += made

    teams = {}
    for slug, name in TEAMS.items():
        teams[slug], made = Team.objects.get_or_create(slug=slug, defaults={"name": name,
                                                                            "email": f"{slug}@holidaypeakhub.example"})
        created["teams"] += made

    for row in demo_agents():
        slug, domain = row["slug"], row["domain"]
        agent, made = Agent.objects.get_or_create(
            slug=slug,
            defaults=dict(
                display_name=_title(slug, domain), domain=domain, owner_team=teams[domain],
                description=f"{_title(slug, domain)} agent of the {domain} domain.",
                image=f"holidaypeakhubacr.azurecr.io/agents/{slug}",
                memory_tiers=[MemoryTier.HOT, MemoryTier.WARM, MemoryTier.COLD],
                needs_ai_search=slug in NEEDS_AI_SEARCH, needs_openai=slug in NEEDS_OPENAI,
            ),
        )
        created["agents"] += made
        for env_name in ("dev", "staging", "prod"):
            if env_name == "staging" and slug not in STAGING_AGENTS:
                continue
            if env_name == "prod" and slug not in PROD_AGENTS:
                continue
            if Placement.objects.filter(agent=agent, environment=envs[env_name]).exists():
                continue
            placement = Placement(
                agent=agent, environment=envs[env_name], image_tag="1.4.2" if env_name == "dev" else "1.4.1",
                replicas=1 if env_name == "dev" else 2, cosmos_container=warm_container_name(slug),
                blob_container=suggest_blob_container_name(slug), status=PlacementStatus.RUNNING,
            )
            try:
                redis_allocate(placement=placement)
            except RedisFull:
                # The design document's 22 databases do not fit on its P1: show it, don't hide it.
                placement.status = PlacementStatus.BLOCKED
                env = envs[env_name]
                placement.status_detail = (f"No free Redis database: {env.redis_sku} has "
                                           f"{env.redis_database_limit}, all allocated.")
            placement.save()
            created["placements"] += 1

    existing = set(get_user_model().objects.values_list("username", flat=True))
    password_hash = None   # one PBKDF2 hash shared by the demo users (they share the password): ~3 s less start-up
    for username, role, full_name, superuser in DEMO_USERS:
        if username in existing:
            continue
        password_hash = password_hash or make_password(password)
        first, last = full_name.split(" ", 1)
        user_create_with_role(username=username, password=password, role=role, first_name=first, last_name=last,
                              email=f"{username}@holidaypeakhub.example", is_superuser=superuser,
                              password_hash=password_hash)
        created["users"] += 1
    return created
