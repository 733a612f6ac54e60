import factory
from django.contrib.auth import get_user_model

from portal.catalog.choices import MemoryTier, PlacementStatus, Tier
from portal.catalog.models import Agent, Environment, NodePool, Placement, Team
from portal.catalog.naming import suggest_blob_container_name, warm_container_name


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.PostGenerationMethodCall("set_password", "pw-for-tests-1")

    @factory.post_generation
    def role(self, create, extracted, **kwargs):
        if extracted:
            from django.contrib.auth.models import Group

            self.groups.add(Group.objects.get(name=extracted))
        if create:
            self.save()


class EnvironmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Environment
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"env{n}")
    tier = Tier.DEVELOPMENT
    resource_group = factory.LazyAttribute(lambda e: f"holidaypeakhub-{e.name}-rg")
    aks_cluster = factory.LazyAttribute(lambda e: f"holidaypeakhub-{e.name}-aks")
    redis_sku = "P1"


class NodePoolFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = NodePool

    environment = factory.SubFactory(EnvironmentFactory)
    name = factory.Sequence(lambda n: f"pool{n}")
    vm_size = "Standard_D4s_v5"
    min_nodes = 1
    max_nodes = 5


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"team-{n}")
    name = factory.LazyAttribute(lambda t: t.slug.replace("-", " ").title())


class AgentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Agent

    slug = factory.Sequence(lambda n: f"agent-{n:03d}")
    display_name = factory.LazyAttribute(lambda a: a.slug.replace("-", " ").title())
    domain = "ecommerce"
    owner_team = factory.SubFactory(TeamFactory)
    image = factory.LazyAttribute(lambda a: f"acr.example.io/agents/{a.slug}")
    memory_tiers = factory.LazyFunction(lambda: [MemoryTier.HOT, MemoryTier.WARM, MemoryTier.COLD])


class PlacementFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Placement

    agent = factory.SubFactory(AgentFactory)
    environment = factory.SubFactory(EnvironmentFactory)
    cosmos_container = factory.LazyAttribute(lambda p: warm_container_name(p.agent.slug))
    blob_container = factory.LazyAttribute(lambda p: suggest_blob_container_name(p.agent.slug))
    status = PlacementStatus.RUNNING
