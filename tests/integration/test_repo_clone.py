"""A run's repository is cloned by a worker, at a checked address, bounded; never in a request.

Real sockets on this machine stand in for the hosts a caller could point ``repo`` at:
one that accepts and never answers, one that answers with bytes that are not git
(a service's banner) and closes, a plain HTTP server holding a repository (git's
"dumb" protocol), one that redirects, and listeners that count who connects to
them. The API tests run a real ``devfactory serve`` and a ``devfactory worker``; the
others drive a ``Factory`` and its workers in this process.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import ipaddress
import json
import os
import signal
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from devfactory.factory.facade import Factory
from devfactory.factory.intake import StartRequest
from devfactory.factory.queueing import CLONE_FAILED, CLONE_SLOTS
from devfactory.repos import remotes
from devfactory.repos.remotes import HostPolicy
from devfactory.repos.repository import (
    RepositoryError,
    clone_for_run,
    delivery_of,
    folder_bytes,
)
from devfactory.settings import Settings
from devfactory.store.slots import Slots
from devfactory.users import UserStore
from devfactory.worker import Worker, sweep
from tests.fakes import ScriptedModels
from tests.integration.cli import cli_env, start
from tests.integration.databases import fresh_database
from tests.repos import git
from tests.servers import serving

MB = 2**20
TODO = "A command-line tool that counts the words in a text file"
BANNER = b"SSH-2.0-OpenSSH_9.6 secret-banner-7d1f\r\n"


def served_repository(root: Path, *, blob_mib: int = 0) -> Path:
    """Make ``root/srv/calc.git``, a bare repository git's dumb HTTP protocol can serve."""
    work = root / "calc-work"
    work.mkdir(parents=True)
    (work / "calc.py").write_text("def add(a, b):\n    return a + b\n")
    if blob_mib:
        (work / "blob.bin").write_bytes(os.urandom(blob_mib * MB))
    git("init", "-q", "-b", "main", cwd=work)
    git("add", ".", cwd=work)
    git("commit", "-q", "-m", "calc", cwd=work)
    (root / "srv").mkdir()
    bare = root / "srv" / "calc.git"
    git("clone", "-q", "--bare", str(work), str(bare), cwd=root)
    git("update-server-info", cwd=bare)
    return root / "srv"


class Listener:
    """A TCP socket that accepts every connection and counts it.

    It never answers and keeps each connection open (a host that never answers),
    or, with ``banner``, sends it and hangs up (a service that is not git). Its
    thread counts a connection some time after the kernel took it: a test that
    asserts the count waits for it with ``settled``, never for a delay.
    """

    def __init__(self, host: str = "127.0.0.1", banner: bytes | None = None) -> None:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.host, self.family = host, family
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, 0))
        self.sock.listen(256)
        self.sock.settimeout(0.2)
        self.port = int(self.sock.getsockname()[1])
        self.banner, self.accepted, self.held = banner, 0, list[socket.socket]()
        self.peers: list[int] = []  # the port each connection came from, in order
        self.counted = threading.Condition()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, peer = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self.counted:
                self.accepted += 1
                self.peers.append(int(peer[1]))
                self.counted.notify_all()
            if self.banner is None:
                self.held.append(conn)
            else:
                with contextlib.suppress(OSError):
                    conn.sendall(self.banner)
                conn.close()

    def settled(self, timeout: float = 30.0) -> int:
        """Return how many connections were made before now, once all are counted.

        The host's own connection goes in last: the socket accepts in the order
        the kernel queued them, so once it is counted every earlier one is.
        """
        with socket.socket(self.family, socket.SOCK_STREAM) as own:
            own.settimeout(5)
            own.connect((self.host, self.port))
            mine = int(own.getsockname()[1])
            with self.counted:
                assert self.counted.wait_for(lambda: mine in self.peers, timeout=timeout)
                self.accepted -= 1
                before = self.peers.index(mine)
                self.peers.remove(mine)
        return before

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        for conn in self.held:
            conn.close()
        self.sock.close()


@contextlib.contextmanager
def listening(host: str = "127.0.0.1", banner: bytes | None = None) -> Iterator[Listener]:
    listener = Listener(host, banner)
    try:
        yield listener
    finally:
        listener.close()


class GitHandler(http.server.SimpleHTTPRequestHandler):
    """Serve a folder of bare repositories, or redirect every request elsewhere."""

    server: GitServer

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        self.server.requests.append(self.path)
        if self.server.redirect_to:
            self.send_response(302)
            self.send_header("Location", self.server.redirect_to + self.path)
            self.end_headers()
            return
        if self.server.stall is not None and len(self.server.requests) == 1:
            self.server.stalled.set()
            self.server.stall.wait(60)  # the first request waits until the test lets it go
        super().do_GET()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - its signature
        pass


class GitServer(http.server.ThreadingHTTPServer):
    """An HTTP server on 127.0.0.1 for ``GitHandler``; it records the paths asked for."""

    daemon_threads = True

    def __init__(self, folder: Path, *, redirect_to: str = "", stall: bool = False) -> None:
        handler = functools.partial(GitHandler, directory=str(folder))
        super().__init__(("127.0.0.1", 0), handler)
        self.requests: list[str] = []
        self.redirect_to = redirect_to
        self.stall = threading.Event() if stall else None
        self.stalled = threading.Event()
        self.port = int(self.server_address[1])


@contextlib.contextmanager
def git_server(folder: Path, **options: Any) -> Iterator[GitServer]:
    server = GitServer(folder, **options)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        if server.stall is not None:
            server.stall.set()
        server.shutdown()
        server.server_close()


def resolving(address: str) -> remotes.Resolver:
    """A resolver that answers every name with ``address`` (no name here is in any DNS)."""
    return lambda host, port, timeout: [ipaddress.ip_address(address)]


# --- the clone itself, in this process --------------------------------------------------


def test_a_clone_over_http_reaches_only_the_address_the_factory_checked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # git.example.test resolves nowhere (and the clone's sandbox has no resolver at all):
    # the clone can only work if git goes to the address the factory resolved and checked
    monkeypatch.setattr(remotes, "system_resolver", resolving("127.0.0.1"))
    hosts = HostPolicy.parse(["git.example.test", "127.0.0.1"])
    with git_server(served_repository(tmp_path)) as server:
        url = f"http://git.example.test:{server.port}/calc.git"
        found = clone_for_run(url, None, "r1", tmp_path / "run", timeout=60, max_bytes=MB,
                              hosts=hosts)  # fmt: skip
    assert (found.base, found.local, found.source) == ("main", False, url)
    assert (tmp_path / "run" / "calc.py").read_text().startswith("def add")
    assert server.requests  # it was this server that answered


def test_an_ssh_clone_reaches_only_the_address_the_factory_checked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(remotes, "system_resolver", resolving("127.0.0.1"))
    hosts = HostPolicy.parse(["git.example.test", "127.0.0.1"])
    with listening(banner=b"SSH-2.0-OpenSSH_9.6\r\n") as sshd:  # a server that then hangs up
        url = f"ssh://git@git.example.test:{sshd.port}/org/calc.git"
        with pytest.raises(RepositoryError, match="did not answer as a git server") as refused:
            clone_for_run(url, None, "r1", tmp_path / "run", timeout=30, max_bytes=MB,
                          hosts=hosts)  # fmt: skip
        # ssh went to the checked address, though the name resolves nowhere
        assert sshd.settled() == 1
    assert f"127.0.0.1 port {sshd.port}" in refused.value.detail  # ssh's own words, for the log
    assert not (tmp_path / "run").exists()


def test_a_redirect_from_an_allowed_host_to_another_is_not_followed(tmp_path: Path) -> None:
    with listening("127.0.0.2") as elsewhere:
        target = f"http://127.0.0.2:{elsewhere.port}"
        with git_server(tmp_path, redirect_to=target) as redirecting:
            url = f"http://127.0.0.1:{redirecting.port}/calc.git"
            with pytest.raises(RepositoryError, match="git could not clone"):
                clone_for_run(url, None, "r1", tmp_path / "run", timeout=30, max_bytes=MB,
                              hosts=HostPolicy.parse(["127.0.0.1"]))  # fmt: skip
        assert elsewhere.settled() == 0  # it never went where the redirect pointed ...
    assert redirecting.requests  # ... though it asked the allowed host, which answered 302
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize(
    ("listen_on", "url", "allowed", "why"),
    [
        ("127.0.0.1", "http://127.0.0.1:{port}/x.git", [], "127.0.0.1 is not listed"),
        ("127.0.0.1", "http://localhost:{port}/x.git", [], "setting is empty"),
        ("127.0.0.1", "http://127.0.0.1:{port}/x.git", ["github.com"], "127.0.0.1 is not listed"),
        ("127.0.0.1", "http://localhost:{port}/x.git", ["localhost"], "a loopback address"),
        ("::1", "http://[::1]:{port}/x.git", ["*"], "::1 is not listed"),
        ("127.0.0.1", "http://[::ffff:127.0.0.1]:{port}/x.git", ["*", "10.0.0.0/8"],
         "127.0.0.1 is not listed"),
        ("127.0.0.1", "ssh://git@localhost:{port}/x.git", ["localhost"], "a loopback address"),
        (None, "http://169.254.169.254/latest/meta-data/", ["*"], "169.254.169.254 is not listed"),
        (None, "http://10.0.0.1/x.git", ["*"], "10.0.0.1 is not listed"),
    ],
)  # fmt: skip
def test_a_refused_address_is_never_connected_to(
    tmp_path: Path, listen_on: str | None, url: str, allowed: list[str], why: str
) -> None:
    with contextlib.ExitStack() as stack:
        listener = stack.enter_context(listening(listen_on)) if listen_on else None
        started = time.monotonic()
        with pytest.raises(RepositoryError) as refused:
            clone_for_run(
                url.format(port=listener.port if listener else 0), None, "r1", tmp_path / "run",
                timeout=30, max_bytes=MB, hosts=HostPolicy.parse(allowed),
            )  # fmt: skip
        # a listed name's address is the operator's to read (detail), never the caller's
        assert why in (refused.value.detail if "address" in why else str(refused.value))
        assert time.monotonic() - started < 5  # refused before any connection was tried
        assert listener is None or listener.settled() == 0
    assert not (tmp_path / "run").exists()


def test_a_clone_over_http_past_the_size_cap_never_reaches_the_disk(tmp_path: Path) -> None:
    dest = tmp_path / "run"
    peak, done = [0], threading.Event()

    def watch() -> None:
        while not done.is_set():
            if dest.exists():
                peak[0] = max(peak[0], folder_bytes(dest, 1 << 40))
            time.sleep(0.002)

    with git_server(served_repository(tmp_path, blob_mib=40)) as server:
        watcher = threading.Thread(target=watch)
        watcher.start()
        try:
            with pytest.raises(RepositoryError, match="more than 5 MiB") as refused:
                clone_for_run(f"http://127.0.0.1:{server.port}/calc.git", None, "r1", dest,
                              timeout=60, max_bytes=5 * MB,
                              hosts=HostPolicy.parse(["127.0.0.1"]))  # fmt: skip
        finally:
            done.set()
            watcher.join()
    assert "No space left on device" in refused.value.detail or (
        "Failure writing output" in refused.value.detail  # curl's words for the same
    )
    assert peak[0] <= 5 * MB and not dest.exists()


def test_clone_slots_hold_at_most_their_count_across_connections(database_url: str) -> None:
    slots = Slots(database_url, "test:slots", 2, connect_timeout=5)
    other = Slots(database_url, "test:slots", 2, connect_timeout=5)  # as another process
    with slots.hold() as first, other.hold() as second:
        assert {first, second} == {0, 1}
        with slots.hold() as third:
            assert third is None  # at the cap: refused at once, never waited for
        assert slots.taken() == 2
    with other.hold() as again:
        assert again == 0 and slots.taken() == 1
    assert slots.taken() == 0
    holder = psycopg.connect(database_url, autocommit=True)
    holder.execute("SELECT pg_advisory_lock(hashtext('test:slots'), 0)")
    holder.execute("SELECT pg_advisory_lock(hashtext('test:slots'), 1)")
    with slots.hold() as none:
        assert none is None
    holder.close()  # a holder that dies frees its slots with its connection
    with slots.hold() as freed:
        assert freed == 0


# --- the workers, in this process ---------------------------------------------------------


@pytest.fixture
def clone_settings(pg_settings: Settings) -> Settings:
    """Settings for runs whose repository is on this machine's loopback (listed for them)."""
    return pg_settings.with_overrides(
        repo_allowed_hosts=("127.0.0.1",),
        repo_git_timeout_s=5,
        repo_clone_retry_s=0.5,
        worker_poll_s=0.2,
    )


def notices(factory: Factory, run_id: str, kind: str) -> list[str]:
    """The messages of the run's audited notices of ``kind``."""
    found = []
    for event in factory.audit_events(run_id):
        if event.kind == "notice" and event.payload.get("kind") == kind:
            found.append(str(event.payload["message"]))
    return found


def test_the_worker_clones_a_submitted_repository_and_the_submitter_never_does(
    clone_settings: Settings, tmp_path: Path
) -> None:
    with git_server(served_repository(tmp_path)) as server:
        url = f"http://127.0.0.1:{server.port}/calc.git"
        with Factory(clone_settings, models=ScriptedModels()) as factory:
            row = factory.submit(StartRequest(TODO, repo=url, unattended=True))
            assert row.shown_status == "QUEUED"
            assert server.requests == []  # the submit connected to nothing
            assert not any(Path(row.out_dir).iterdir())  # and cloned nothing
            created = [e for e in factory.audit_events(row.run_id) if e.kind == "run_created"]
            assert created[0].payload["repository"]["branch"] == f"devfactory/{row.run_id}"
            Worker(factory).run(idle_exit_s=0, max_runs=1)
            done = factory.get(row.run_id)
            said = notices(factory, row.run_id, "repository_cloned")
    assert server.requests  # the worker fetched it
    assert done.status == "COMPLETED", done.reason
    found = delivery_of(Path(row.out_dir), row.run_id)
    assert found is not None and found.source == url
    assert said and f"devfactory/{row.run_id}" in said[0]


def test_a_host_name_that_resolves_to_loopback_fails_the_run_in_the_worker_unconnected(
    clone_settings: Settings,
) -> None:
    settings = clone_settings.with_overrides(repo_allowed_hosts=("localhost",))
    with listening() as listener, Factory(settings, models=ScriptedModels()) as factory:
        row = factory.submit(StartRequest(TODO, repo=f"http://localhost:{listener.port}/x.git"))
        assert row.shown_status == "QUEUED"  # a name is resolved by the worker, not the request
        Worker(factory).run(idle_exit_s=0, max_runs=1)
        done = factory.get(row.run_id)
        said = notices(factory, row.run_id, "clone_failed")
        moves = [(t.from_phase.value, t.to_phase.value) for t in factory.transitions(row.run_id)]
        reached = listener.settled()
    assert (done.status, done.reason) == ("FAILED", CLONE_FAILED)
    assert moves == [("DRAFT", "FAILED")]  # no team worked
    # issue 58 item 11: the caller reads no address, the same words as for any unreachable host
    assert "could not be reached" in said[0] and "127.0.0.1" not in said[0]
    assert "loopback" not in said[0]
    assert reached == 0


def test_with_one_clone_slot_a_second_clone_waits_and_the_workers_drive_other_runs(
    clone_settings: Settings, database_url: str, tmp_path: Path
) -> None:
    # the hung clone outlasts a whole run (until the test hangs up on it); the waiting one
    # stays back for 3 s each time
    settings = clone_settings.with_overrides(
        repo_max_clones=1, repo_git_timeout_s=300, repo_clone_retry_s=3
    )
    slots = Slots(database_url, CLONE_SLOTS, 1, connect_timeout=5)
    source = served_repository(tmp_path)
    with (
        listening() as silent,
        git_server(source) as server,
        Factory(settings, models=ScriptedModels()) as factory,
    ):
        hung = factory.submit(StartRequest(TODO, repo=f"http://127.0.0.1:{silent.port}/x.git"))
        first = Worker(factory)
        cloning = threading.Thread(target=first.step)
        cloning.start()  # it takes the only slot, and waits on a host that never answers
        deadline = time.monotonic() + 30
        while silent.accepted == 0:
            assert time.monotonic() < deadline, "the first clone never connected"
            time.sleep(0.05)
        waiting = factory.submit(
            StartRequest(TODO, repo=f"http://127.0.0.1:{server.port}/calc.git", unattended=True)
        )
        plain = factory.submit(StartRequest(TODO))
        second = Worker(factory)
        second.step()  # claims the second clone: no slot, so it hands the run back
        assert slots.taken() == 1
        back = factory.get(waiting.run_id)
        assert (back.status, back.shown_status, back.driver) == ("DRAFT", "QUEUED", None)
        assert server.requests == [] and not any(Path(back.out_dir).iterdir())
        second.step()  # and goes on with the run behind it, while the first clone hangs
        assert factory.get(plain.run_id).status == "COMPLETED"
        assert cloning.is_alive() and factory.get(hung.run_id).status == "DRAFT"
        silent.close()  # the host hangs up at last: the hung clone fails, its slot is free
        cloning.join(timeout=60)
        assert factory.get(hung.run_id).status == "FAILED"
        assert "passed a limit" in notices(factory, hung.run_id, "clone_failed")[0]
        second.run(idle_exit_s=5)  # the slot is free: the waiting run is cloned
        assert factory.get(waiting.run_id).status == "COMPLETED"
        assert slots.taken() == 0
    assert server.requests


def test_a_worker_killed_mid_clone_leaves_the_run_to_another_that_clones_it_afresh(
    clone_settings: Settings, database_url: str, tmp_path: Path
) -> None:
    env = cli_env(database_url, tmp_path)  # the same data directory as clone_settings
    env.update(DEVFACTORY_REPO_ALLOWED_HOSTS='["127.0.0.1"]', DEVFACTORY_REPO_GIT_TIMEOUT_S="60")
    source = served_repository(tmp_path)
    with (
        git_server(source, stall=True) as server,
        Factory(clone_settings, models=ScriptedModels()) as factory,
    ):
        url = f"http://127.0.0.1:{server.port}/calc.git"
        row = factory.submit(StartRequest(TODO, repo=url, unattended=True))
        out = Path(row.out_dir)
        worker = start(env, "worker", "--no-watchdog", log=tmp_path / "worker.log")
        try:
            assert server.stalled.wait(60), (tmp_path / "worker.log").read_text()[-2000:]
            os.kill(worker.pid, signal.SIGKILL)  # mid-clone: as abrupt as a crash gets
            worker.wait(timeout=30)
        finally:
            if worker.poll() is None:
                worker.kill()
        deadline = time.monotonic() + 10  # the clone's sandbox died with its worker
        while clone_processes(out):
            assert time.monotonic() < deadline, clone_processes(out)
            time.sleep(0.1)
        (out / "half-written.pack").write_bytes(b"\0" * 4096)  # what a dead clone may leave
        (out / "link").symlink_to(tmp_path / "calc-work" / "calc.py")
        server.stall.set()
        with psycopg.connect(database_url, autocommit=True) as conn:  # its lease runs out
            conn.execute(
                "UPDATE devfactory_runs SET lease_until = now() - interval '1 second'"
                " WHERE run_id = %s",
                (row.run_id,),
            )
        assert row.run_id in sweep(factory).requeued
        Worker(factory).run(idle_exit_s=0, max_runs=1)
        done = factory.get(row.run_id)
    assert done.status == "COMPLETED", done.reason
    assert done.crashes == 1
    assert not (out / "half-written.pack").exists() and not (out / "link").is_symlink()
    assert delivery_of(out, row.run_id) is not None
    assert (tmp_path / "calc-work" / "calc.py").read_text().startswith("def add")


def clone_processes(out: Path) -> list[int]:
    """The processes whose command line names the run's folder (a clone into it)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            if str(out).encode() in (entry / "cmdline").read_bytes().split(b"\0"):
                found.append(int(entry.name))
    return found


# --- over HTTP: a real `devfactory serve` and a worker ----------------------------------


class Service:
    """The API's address and an operator's key."""

    def __init__(self, base: str, key: str) -> None:
        self.base, self.key = base, key

    def client(self, timeout: float = 60) -> httpx.Client:
        return httpx.Client(
            base_url=self.base, headers={"Authorization": f"Bearer {self.key}"}, timeout=timeout
        )

    def wait_status(self, run_id: str, status: str, timeout: float = 120) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        with self.client() as http:
            while True:
                run = http.get(f"/runs/{run_id}").json()
                if run["status"] == status and run["reason"]:  # its end written in full
                    return dict(run)
                assert time.monotonic() < deadline, run
                time.sleep(0.3)


@pytest.fixture(scope="module")
def service(server_dsn: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    tmp = tmp_path_factory.mktemp("clone-api")
    with fresh_database(server_dsn) as database:
        env = cli_env(database, tmp)
        env.update(
            DEVFACTORY_WORKER_POLL_S="0.5",
            DEVFACTORY_REVIEW_REQUIRED="false",
            DEVFACTORY_REPO_ALLOWED_HOSTS='["127.0.0.1"]',  # listed, to reach the sockets here
            DEVFACTORY_REPO_GIT_TIMEOUT_S="5",
        )
        store = UserStore.of(Settings(data_dir=tmp / "data"))
        key = store.create_key("operator-1", "operator")[1]
        with serving(env, tmp / "logs", workers=1, timeout=120) as base:
            yield Service(base, key)


def shown_to_the_caller(service: Service, run_id: str) -> str:
    """Everything the API shows the run's owner about it: the run, its events, its audit."""
    with service.client() as http:
        run = http.get(f"/runs/{run_id}").text
        audit = http.get(f"/runs/{run_id}/audit").text
        with http.stream("GET", f"/runs/{run_id}/events") as stream:
            events = []
            for line in stream.iter_lines():
                events.append(line)
                if line.startswith("data:") and '"run_finished"' in line:
                    break
    return "\n".join([run, audit, *events])


def failed_notice(service: Service, run_id: str) -> str:
    with service.client() as http:
        audit = http.get(f"/runs/{run_id}/audit").json()["events"]
    for event in audit:
        body = json.loads(event["body"])
        if event["kind"] == "notice" and body.get("kind") == "clone_failed":
            return str(body["message"])
    raise AssertionError(f"no clone_failed notice in {audit}")


def test_the_caller_reads_the_same_words_for_an_open_and_a_closed_port(service: Service) -> None:
    with listening() as closed:
        closed_port = closed.port  # nothing listens there once this block ends
    with listening(banner=BANNER) as answering:
        runs = {}
        with service.client() as http:
            for port in (closed_port, answering.port):
                body = {"requirement": TODO, "repo": f"http://127.0.0.1:{port}/r.git"}
                submitted = http.post("/runs", json=body)
                assert submitted.status_code == 202, submitted.text
                runs[port] = submitted.json()["run_id"]
        ended = {port: service.wait_status(run_id, "FAILED") for port, run_id in runs.items()}
        assert answering.accepted >= 1  # the worker did reach the open port
    reasons = {run["reason"] for run in ended.values()}
    assert reasons == {CLONE_FAILED}
    said = {failed_notice(service, run_id).replace(str(port), "PORT")
            for port, run_id in runs.items()}  # fmt: skip
    assert len(said) == 1, said
    for run_id in runs.values():
        shown = shown_to_the_caller(service, run_id)
        assert "secret-banner" not in shown and "SSH-2.0" not in shown
        for curl_says in ("connection refused", "failed to connect", "http/0.9", "weird server"):
            assert curl_says not in shown.lower()


def test_a_literal_address_that_is_not_listed_is_refused_by_the_request_itself(
    service: Service,
) -> None:
    with listening("127.0.0.2") as listener, service.client() as http:
        for repo in (
            f"http://127.0.0.2:{listener.port}/x.git",
            "http://169.254.169.254/latest/meta-data/",
            "http://10.0.0.1/x.git",
            "git://127.0.0.1/x.git",
        ):
            refused = http.post("/runs", json={"requirement": TODO, "repo": repo})
            assert refused.status_code in (400, 422), refused.text
        assert listener.settled() == 0


def test_forty_submits_at_a_socket_that_never_answers_return_at_once_and_the_api_keeps_answering(
    service: Service,
) -> None:
    with listening() as silent:
        repo = f"http://127.0.0.1:{silent.port}/never.git"
        stop, probes = threading.Event(), list[tuple[str, int]]()

        def probe() -> None:  # /health and GET /runs, for as long as the submits go on
            with service.client(timeout=30) as http:
                while not stop.is_set():
                    for path in ("/health", "/runs?limit=5"):
                        try:
                            probes.append((path, http.get(path).status_code))
                        except httpx.HTTPError as exc:
                            probes.append((path, -1))
                            probes.append((repr(exc), -1))
                    time.sleep(0.1)

        def submit(n: int) -> int:
            with service.client(timeout=30) as http:  # generous: no request waits on git
                body = {"requirement": f"{TODO}, number {n}", "repo": repo}
                return http.post("/runs", json=body).status_code

        prober = threading.Thread(target=probe)
        prober.start()
        try:
            with ThreadPoolExecutor(max_workers=8) as pool:
                codes = list(pool.map(submit, range(40)))
            assert codes == [202] * 40
            deadline = time.monotonic() + 60
            while silent.accepted == 0:  # a worker is cloning now, and hangs on the socket
                assert time.monotonic() < deadline, "no worker ever connected"
                time.sleep(0.1)
            before = len(probes)
            while len(probes) < before + 10:  # the API keeps answering while it hangs
                time.sleep(0.1)
        finally:
            stop.set()
            prober.join(timeout=60)
    assert probes and all(code == 200 for _, code in probes), [p for p in probes if p[1] != 200]
