from io import StringIO

from django.core.management import call_command

from portal.catalog.choices import PlacementStatus
from portal.catalog.models import Environment, Placement
from portal.deployments.backends import cluster_backend


def test_seed_sandbox_deploys_the_running_demo_workloads_once(demo):
    out = StringIO()
    call_command("seed_sandbox", stdout=out)
    running = Placement.objects.filter(status=PlacementStatus.RUNNING).count()
    assert f"{running} workload(s) created" in out.getvalue()
    dev = Environment.objects.get(name="dev")
    workload = cluster_backend(dev).get_workload("ecommerce-catalog-search")
    assert workload is not None and workload.available_replicas == workload.desired_replicas
    assert cluster_backend(dev).get_workload("logistics-returns-support") is None  # blocked: no Redis database
    again = StringIO()
    call_command("seed_sandbox", stdout=again)
    assert "0 workload(s) created" in again.getvalue()


def test_seed_sandbox_makes_the_environments_resource_groups_for_resource_group_templates(demo):
    from portal.deployments.backends import sandbox_cloud

    call_command("seed_sandbox", stdout=StringIO())
    groups = {item["name"] for item in sandbox_cloud().inventory().values()
              if item["type"] == "Microsoft.Resources/resourceGroups"}
    assert groups == {g for env in Environment.objects.all() for g in env.scope_resource_groups}
    assert "holidaypeakhub-dev-rg" in groups
