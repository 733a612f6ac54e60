"""Make the sandbox cloud match the demo catalog: the environments' resource groups exist (so a template whose
targetScope is 'resourceGroup' deploys into them), the workloads of running placements exist on the
sandbox clusters, the platform's role assignments exist (with the demo's drift), costs are ingested and
a first round of health checks is recorded. Does nothing outside the sandbox; leaves what is there alone."""

from django.core.management import call_command
from django.core.management.base import BaseCommand

from portal.catalog.choices import PlacementStatus
from portal.catalog.models import Environment, Placement
from portal.core import backends as registry
from portal.deployments.backends import cluster_backend
from portal.deployments.services import workload_spec
from portal.health.choices import CheckKind
from portal.health.services import health_checks_run


class Command(BaseCommand):
    help = "Seed the sandbox cloud with the demo's workloads, role assignments and costs."

    def handle(self, *args, **options):
        if not registry.is_sandbox("cluster"):
            self.stdout.write("Not the sandbox cloud: nothing to seed.")
            return
        groups = 0
        for environment in Environment.objects.order_by("position"):
            with registry.opened("cloud", environment) as cloud:
                for group in environment.scope_resource_groups:
                    cloud.ensure_resource_group(group, environment.region)
                    groups += 1
        self.stdout.write(f"Sandbox cloud: {groups} resource group(s) in place.")
        created = 0
        running = Placement.objects.filter(status=PlacementStatus.RUNNING).select_related("agent", "environment")
        for placement in running:
            cluster = cluster_backend(placement.environment)
            if cluster.get_workload(placement.agent.slug) is not None:
                continue
            cluster.apply_agent_workload(workload_spec(placement))
            created += 1
        self.stdout.write(f"Sandbox clusters: {created} workload(s) created.")
        call_command("seed_sandbox_rbac", stdout=self.stdout)
        call_command("ingest_costs", stdout=self.stdout)
        # A first round of health checks, so the boards have something before beat's first sweep.
        for environment in Environment.objects.order_by("position"):
            for kind in CheckKind.values:
                health_checks_run(environment_id=environment.pk, kind=kind)
        self.stdout.write("Health: a first round of checks recorded.")
