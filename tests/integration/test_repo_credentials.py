"""A repository URL's password never stays in a run's folder, and the push back still signs in.

Issue 58 item 10: ``<run>/.git/config`` kept ``https://user:password@host/...``
as the origin, readable in the run's folder. The clone now keeps the origin
without its user information, the password apart in the data directory
(0600), and git is given it only when it asks (a credential helper set in its
environment, no file written) as the branch goes back.
"""

from __future__ import annotations

import base64
import contextlib
import http.server
import os
import stat
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from devfactory.repos import remotes
from devfactory.repos.git_credentials import FOLDER, forget
from devfactory.repos.remotes import HostPolicy
from devfactory.repos.repository import clone_for_run, merge_into_base, push_branch
from devfactory.repos.workspace import Workspace
from tests.integration.test_repo_clone import resolving, served_repository
from tests.repos import git

MB = 2**20
USER, PASSWORD = "robot", "s3cr3t-t0ken-58"


class SmartHandler(http.server.BaseHTTPRequestHandler):
    """git's smart HTTP protocol through ``git http-backend``, behind HTTP Basic sign-in."""

    server: SmartServer

    def _serve(self) -> None:
        wanted = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        given = self.headers.get("Authorization", "")
        self.server.signed.append(given == wanted)
        if given != wanted:
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="git"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        path, _, query = self.path.partition("?")
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        env = {
            "PATH": "/usr/bin:/bin", "GIT_PROJECT_ROOT": str(self.server.root),
            "GIT_HTTP_EXPORT_ALL": "1", "REQUEST_METHOD": self.command, "PATH_INFO": path,
            "QUERY_STRING": query, "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)), "REMOTE_USER": USER, "REMOTE_ADDR": "127.0.0.1",
            "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull,
        }  # fmt: skip
        done = subprocess.run(
            ["git", "-c", "http.receivepack=true", "http-backend"],
            input=body, env=env, capture_output=True, timeout=60, check=False,
        )  # fmt: skip
        head, _, rest = done.stdout.partition(b"\r\n\r\n")
        status = 200
        headers = []
        for line in head.decode("latin-1").split("\r\n"):
            name, _, value = line.partition(":")
            if name.lower() == "status":
                status = int(value.split()[0])
            elif name:
                headers.append((name, value.strip()))
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(rest)))
        self.end_headers()
        self.wfile.write(rest)

    do_GET = _serve  # noqa: N815 - http.server's names
    do_POST = _serve  # noqa: N815

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - its signature
        pass


class SmartServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, root: Path) -> None:
        super().__init__(("127.0.0.1", 0), SmartHandler)
        self.root, self.signed = root, list[bool]()
        self.port = int(self.server_address[1])


@contextlib.contextmanager
def smart_server(root: Path) -> Iterator[SmartServer]:
    server = SmartServer(root)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def test_the_password_stays_out_of_the_run_s_folder_and_the_push_back_signs_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 58 item 10: no credential in a run's git config; the data directory keeps it 0600."""
    monkeypatch.setattr(remotes, "system_resolver", resolving("127.0.0.1"))
    root = served_repository(tmp_path)
    data = tmp_path / "data"
    with smart_server(root) as server:
        url = f"http://{USER}:{PASSWORD}@git.example.test:{server.port}/calc.git"
        found = clone_for_run(
            url, None, "r1", tmp_path / "run", timeout=60, max_bytes=MB,
            hosts=HostPolicy.parse(["git.example.test", "127.0.0.1"]), data_dir=data,
        )  # fmt: skip
        config = (tmp_path / "run" / ".git" / "config").read_text()
        assert PASSWORD not in config and USER not in config
        for path in (tmp_path / "run").rglob("*"):
            if path.is_file() and not path.is_symlink():
                assert PASSWORD.encode() not in path.read_bytes(), path
        kept = data / FOLDER / "r1"
        assert stat.S_IMODE(kept.stat().st_mode) == 0o600
        assert stat.S_IMODE((data / FOLDER).stat().st_mode) == 0o700

        (tmp_path / "run" / "more.py").write_text("X = 1\n")
        workspace = Workspace(tmp_path / "run")
        workspace.init()
        workspace.commit_stage("backend-engineering", "Backend Engineering", ["more.py"], "more")
        hosts = HostPolicy.parse(["git.example.test", "127.0.0.1"])
        pushed = push_branch(tmp_path / "run", found, timeout=60, hosts=hosts, data_dir=data)
        assert pushed.ok, pushed.message
        bare = root / "calc.git"
        assert git("rev-parse", "devfactory/r1", cwd=bare) == git(
            "rev-parse", "HEAD", cwd=tmp_path / "run"
        )
        merged = merge_into_base(tmp_path / "run", found, timeout=60, hosts=hosts, data_dir=data)
        assert merged.ok, merged.message
        assert True in server.signed  # git signed in with the kept credentials
        assert [p.name for p in (data / FOLDER).iterdir()] == ["r1"]  # no helper file written

        forget(data, "r1")
        refused = push_branch(tmp_path / "run", found, timeout=60, hosts=hosts, data_dir=data)
        assert not refused.ok  # without them the server refuses: the test could fail


def test_the_push_back_asks_no_helper_of_the_run_s_own_config_and_refuses_a_control_character(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The factory's helper is git's only one; a password git's protocol cannot carry is refused."""
    monkeypatch.setattr(remotes, "system_resolver", resolving("127.0.0.1"))
    root = served_repository(tmp_path)
    data, run, marker = tmp_path / "data", tmp_path / "run", tmp_path / "asked"
    hosts = HostPolicy.parse(["git.example.test", "127.0.0.1"])
    with smart_server(root) as server:
        url = f"http://{USER}:{PASSWORD}@git.example.test:{server.port}/calc.git"
        found = clone_for_run(
            url, None, "r1", run, timeout=60, max_bytes=MB, hosts=hosts, data_dir=data
        )
        git("config", "credential.helper", f"!f() {{ touch {marker}; }}; f", cwd=run)
        (run / "more.py").write_text("X = 1\n")
        workspace = Workspace(run)
        workspace.init()
        workspace.commit_stage("backend-engineering", "Backend Engineering", ["more.py"], "more")
        pushed = push_branch(run, found, timeout=60, hosts=hosts, data_dir=data)
        assert pushed.ok, pushed.message
        assert not marker.exists()  # the run's config named a helper; git never ran it

        (data / FOLDER / "r1").write_text(f"{USER}:pass%0Aword\n")
        refused = push_branch(run, found, timeout=60, hosts=hosts, data_dir=data)
        assert not refused.ok
        assert "control character" in refused.message
