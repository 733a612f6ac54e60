"""Fetch a branch or tag of a git repository with dulwich (pure Python; no git binary) and write the
files of one commit to a folder. Nothing here imports Django."""

from __future__ import annotations

import fcntl
import os
import shutil
import stat
from dataclasses import dataclass
from pathlib import Path

from dulwich.client import get_transport_and_path
from dulwich.errors import GitProtocolError, HangupException, NotGitRepository
from dulwich.object_store import iter_tree_contents
from dulwich.objects import Commit, Tag
from dulwich.repo import Repo

from provisioning.text import shorten


class SourceUnavailable(Exception):
    """The repository cannot be read now (unreachable, refused, no such branch): keep the last sync."""


@dataclass(frozen=True)
class Checkout:
    commit: str
    root: Path          # the commit's files (the whole tree, or only `folder`)


def fetch_checkout(*, url: str, ref: str, folder: str, workdir: Path, username: str | None = None,
                   password: str | None = None) -> Checkout:
    """Fetch `ref` (a branch or tag) of `url` into a bare repository under `workdir` and write the
    files of its commit under `workdir/<commit>/`. A commit already written is reused."""
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    with open(workdir / ".lock", "w") as lock:       # one fetch of a source at a time (webhook + schedule)
        fcntl.flock(lock, fcntl.LOCK_EX)
        bare = workdir / "repo.git"
        if not (bare / "objects").is_dir():
            bare.mkdir(parents=True, exist_ok=True)
            Repo.init_bare(str(bare))
        with Repo(str(bare)) as repo:
            checkout = _fetch(repo, url=url, ref=ref, folder=folder, workdir=workdir, username=username,
                              password=password)
        _prune(workdir, keep=checkout.commit)
        return checkout


KEEP_COMMITS = 3


def _prune(workdir: Path, *, keep: str) -> None:
    """Remove the folders of older commits, keeping the newest few (a preview may still be reading one)."""
    folders = [p for p in workdir.iterdir() if p.is_dir() and len(p.name) == 40 and p.name != keep]
    folders.sort(key=lambda p: p.stat().st_mtime, reverse=True)
    for old in folders[KEEP_COMMITS - 1:]:
        shutil.rmtree(old, ignore_errors=True)


def _fetch(repo: Repo, *, url: str, ref: str, folder: str, workdir: Path, username: str | None,
           password: str | None) -> Checkout:
    try:
        kwargs = {"username": username, "password": password} if password else {}
        client, path = get_transport_and_path(url, **kwargs)
        wanted = [f"refs/heads/{ref}".encode(), f"refs/tags/{ref}".encode()]

        def determine_wants(refs, depth=None):
            return [refs[name] for name in wanted if name in refs and refs[name] not in repo.object_store]

        result = client.fetch(path, repo, determine_wants=determine_wants)
    except (GitProtocolError, HangupException, NotGitRepository, OSError, ValueError) as exc:
        raise SourceUnavailable(_reason(exc)) from exc
    except Exception as exc:  # urllib3 and transport errors have no common base in dulwich
        if type(exc).__module__.split(".")[0] in ("urllib3", "dulwich", "http", "socket", "ssl"):
            raise SourceUnavailable(_reason(exc)) from exc
        raise
    sha = next((result.refs[name] for name in wanted if result.refs.get(name)), None)
    if sha is None:
        raise SourceUnavailable(f"the repository has no branch or tag named {ref!r}")
    obj = repo[sha]
    while isinstance(obj, Tag):
        obj = repo[obj.object[1]]
    if not isinstance(obj, Commit):
        raise SourceUnavailable(f"{ref!r} does not point at a commit")
    commit = obj.id.decode()
    target = workdir / commit
    if not target.is_dir():
        _export(repo, obj.tree, target)
    root = target / folder.strip("/") if folder.strip("/") else target
    if not root.is_dir():
        raise SourceUnavailable(f"the folder {folder!r} is not in commit {commit[:12]}")
    return Checkout(commit, root)


def _export(repo: Repo, tree: bytes, target: Path) -> None:
    partial = target.with_name(target.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    for entry in iter_tree_contents(repo.object_store, tree):
        if not stat.S_ISREG(entry.mode):       # symlinks and submodules are not followed
            continue
        relative = entry.path.decode("utf-8", "replace")
        if relative.startswith("/") or ".." in Path(relative).parts:
            continue
        file = partial / relative
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_bytes(repo[entry.sha].data)
    os.replace(partial, target)


def _reason(exc: Exception) -> str:
    text = str(exc).strip() or type(exc).__name__
    return shorten(text.splitlines()[0], 300)
