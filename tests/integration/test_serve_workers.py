"""``devfactory serve --workers 2``: two processes answer on one address, and stop together.

Each process is uvicorn's worker with its own factory; a request goes to
whichever accepts its connection first. The test sends authenticated reads on
fresh connections until both processes have answered one (each connection's
server end is found in a process's open sockets), then stops the server as a
service manager does and checks that both processes shut down cleanly.
"""

from __future__ import annotations

import http.client
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import psutil

from devfactory.settings import Settings
from devfactory.users import UserStore
from tests.integration.cli import cli_env
from tests.servers import free_port, health_ok, launch, stop, wait_ready

BURST = 16  # connections opened at once: both processes are woken to accept them
BURSTS = 12


def _workers(server: psutil.Process) -> list[psutil.Process]:
    """Return uvicorn's worker processes under the supervisor (multiprocessing's spawn)."""
    return [
        child
        for child in server.children()
        if any("spawn_main" in part for part in child.cmdline())
    ]


def _read_on_fresh_connection(
    port: int, path: str, key: str
) -> tuple[int, http.client.HTTPConnection]:
    """GET ``path`` on a new connection, left open so that its server end can be found."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request("GET", path, headers={"Authorization": f"Bearer {key}"})
    response = conn.getresponse()
    response.read()
    return response.status, conn


def _owner(workers: list[psutil.Process], port: int, client_port: int) -> int | None:
    """Return the pid of the worker holding the server end of a connection from ``client_port``."""
    for proc in workers:
        for sock in proc.net_connections(kind="tcp"):
            if (
                sock.laddr
                and sock.raddr
                and sock.laddr.port == port
                and sock.raddr.port == client_port
            ):
                return proc.pid
    return None


def test_two_workers_both_answer_reads_and_stop_cleanly(database_url: str, tmp_path: Path) -> None:
    env = cli_env(database_url, tmp_path)
    key = UserStore.of(Settings(data_dir=tmp_path / "data")).create_key("ann", "admin")[1]
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "serve.log"
    server = launch(env, ["serve", "--port", str(port), "--workers", "2"], log)
    try:
        wait_ready(server, log, lambda: health_ok(base), timeout=240, what="the API")
        supervisor = psutil.Process(server.pid)  # `devfactory serve` execs the server
        deadline = time.monotonic() + 120
        while len(workers := _workers(supervisor)) < 2 and time.monotonic() < deadline:
            time.sleep(0.5)  # the second may still be starting
        pids = {proc.pid for proc in workers}
        assert len(pids) == 2, log.read_text()[-3000:]

        queued = httpx.post(
            f"{base}/runs",
            json={"requirement": "A command-line tool that counts words in a file"},
            headers={"Authorization": f"Bearer {key}"},
            timeout=60,
        )
        assert queued.status_code == 202, queued.text
        path = f"/runs/{queued.json()['run_id']}"

        answered: dict[int, int] = {}  # worker pid -> reads it answered
        statuses: list[int] = []
        with ThreadPoolExecutor(BURST) as pool:
            for _ in range(BURSTS):
                opened = list(
                    pool.map(lambda _: _read_on_fresh_connection(port, path, key), range(BURST))
                )
                for status, conn in opened:
                    statuses.append(status)
                    assert conn.sock is not None
                    owner = _owner(workers, port, conn.sock.getsockname()[1])
                    if owner is not None:
                        answered[owner] = answered.get(owner, 0) + 1
                    conn.close()
                if set(answered) == pids:
                    break
        assert statuses and set(statuses) == {200}, statuses
        assert set(answered) == pids, f"reads answered by {answered}, workers {pids}"
        assert health_ok(base)

        server.send_signal(signal.SIGTERM)
        server.wait(timeout=90)
        for proc in workers:
            assert not proc.is_running() or proc.status() == psutil.STATUS_ZOMBIE
        written = log.read_text()
        for pid in pids:  # each ran its shutdown (its factory closed) before it ended
            assert f"Finished server process [{pid}]" in written, written[-3000:]
    finally:
        stop(server)
