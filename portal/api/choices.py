from django.db import models


class TokenScope(models.TextChoices):
    """What a personal access token may do; never more than its owner's role allows."""

    READ = "read", "Read"
    DEPLOY = "deploy", "Deploy"
    APPROVE = "approve", "Approve"


# The token expiries a person can choose (days).
EXPIRY_CHOICES = [(7, "7 days"), (30, "30 days"), (90, "90 days"), (180, "180 days"), (365, "1 year")]
