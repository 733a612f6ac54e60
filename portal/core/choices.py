from django.db import models


class OutboxState(models.TextChoices):
    PENDING = "pending", "Pending"  # waiting for a worker (published or not)
    STARTED = "started", "Started"  # a worker claimed it
    DONE = "done", "Done"
    FAILED = "failed", "Failed"  # the task raised a bug; not retried
    EXPIRED = "expired", "Expired"  # not started before expires_at (periodic work superseded by the next)


OUTBOX_OPEN = {OutboxState.PENDING, OutboxState.STARTED}
