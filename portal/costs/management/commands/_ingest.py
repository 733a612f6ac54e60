"""Shared by ingest_costs and backfill_costs: run the ingest of environments in this process."""

from portal.catalog.models import Environment
from portal.costs import services
from portal.costs.choices import IngestStatus
from provisioning.cost import CostError


def ingest(command, *, names: list[str], backfill: int | None, refetch: list) -> int:
    """Ingest each environment (all when `names` is empty); report each; return how many failed."""
    environments = Environment.objects.order_by("position", "name")
    if names:
        environments = environments.filter(name__in=names)
        missing = set(names) - set(environments.values_list("name", flat=True))
        if missing:
            command.stderr.write(f"No environment named {', '.join(sorted(missing))}.")
    failed = 0
    for environment in environments:
        try:
            run = services.cost_ingest_run(environment_id=environment.pk, backfill=backfill, refetch=refetch)
        except CostError as exc:  # transient: recorded on the run row; the scheduled ingest tries again
            command.stderr.write(f"{environment.name}: failed, try again later: {exc}")
            failed += 1
            continue
        if run.status == IngestStatus.SUCCEEDED:
            command.stdout.write(f"{environment.name}: stored {run.rows} cost rows for {', '.join(run.months)}.")
        else:
            command.stderr.write(f"{environment.name}: failed: {run.error_code}: {run.error}")
            failed += 1
    return failed
