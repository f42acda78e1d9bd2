"""Long-lived ``devfactory`` processes for tests: started, awaited, stopped, one way.

A server's output goes to a log file, never to a pipe: nobody reads a pipe while
the tests run, and once its 64 KiB buffer fills, the server's next log line
blocks the thread that writes it (with an event loop, the whole server).
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def free_port() -> int:
    """Return a TCP port nobody listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def launch(
    env: dict[str, str], args: Sequence[str | bytes], log: Path, cwd: Path = ROOT
) -> subprocess.Popen[bytes]:
    """Start ``devfactory *args`` with its output appended to ``log``."""
    with log.open("ab") as sink:
        return subprocess.Popen(
            [str(BIN / "devfactory"), *args],
            cwd=cwd,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )


def health_ok(base: str) -> bool:
    """Whether the API at ``base`` answers ``/health``."""
    return httpx.get(f"{base}/health", timeout=2).status_code == 200


def wait_ready(
    proc: subprocess.Popen[bytes],
    log: Path,
    ready: Callable[[], bool],
    *,
    timeout: float = 180,
    what: str = "the server",
) -> None:
    """Poll ``ready`` until it holds; fail with the log's tail if the process dies or stalls."""
    deadline = time.monotonic() + timeout
    while True:
        assert proc.poll() is None, f"{what} died:\n{log.read_text(errors='replace')[-3000:]}"
        with contextlib.suppress(httpx.HTTPError, ValueError):
            if ready():
                return
        assert time.monotonic() < deadline, f"{what} did not come up in {timeout:.0f} s"
        time.sleep(0.3)


def stop(*procs: subprocess.Popen[bytes], wait: float = 30) -> None:
    """Terminate each process (as a service manager does); kill what outlives ``wait``."""
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@contextlib.contextmanager
def serving(
    env: dict[str, str],
    logs: Path,
    *,
    workers: int = 0,
    cwd: Path = ROOT,
    timeout: float = 180,
) -> Iterator[str]:
    """Run ``devfactory serve`` (and ``workers`` workers) until the block ends; yield its URL.

    Their logs are ``logs/serve.log`` and ``logs/worker-<n>.log``.
    """
    logs.mkdir(parents=True, exist_ok=True)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = launch(env, ["serve", "--port", str(port)], logs / "serve.log", cwd)
    procs = [server]
    try:
        procs += [launch(env, ["worker"], logs / f"worker-{n}.log", cwd) for n in range(workers)]
        wait_ready(server, logs / "serve.log", lambda: health_ok(base), timeout=timeout)
        yield base
    finally:
        stop(*reversed(procs))
