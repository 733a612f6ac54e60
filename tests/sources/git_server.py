"""A real git server for tests: dulwich's smart-HTTP WSGI app on 127.0.0.1, behind HTTP Basic auth
with one token, in a thread."""

from __future__ import annotations

import base64
import threading
from pathlib import Path
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from dulwich import porcelain
from dulwich.repo import Repo
from dulwich.server import DictBackend
from dulwich.web import make_wsgi_chain


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):
        pass


class GitServer:
    def __init__(self, root: Path, token: str) -> None:
        self.bare = Repo.init_bare(str(root / "served.git"), mkdir=True)
        self.token = token
        self.requests: list[str] = []
        app = make_wsgi_chain(DictBackend({"/": self.bare}))

        def guarded(environ, start_response):
            self.requests.append(f"{environ['REQUEST_METHOD']} {environ['PATH_INFO']}")
            expected = "Basic " + base64.b64encode(f"x-access-token:{self.token}".encode()).decode()
            if environ.get("HTTP_AUTHORIZATION") != expected:
                start_response("401 Unauthorized", [("WWW-Authenticate", 'Basic realm="git"'),
                                                    ("Content-Type", "text/plain")])
                return [b"token required\n"]
            return app(environ, start_response)

        self.server = make_server("127.0.0.1", 0, guarded, server_class=WSGIServer, handler_class=_QuietHandler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> GitServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


class WorkingCopy:
    """A local repository where the test writes templates, commits and pushes to the server."""

    def __init__(self, root: Path, server: GitServer) -> None:
        self.root = root / "work"
        self.repo = Repo.init(str(self.root), mkdir=True)
        self.server = server

    def write(self, relative: str, text: str) -> None:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        porcelain.add(self.repo, paths=[str(path)])

    def commit_and_push(self, message: str) -> str:
        sha = porcelain.commit(self.repo, message=message.encode(), author=b"Test <t@example.com>",
                               committer=b"Test <t@example.com>")
        porcelain.push(self.repo, self.server.url, "refs/heads/master:refs/heads/main",
                       username="x-access-token", password=self.server.token, errstream=_Null())
        return sha.decode()


class _Null:
    def write(self, data):
        return len(data)

    def flush(self):
        pass
