from django.db import models

from portal.core.choices import OutboxState


class OutboxTask(models.Model):
    """A piece of work handed to Celery, written in the same transaction as what asked for it.

    The row is the truth: the broker only carries a pointer to it. A periodic sweep (and each worker
    at start) publishes again every due row whose task has not started, and the task claims its row
    by a conditional UPDATE before doing anything, so a row published twice runs once.
    See portal/core/outbox.py.
    """

    task = models.CharField(max_length=200)
    args = models.JSONField(default=list, blank=True)
    kwargs = models.JSONField(default=dict, blank=True)
    key = models.CharField(max_length=200, blank=True, default="",
                           help_text="Work with the same key is queued once while a row for it is open.")
    state = models.CharField(max_length=12, choices=OutboxState.choices, default=OutboxState.PENDING)
    created_at = models.DateTimeField(auto_now_add=True)
    due_at = models.DateTimeField(help_text="Not published before this (a retry's countdown).")
    expires_at = models.DateTimeField(null=True, blank=True, help_text="Dropped if not started by then.")
    dispatched_at = models.DateTimeField(null=True, blank=True, help_text="Last successful publish.")
    dispatches = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField(null=True, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    celery_id = models.CharField(max_length=100, blank=True, default="", help_text="The message that claimed it.")
    worker = models.CharField(max_length=200, blank=True, default="")
    last_error = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["due_at", "pk"]
        indexes = [
            models.Index(fields=["state", "due_at"], name="core_outbox_state_due"),
            models.Index(fields=["key", "task", "state"], name="core_outbox_key_task_state"),
        ]

    def __str__(self):
        return f"{self.task} {self.args} ({self.state})"
