from django.conf import settings
from django.db import models


class EntraIdentity(models.Model):
    """Links a portal user to their Entra ID object id (`oid`), the stable key: names and emails change."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="entra_identity")
    oid = models.CharField(max_length=64, unique=True)
    tenant_id = models.CharField(max_length=64, blank=True)
    last_sign_in_at = models.DateTimeField(null=True, blank=True)
    last_groups = models.JSONField(default=list, blank=True, help_text="Group object ids seen at the last sign-in.")

    def __str__(self):
        return f"{self.user} ({self.oid})"
