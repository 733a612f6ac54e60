"""Faults in the sandbox's health, for demos and tests:

    python manage.py inject_health_fault dev --resource Redis --state Degraded
    python manage.py inject_health_fault dev --node-not-ready aks-agents-00000000-vmss000000
    python manage.py inject_health_fault dev --crash-loop ecommerce-catalog-search --restarts 7
    python manage.py inject_health_fault dev --clear
"""

from django.core.management.base import BaseCommand, CommandError

from portal.catalog.models import Environment
from portal.core import backends as registry
from portal.core.errors import DomainError
from portal.deployments.backends import cluster_backend
from portal.health import services
from provisioning.cluster.base import ClusterError


class Command(BaseCommand):
    help = "Inject a Resource Health state, a NotReady node or a crash loop into the sandbox (or clear them)."

    def add_arguments(self, parser):
        parser.add_argument("environment")
        parser.add_argument("--resource", help="A shared resource: AKS, Cosmos DB, Redis, Event Hubs, ...")
        parser.add_argument("--state", default="Unavailable", help="Available, Degraded, Unavailable or Unknown.")
        parser.add_argument("--node-not-ready", metavar="NODE")
        parser.add_argument("--crash-loop", metavar="AGENT")
        parser.add_argument("--restarts", type=int, default=5)
        parser.add_argument("--clear", action="store_true", help="Remove every fault of the environment.")

    def handle(self, *args, environment, resource, state, node_not_ready, crash_loop, restarts, clear, **options):
        if not registry.is_sandbox("resource_health"):
            raise CommandError("Faults can only be injected into the sandbox cloud.")
        env = Environment.objects.filter(name=environment).first()
        if env is None:
            raise CommandError(f"No environment named {environment!r}.")
        if not (resource or node_not_ready or crash_loop or clear):
            raise CommandError("Say what to inject: --resource, --node-not-ready, --crash-loop or --clear.")
        try:
            if clear:
                services.sandbox_faults_clear(environment=env)
                self.stdout.write(f"{env.name}: faults cleared.")
            if resource:
                rid = services.sandbox_resource_fault(environment=env, label=resource, state=state)
                self.stdout.write(f"{rid}: {state}.")
            if node_not_ready:
                cluster_backend(env).mark_node_not_ready(node_not_ready)
                self.stdout.write(f"{node_not_ready}: NotReady.")
            if crash_loop:
                cluster_backend(env).mark_crash_looping(crash_loop, restarts)
                self.stdout.write(f"{crash_loop}: crash-looping, {restarts} restarts per pod.")
        except (DomainError, ClusterError) as exc:
            raise CommandError(getattr(exc, "message", str(exc))) from exc
        self.stdout.write("The next scheduled checks will see it.")
