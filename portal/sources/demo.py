"""The demo's git source: `examples/team-templates` committed to a local git repository (dulwich, no
git binary), added as the source `platform-team` and synced. Running it again commits what changed."""

from pathlib import Path

from django.conf import settings
from dulwich import porcelain
from dulwich.repo import Repo

from portal.sources.models import TemplateSource
from portal.sources.services import builtin_source, source_sync

DEMO_SOURCE = "platform-team"


def demo_git_repository(example: Path, target: Path) -> str:
    """Mirror `example` into the git working copy `target` and commit on `main` if anything changed."""
    if not (target / ".git").is_dir():
        target.mkdir(parents=True, exist_ok=True)
        repo = Repo.init(str(target))
        repo.refs.set_symbolic_ref(b"HEAD", b"refs/heads/main")
    else:
        repo = Repo(str(target))
    with repo:
        wanted = {p.relative_to(example) for p in example.rglob("*") if p.is_file()}
        for existing in [p for p in target.rglob("*") if p.is_file() and ".git" not in p.relative_to(target).parts]:
            if existing.relative_to(target) not in wanted:
                porcelain.remove(repo, paths=[str(existing)])
        for relative in sorted(wanted):
            destination = target / relative
            destination.parent.mkdir(parents=True, exist_ok=True)
            data = (example / relative).read_bytes()
            if not destination.is_file() or destination.read_bytes() != data:
                destination.write_bytes(data)
        porcelain.add(repo, paths=[str(target / relative) for relative in sorted(wanted)])
        status = porcelain.status(repo)
        if any(status.staged.values()) or b"refs/heads/main" not in repo.refs:
            porcelain.commit(repo, message=b"Team templates (from examples/team-templates)",
                             author=b"Peak Portal demo <demo@example.com>",
                             committer=b"Peak Portal demo <demo@example.com>")
        return repo.refs[b"refs/heads/main"].decode()


def demo_sources_load() -> TemplateSource:
    example = Path(settings.BASE_DIR) / "examples" / "team-templates"
    target = Path(settings.VAR_DIR) / "demo-git" / "team-templates"
    demo_git_repository(example, target)
    source_sync(source_id=builtin_source().pk)
    source, _ = TemplateSource.objects.update_or_create(
        name=DEMO_SOURCE, defaults={"kind": "git", "url": str(target), "ref": "main", "folder": "", "sync_minutes": 5})
    return source_sync(source_id=source.pk)
