"""Drift in the sandbox's role assignments of one environment, for demos and tests:

    python manage.py inject_rbac_drift dev                              # AcrPull missing, an Owner unexpected
    python manage.py inject_rbac_drift staging --missing "Key Vault Secrets User" --unexpected none
"""

from django.core.management.base import BaseCommand, CommandError

from portal.access import services
from portal.catalog.models import Environment
from portal.core.errors import DomainError
from provisioning.rbac import ACR_PULL, OWNER, ROLE_NAMES


def role(value: str) -> str | None:
    if value.lower() in ("", "none", "-"):
        return None
    by_name = {name.lower(): guid for guid, name in ROLE_NAMES.items()}
    guid = by_name.get(value.lower(), value.lower())
    if guid not in ROLE_NAMES:
        raise CommandError(f"Unknown role {value!r}; one of: {', '.join(sorted(ROLE_NAMES.values()))}, or none.")
    return guid


class Command(BaseCommand):
    help = "Revoke an expected role assignment and grant an unexpected broad one in the sandbox, then audit."

    def add_arguments(self, parser):
        parser.add_argument("environment")
        parser.add_argument("--missing", default=ROLE_NAMES[ACR_PULL], help="Expected role to revoke (or none).")
        parser.add_argument("--unexpected", default=ROLE_NAMES[OWNER], help="Broad role to grant (or none).")
        parser.add_argument("--principal", default=services.DRIFT_PRINCIPAL_ID, help="Who gets the broad role.")
        parser.add_argument("--no-audit", action="store_true", help="Leave the audit to the schedule.")

    def handle(self, *args, environment, missing, unexpected, principal, no_audit, **options):
        env = Environment.objects.filter(name=environment).first()
        if env is None:
            raise CommandError(f"No environment named {environment!r}.")
        try:
            outcome = services.rbac_sandbox_drift_inject(environment=env, missing=role(missing),
                                                         unexpected=role(unexpected), principal_id=principal)
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(f"Revoked {len(outcome['revoked'])} assignment(s); granted: {outcome['granted'] or 'none'}.")
        if not no_audit:
            audit = services.rbac_audit_run(environment_id=env.pk)
            self.stdout.write(f"Audit #{audit.pk}: {audit.present_count} present, {audit.missing_count} missing, "
                              f"{audit.unexpected_count} unexpected.")
