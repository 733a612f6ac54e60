from decimal import Decimal

import pytest

from tests.factories import AgentFactory, EnvironmentFactory, NodePoolFactory, PlacementFactory, TeamFactory


@pytest.fixture
def envs(db):
    """dev, staging and prod with the demo's budgets, and agents running in them."""
    made = {}
    for position, (name, budget) in enumerate([("dev", 600), ("staging", 1500), ("prod", 4200)]):
        made[name] = EnvironmentFactory(name=name, position=position, monthly_budget=Decimal(budget))
        NodePoolFactory(environment=made[name], name="agents")
    ecommerce, crm = TeamFactory(slug="ecommerce", name="E-commerce team"), TeamFactory(slug="crm", name="CRM team")
    search = AgentFactory(slug="ecommerce-catalog-search", owner_team=ecommerce)
    cart = AgentFactory(slug="ecommerce-cart-intelligence", owner_team=ecommerce)
    support = AgentFactory(slug="crm-support-assistance", owner_team=crm)
    for agent, replicas in ((search, 1), (cart, 1), (support, 2)):
        PlacementFactory(agent=agent, environment=made["dev"], replicas=replicas)
    PlacementFactory(agent=search, environment=made["prod"], replicas=2)
    return made
