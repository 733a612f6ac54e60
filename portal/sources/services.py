"""Syncing a template source: fetch it, read every file (`provisioning.bicep.catalog`) and store
one row per file. A source that cannot be reached keeps its last good sync and says why."""

from __future__ import annotations

import hashlib
import hmac
import logging
from pathlib import Path, PurePosixPath

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from portal.audit.services import audit_record
from portal.core.errors import DomainError
from portal.deployments.secrets import seal, unseal
from portal.sources.choices import FileKind, FileStatus, SourceKind
from portal.sources.models import BUILTIN, TemplateFile, TemplateSource
from provisioning.bicep.catalog import KIND_PARAMETERS, FileResult, read_template_files, scan_folder
from provisioning.gitsource import SourceUnavailable, fetch_checkout
from provisioning.text import shorten

log = logging.getLogger(__name__)


class WebhookRefused(DomainError):
    status = 403


def sources_dir() -> Path:
    return Path(settings.PORTAL_SOURCES_DIR)


def builtin_source() -> TemplateSource:
    source, _ = TemplateSource.objects.get_or_create(
        name=BUILTIN, defaults={"kind": SourceKind.FOLDER, "url": "", "ref": "", "sync_minutes": 5})
    return source


def source_root(source: TemplateSource, commit: str | None = None) -> Path:
    """The folder on disk the source's files were read from (at `commit`, for a git source)."""
    if source.kind == SourceKind.FOLDER:
        return Path(settings.PORTAL_BICEP_ROOT) if source.is_builtin else Path(source.url)
    root = sources_dir() / source.name / (commit if commit is not None else source.commit)
    return root / source.folder.strip("/") if source.folder.strip("/") else root


def source_token(source: TemplateSource) -> str:
    return unseal(source.token_sealed).get("token", "") if source.token_sealed else ""


def source_set_secrets(*, source: TemplateSource, token: str | None = None, webhook_secret: str | None = None,
                       user=None) -> TemplateSource:
    """Store the access token and the webhook secret encrypted. None leaves one as it is, "" clears it."""
    fields = []
    if token is not None:
        source.token_sealed = seal({"token": token}) if token else ""
        fields.append("token_sealed")
    if webhook_secret is not None:
        source.webhook_secret_sealed = seal({"secret": webhook_secret}) if webhook_secret else ""
        fields.append("webhook_secret_sealed")
    if fields:
        source.save(update_fields=fields)
        audit_record(action="source.secrets_changed", obj=source, actor=user,
                     details={"changed": [f.removesuffix("_sealed") for f in fields]})
    return source


@transaction.atomic
def source_save(*, source: TemplateSource, user=None, request=None, token: str | None = None,
                webhook_secret: str | None = None) -> TemplateSource:
    """Create or change a git source (from the admin's form) and queue its sync."""
    created = source.pk is None
    source.kind = SourceKind.GIT
    source.save()
    source_set_secrets(source=source, token=token, webhook_secret=webhook_secret, user=user)
    audit_record(action="source.created" if created else "source.changed", obj=source, actor=user, request=request,
                 details={"url": source.url, "ref": source.ref, "folder": source.folder})
    source_sync_request(source=source, user=user, request=request, reason="saved")
    return source


def source_sync(*, source_id: int) -> TemplateSource:
    """Fetch the source and read all its files. Idempotent: a commit already read is read again
    only for files whose content changed (the readers cache by content)."""
    source = TemplateSource.objects.get(pk=source_id)
    started = timezone.now()
    TemplateSource.objects.filter(pk=source.pk).update(attempted_at=started)
    try:
        commit, root = _fetch(source)
    except SourceUnavailable as exc:
        TemplateSource.objects.filter(pk=source.pk).update(last_error=f"Cannot sync: {exc}")
        log.warning("template source %s cannot be synced: %s", source.name, exc)
        return TemplateSource.objects.get(pk=source.pk)
    from portal.deployments.backends import bicep_compiler

    compiler = bicep_compiler()
    prefix = "" if source.is_builtin else f"{source.name}/"
    items = [(path, prefix + name, path.relative_to(root).as_posix())
             for path, name, _kind in (scan_folder(root) if root.is_dir() else [])]
    results = read_template_files(items, compiler=compiler)
    _attach_parameter_sets(results)
    _store(source, results, commit, started)
    return TemplateSource.objects.get(pk=source.pk)


def _fetch(source: TemplateSource) -> tuple[str, Path]:
    if source.kind == SourceKind.FOLDER:
        root = source_root(source)
        if not root.is_dir():
            raise SourceUnavailable(f"the folder {root} does not exist")
        return "", root
    token = source_token(source)
    checkout = fetch_checkout(url=source.url, ref=source.ref or "main", folder=source.folder,
                              workdir=sources_dir() / source.name,
                              username=source.username or "x-access-token" if token else None,
                              password=token or None)
    return checkout.commit, checkout.root


def _attach_parameter_sets(results: list[FileResult]) -> None:
    """A `.bicepparam` (or ARM parameters) file becomes a named parameter set of its template."""
    templates = {r.path: r for r in results if r.kind != KIND_PARAMETERS}
    for result in results:
        if result.kind != KIND_PARAMETERS or not result.ok:
            continue
        folder = PurePosixPath(result.path).parent
        target = _normalize(folder / result.using)
        template = templates.get(target)
        if template is None:
            result.ok, result.error = False, (f"this parameters file is for {result.using}, which is not a template "
                                              "in this source")
        elif not template.ok:
            result.warnings.append(f"its template {target} cannot be offered")
        else:
            set_name = PurePosixPath(result.path).name.removesuffix(".bicepparam").removesuffix(".json")
            set_name = set_name.removesuffix(".parameters").removeprefix("main.")
            set_name = "default" if set_name in ("main", "parameters", "") else set_name
            known = {p["name"] for p in template.parameters}
            template.parameter_sets[set_name] = {
                k: v for k, v in result.values.items() if k in known}
            unknown = sorted(set(result.values) - known)
            if unknown:
                result.warnings.append(f"{', '.join(unknown)} not declared by {target}; left out")


def _normalize(path: PurePosixPath) -> str:
    parts: list[str] = []
    for part in path.parts:
        if part == "..":
            if parts:
                parts.pop()
        elif part not in (".", ""):
            parts.append(part)
    return "/".join(parts)


@transaction.atomic
def _store(source: TemplateSource, results: list[FileResult], commit: str, started) -> None:
    TemplateSource.objects.select_for_update().get(pk=source.pk)    # two syncs of one source store in turn
    now = timezone.now()
    existing = {f.path: f for f in source.files.select_for_update()}
    before = {path: (f.content_hash, f.status) for path, f in existing.items()}
    seen = set()
    for result in results:
        seen.add(result.path)
        fields = dict(
            name=shorten(result.name, 100), kind=FileKind.PARAMETERS if result.kind == KIND_PARAMETERS else FileKind.TEMPLATE,
            status=FileStatus.OK if result.ok else FileStatus.ERROR, error=result.error, line=result.line,
            column=result.column, content_hash=result.content_hash, commit=commit, target_scope=result.target_scope,
            description=result.description, parameters=result.parameters,
            parameter_sets=result.parameter_sets, warnings=result.warnings,
            registry_modules=result.registry_modules, using=result.using, synced_at=now)
        row = existing.get(result.path)
        if row is None:
            TemplateFile.objects.create(source=source, path=result.path, **fields)
        else:
            for key, value in fields.items():
                setattr(row, key, value)
            row.save()
    source.files.exclude(path__in=seen).delete()
    TemplateSource.objects.filter(pk=source.pk).update(commit=commit, synced_at=now, last_error="")
    after = {r.path: (r.content_hash, FileStatus.OK if r.ok else FileStatus.ERROR) for r in results}
    if after != before or commit != source.commit:       # a sync that changed nothing is not audited
        audit_record(action="source.synced", obj=source, details={
            "commit": commit, "offered": sum(1 for r in results if r.ok and r.kind != KIND_PARAMETERS),
            "errors": {r.path: r.error for r in results if not r.ok},
            "changed": sorted(p for p in after.keys() | before.keys() if after.get(p) != before.get(p))})


def source_sync_request(*, source: TemplateSource, user=None, request=None, reason: str = "manual") -> None:
    """Queue a sync of the source (Sync now, the webhook); the task runs after the commit."""
    from portal.core.outbox import enqueue

    audit_record(action="source.sync_requested", obj=source, actor=user, request=request, details={"reason": reason})
    enqueue("portal.sources.tasks.sync_source", source.pk, key=f"source:{source.pk}")


def source_webhook(*, source: TemplateSource, body: bytes, signature: str, token: str) -> None:
    """A push webhook: GitHub's `X-Hub-Signature-256` (HMAC-SHA256 of the body) or GitLab's
    `X-Gitlab-Token`, checked against the source's shared secret; then a sync is queued."""
    secret = unseal(source.webhook_secret_sealed).get("secret", "") if source.webhook_secret_sealed else ""
    if not secret:
        raise WebhookRefused("This source has no webhook secret; set one first.")
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    if not (signature and hmac.compare_digest(signature, expected)) and not (
            token and hmac.compare_digest(token, secret)):
        raise WebhookRefused("The webhook's signature does not match the shared secret.")
    with transaction.atomic():
        source_sync_request(source=source, reason="webhook")


def sources_sync_due() -> list[int]:
    """Queue a sync of every enabled source whose last attempt is older than its interval."""
    builtin_source()
    now = timezone.now()
    due = []
    for source in TemplateSource.objects.filter(enabled=True):
        if source.attempted_at is None or (now - source.attempted_at).total_seconds() >= source.sync_minutes * 60:
            due.append(source.pk)
    from portal.core.outbox import enqueue

    for pk in due:
        enqueue("portal.sources.tasks.sync_source", pk, key=f"source:{pk}")
    return due
