"""A killed test session's servers are stopped by the next session's sweep, and only those."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from tests import leftovers


@pytest.fixture
def spawned() -> Iterator[list[subprocess.Popen[bytes]]]:
    procs: list[subprocess.Popen[bytes]] = []
    yield procs
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.wait()


def fake_server(root: Path, procs: list[subprocess.Popen[bytes]]) -> subprocess.Popen[bytes]:
    """Start a process that names a data directory under ``root``, as a postmaster does."""
    data = root / "pg" / "data"
    data.mkdir(parents=True)
    code = "import sys, time; time.sleep(120)"
    proc = subprocess.Popen([sys.executable, "-c", code, "-D", str(data)])
    procs.append(proc)
    return proc


def dead_owner(root: Path) -> None:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    started = psutil.Process(gone.pid).create_time()
    gone.wait()
    (root / leftovers.OWNER).write_text(json.dumps({"pid": gone.pid, "started": started}))


def test_the_sweep_stops_and_removes_only_folders_whose_owner_is_gone(
    tmp_path: Path, spawned: list[subprocess.Popen[bytes]]
) -> None:
    orphaned = tmp_path / f"{leftovers.PREFIX}killed"
    owned = tmp_path / f"{leftovers.PREFIX}live"
    unowned = tmp_path / f"{leftovers.PREFIX}old"
    servers = {}
    for root in (orphaned, owned, unowned):
        root.mkdir()
        servers[root] = fake_server(root, spawned)
    dead_owner(orphaned)
    leftovers.claim(owned)  # this process: alive

    assert leftovers.sweep(tmp_path) == [orphaned]

    assert servers[orphaned].wait(timeout=15) is not None
    assert not orphaned.exists()
    assert servers[owned].poll() is None and owned.exists()
    assert servers[unowned].poll() is None and unowned.exists()


def test_a_reused_pid_is_not_the_owner(tmp_path: Path) -> None:
    me = psutil.Process()
    (tmp_path / leftovers.OWNER).write_text(json.dumps({"pid": me.pid, "started": 1.0}))
    assert leftovers.owner_alive(tmp_path) is False
    leftovers.claim(tmp_path)
    assert leftovers.owner_alive(tmp_path) is True
    assert leftovers.owner_alive(tmp_path / "nowhere") is None
