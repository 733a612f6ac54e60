"""Make the sandbox cloud match the demo catalog: the workloads of running placements exist on the
sandbox clusters, the platform's role assignments exist (with the demo's drift), and costs are ingested.
Does nothing outside the sandbox; leaves what is already there alone."""

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from portal.catalog.choices import PlacementStatus
from portal.catalog.models import Placement
from portal.deployments.backends import cluster_backend
from portal.deployments.services import workload_spec


class Command(BaseCommand):
    help = "Seed the sandbox cloud with the demo's workloads, role assignments and costs."

    def handle(self, *args, **options):
        if settings.PORTAL_CLOUD != "sandbox":
            self.stdout.write("Not the sandbox cloud: nothing to seed.")
            return
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
