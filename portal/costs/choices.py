from django.db import models


class IngestStatus(models.TextChoices):
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


INGEST_ALLOWED_TRANSITIONS = {
    IngestStatus.RUNNING: {IngestStatus.SUCCEEDED, IngestStatus.FAILED},
    IngestStatus.SUCCEEDED: set(),
    IngestStatus.FAILED: set(),
}
INGEST_ACTIVE = {IngestStatus.RUNNING}
INGEST_TERMINAL = {IngestStatus.SUCCEEDED, IngestStatus.FAILED}


class Basis(models.TextChoices):
    """What a budget threshold is measured on."""

    ACTUAL = "actual", "Actual cost"
    FORECAST = "forecast", "Forecast to month end"


class RefreshStatus(models.TextChoices):
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


# Percent of the monthly budget, on actual cost and on the forecast, unless an environment says otherwise.
DEFAULT_THRESHOLDS = (50, 80, 100)
