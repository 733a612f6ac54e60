"""Reads of the template sources and their stored files."""

from portal.sources.choices import FileKind, FileStatus
from portal.sources.models import TemplateFile, TemplateSource


def template_files_offered():
    """Templates that read well, from every enabled source: the built-in source first."""
    rows = (TemplateFile.objects.select_related("source")
            .filter(kind=FileKind.TEMPLATE, status=FileStatus.OK, source__enabled=True)
            .order_by("name", "source__name"))
    return sorted(rows, key=lambda r: (not r.source.is_builtin, r.name))


def template_file_offered(*, name: str) -> TemplateFile | None:
    rows = (TemplateFile.objects.select_related("source")
            .filter(name=name, kind=FileKind.TEMPLATE, status=FileStatus.OK, source__enabled=True))
    return min(rows, key=lambda r: (not r.source.is_builtin, r.source.name), default=None)


def template_parameters_stored(*, name: str, content_hash: str) -> list[dict]:
    row = (TemplateFile.objects.filter(name=name, content_hash=content_hash, kind=FileKind.TEMPLATE,
                                       status=FileStatus.OK).order_by("-synced_at").first())
    return list(row.parameters) if row else []


def template_files_failing():
    """Files that cannot be offered, with their errors (parameters files that failed included)."""
    return (TemplateFile.objects.select_related("source").filter(status=FileStatus.ERROR, source__enabled=True)
            .order_by("source__name", "path"))


def source_list():
    return TemplateSource.objects.order_by("name")


def file_list(*, status: str = ""):
    files = TemplateFile.objects.select_related("source").order_by("source__name", "path")
    if status in FileStatus.values:
        files = files.filter(status=status)
    return files
