"""`devfactory serve` stopped by SIGTERM (a service manager's stop) stops its embedded Postgres.

With ``--workers 2`` the supervisor holds no database; its two processes each
attach to the embedded server, and it stops once both have ended.
"""

from __future__ import annotations

import os
import signal
import time
import uuid
from pathlib import Path

import psutil
import pytest

from tests.servers import free_port, health_ok, launch, wait_ready


def _postmaster(pgdata: Path) -> int:
    return int((pgdata / "postmaster.pid").read_text().split()[0])


def _gone(pid: int, within: float) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
            return True
        time.sleep(0.3)
    return False


@pytest.mark.parametrize("workers", [1, 2])
def test_sigterm_stops_serve_and_its_embedded_postgres(pg_root: Path, workers: int) -> None:
    home = pg_root / f"serve-{uuid.uuid4().hex[:8]}"  # its own embedded server, nobody else's
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEVFACTORY_")}
    env.pop("DATABASE_URL", None)
    env.update(DEVFACTORY_DATA_DIR=str(home), OLLAMA_HOST="http://127.0.0.1:9")
    port = free_port()
    log = home.with_suffix(".log")
    serve = launch(env, ["serve", "--port", str(port), "--workers", str(workers)], log)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_ready(serve, log, lambda: health_ok(base), timeout=120, what="the API")
        postgres = _postmaster(home / "pg")
        assert psutil.pid_exists(postgres)

        serve.send_signal(signal.SIGTERM)
        serve.wait(timeout=60)
        assert _gone(postgres, within=30), f"embedded Postgres {postgres} still runs"
        assert not (home / "pg" / "postmaster.pid").exists()
    finally:
        if serve.poll() is None:
            serve.kill()
