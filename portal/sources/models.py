"""Where templates come from (the built-in folder, git repositories) and what each file read as."""

from django.db import models
from django.urls import reverse

from portal.sources.choices import FileKind, FileStatus, SourceKind

BUILTIN = "builtin"


class TemplateSource(models.Model):
    """A folder of templates: `bicep/` (the built-in source) or a folder of a git repository."""

    name = models.SlugField(max_length=40, unique=True,
                            help_text="Short name; the templates of a git source are called <name>/<folder>.")
    kind = models.CharField(max_length=10, choices=SourceKind.choices, default=SourceKind.GIT)
    url = models.CharField(max_length=500, blank=True, help_text="Clone URL (https://...), or a local path.")
    ref = models.CharField(max_length=200, blank=True, default="main", help_text="Branch or tag.")
    folder = models.CharField(max_length=300, blank=True, help_text="Folder inside the repository; empty for all.")
    token_sealed = models.TextField(blank=True, help_text="Access token, encrypted; never shown back.")
    username = models.CharField(max_length=100, blank=True, default="x-access-token")
    webhook_secret_sealed = models.TextField(blank=True, help_text="Shared secret of the push webhook, encrypted.")
    enabled = models.BooleanField(default=True)
    sync_minutes = models.PositiveIntegerField(default=15, help_text="Synced on schedule at most this often.")
    commit = models.CharField(max_length=64, blank=True, help_text="Commit of the last good sync.")
    commit_url_template = models.CharField(
        max_length=500, blank=True,
        help_text="Link to a commit, e.g. https://github.com/org/repo/commit/{commit}; empty to guess from the URL.")
    synced_at = models.DateTimeField(null=True, blank=True, help_text="When the last good sync finished.")
    attempted_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True, help_text="Why the last sync failed; empty when it worked.")

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("sources:list") + f"#source-{self.pk}"

    @property
    def display_url(self) -> str:
        """The URL without any user or password written into it."""
        from urllib.parse import urlsplit, urlunsplit

        parts = urlsplit(self.url)
        if "@" not in parts.netloc:
            return self.url
        return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))

    @property
    def is_builtin(self) -> bool:
        return self.name == BUILTIN

    def commit_url(self, commit: str) -> str:
        if not commit:
            return ""
        if self.commit_url_template:
            return self.commit_url_template.replace("{commit}", commit)
        url = self.url.removesuffix(".git")
        if url.startswith("https://github.com/") or url.startswith("https://gitlab.com/"):
            return f"{url}/commit/{commit}"
        return ""


class TemplateFile(models.Model):
    """One file of a source as its last sync read it: a template's form or a clear error. Pages read
    only these rows; nothing parses a template while a page renders."""

    source = models.ForeignKey(TemplateSource, on_delete=models.CASCADE, related_name="files")
    path = models.CharField(max_length=500, help_text="Path inside the source's folder.")
    name = models.CharField(max_length=100, help_text="The template's name in the catalog.")
    kind = models.CharField(max_length=12, choices=FileKind.choices, default=FileKind.TEMPLATE)
    status = models.CharField(max_length=8, choices=FileStatus.choices)
    error = models.TextField(blank=True)
    line = models.PositiveIntegerField(null=True, blank=True)
    column = models.PositiveIntegerField(null=True, blank=True)
    content_hash = models.CharField(max_length=64, blank=True)
    commit = models.CharField(max_length=64, blank=True)
    target_scope = models.CharField(max_length=20, blank=True)
    description = models.TextField(blank=True)
    parameters = models.JSONField(default=list, blank=True, help_text="The form: ParamSpec fields per parameter.")
    parameter_sets = models.JSONField(default=dict, blank=True, help_text="Named values from .bicepparam files.")
    warnings = models.JSONField(default=list, blank=True)
    registry_modules = models.JSONField(default=list, blank=True)
    using = models.CharField(max_length=500, blank=True, help_text="A parameters file: the template it is for.")
    synced_at = models.DateTimeField()

    class Meta:
        ordering = ["source__name", "path"]
        constraints = [models.UniqueConstraint(fields=["source", "path"], name="templatefile_unique_path")]
        indexes = [models.Index(fields=["name", "status"])]

    def __str__(self):
        return f"{self.source.name}:{self.path}"

    @property
    def offered(self) -> bool:
        return self.status == FileStatus.OK and self.kind == FileKind.TEMPLATE

    @property
    def where(self) -> str:
        parts = [self.path, str(self.line or ""), str(self.column or "")]
        return ":".join(p for p in parts if p)

    @property
    def commit_url(self) -> str:
        return self.source.commit_url(self.commit)
