"""Give the sandbox the role assignments deploying shared-infrastructure grants, in every environment
of the design (dev, staging, prod), with drift in dev (AcrPull missing, an unexpected Owner), and
audit each environment, so the RBAC page has something to show and something to find.

Environments whose sandbox already holds role assignments are left alone (--reset starts again), so
running it on every start keeps what was remediated since. With Azure backends it does nothing.
"""

from django.core.management.base import BaseCommand, CommandError

from portal.access import services
from portal.core import backends as registry
from portal.core.errors import DomainError

DRIFT_ENVIRONMENT = "dev"


class Command(BaseCommand):
    help = "Seed the sandbox's role assignments (shared-infrastructure), drift in dev, and audit."

    def add_arguments(self, parser):
        parser.add_argument("--reset", action="store_true", help="Seed again environments already seeded.")

    def handle(self, *args, reset, **options):
        if not registry.is_sandbox("rbac"):
            self.stdout.write("The portal deploys to Azure: no sandbox role assignments to seed.")
            return
        try:
            for environment in services.sandbox_environments():
                if services.rbac_sandbox_seed(environment=environment, reset=reset):
                    line = f"{environment.name}: recorded the shared-infrastructure role assignments"
                    if environment.name == DRIFT_ENVIRONMENT:
                        services.rbac_sandbox_drift_inject(environment=environment)
                        line += "; drift injected (AcrPull missing, an unexpected Owner)"
                    self.stdout.write(line + ".")
                else:
                    self.stdout.write(f"{environment.name}: already seeded, left as it is.")
                audit = services.rbac_audit_run(environment_id=environment.pk)
                self.stdout.write(f"  audit #{audit.pk}: {audit.present_count} present, {audit.missing_count} "
                                  f"missing, {audit.unexpected_count} unexpected.")
        except DomainError as exc:
            raise CommandError(exc.message) from exc
