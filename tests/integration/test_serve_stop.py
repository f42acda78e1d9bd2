"""`devfactory serve` stopped by SIGTERM (a service manager's stop) stops its embedded Postgres."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import psutil

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _postmaster(pgdata: Path) -> int:
    return int((pgdata / "postmaster.pid").read_text().split()[0])


def _gone(pid: int, within: float) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
            return True
        time.sleep(0.3)
    return False


def test_sigterm_stops_serve_and_its_embedded_postgres(pg_root: Path) -> None:
    home = pg_root / f"serve-{uuid.uuid4().hex[:8]}"  # its own embedded server, nobody else's
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEVFACTORY_")}
    env.pop("DATABASE_URL", None)
    env.update(DEVFACTORY_DATA_DIR=str(home), OLLAMA_HOST="http://127.0.0.1:9")
    port = _free_port()
    log = home.with_suffix(".log")
    with log.open("w") as out:
        serve = subprocess.Popen(
            [str(BIN / "devfactory"), "serve", "--port", str(port)],
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 120
        while True:
            assert serve.poll() is None, log.read_text()[-3000:]
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the API did not come up in 120 s"
            time.sleep(0.3)
        postgres = _postmaster(home / "pg")
        assert psutil.pid_exists(postgres)

        serve.send_signal(signal.SIGTERM)
        serve.wait(timeout=60)
        assert _gone(postgres, within=30), f"embedded Postgres {postgres} still runs"
        assert not (home / "pg" / "postmaster.pid").exists()
    finally:
        if serve.poll() is None:
            serve.kill()
