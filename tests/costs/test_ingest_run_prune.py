"""Issue #11: finished cost ingest runs are pruned by PORTAL_COST_RUN_HISTORY_DAYS (the hourly sweep adds 24 per
environment a day); each environment's last succeeded and last failed run stay, so the pages still show the age of
the data and the last error."""

from datetime import datetime, timedelta, timezone as dt_timezone

import pytest
import time_machine

from portal.costs.choices import IngestStatus
from portal.costs.models import CostIngestRun
from portal.costs.services import cost_ingest_request_all, cost_ingest_runs_prune

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=dt_timezone.utc)


def _run(environment, status, days_ago, hour=0):
    return CostIngestRun.objects.create(environment=environment, status=status, backend="sandbox",
                                        finished_at=None if status == IngestStatus.RUNNING
                                        else NOW - timedelta(days=days_ago, hours=hour))


@pytest.fixture
def history(envs, settings):
    settings.PORTAL_COST_RUN_HISTORY_DAYS = 30
    dev, prod = envs["dev"], envs["prod"]
    runs = {
        "dev recent": _run(dev, IngestStatus.SUCCEEDED, 1),
        "dev old ok": _run(dev, IngestStatus.SUCCEEDED, 40),
        "dev old failed, its last failure": _run(dev, IngestStatus.FAILED, 45),
        "dev older failed": _run(dev, IngestStatus.FAILED, 50),
        "dev running for long": _run(dev, IngestStatus.RUNNING, 60),
        "prod old, its last success": _run(prod, IngestStatus.SUCCEEDED, 35),
        "prod older": _run(prod, IngestStatus.SUCCEEDED, 36),
    }
    return runs


def test_old_finished_runs_go_but_each_environments_last_success_and_failure_stay(history):
    assert cost_ingest_runs_prune(now=NOW) == 3
    left = set(CostIngestRun.objects.values_list("pk", flat=True))
    gone = {"dev old ok", "dev older failed", "prod older"}
    assert left == {run.pk for name, run in history.items() if name not in gone}
    assert cost_ingest_runs_prune(now=NOW) == 0                       # nothing more to prune


def test_the_scheduled_sweep_prunes_before_it_queues_the_ingests(history):
    from portal.core.models import OutboxTask

    with time_machine.travel(NOW, tick=False):
        queued = cost_ingest_request_all()
    assert len(queued) == 3 and OutboxTask.objects.count() == 3
    assert CostIngestRun.objects.count() == len(history) - 3
    assert not CostIngestRun.objects.filter(pk=history["dev older failed"].pk).exists()
