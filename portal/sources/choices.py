from django.db import models


class SourceKind(models.TextChoices):
    FOLDER = "folder", "Folder on the portal's disk"
    GIT = "git", "Git repository"


class FileKind(models.TextChoices):
    TEMPLATE = "template", "Template"
    PARAMETERS = "parameters", "Parameters file"


class FileStatus(models.TextChoices):
    OK = "ok", "Offered"
    ERROR = "error", "Cannot be offered"
