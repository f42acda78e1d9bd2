"""Embedded Postgres servers (and the servers using them) left by a test run that was killed.

Every pytest session keeps its servers under one ``devfactory-test-*`` folder
(``pg_root``) that names its owner: the session's pid and start time. A session
killed before its teardown (SIGKILL at a timeout) leaves them running; the next
session ``sweep``s every folder whose owner is gone: it stops the processes that
use the folder (a chat or API server first, then Postgres) and removes it.
Folders with no owner are left alone: they may belong to a live session.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
from pathlib import Path

import psutil

PREFIX = "devfactory-test-"
OWNER = "owner.json"


def claim(root: Path) -> None:
    """Mark ``root`` as this process's."""
    me = psutil.Process()
    (root / OWNER).write_text(json.dumps({"pid": me.pid, "started": me.create_time()}))


def owner_alive(root: Path) -> bool | None:
    """Say whether ``root``'s owner still runs (None: it names no owner)."""
    try:
        owner = json.loads((root / OWNER).read_text())
        proc = psutil.Process(int(owner["pid"]))
        return abs(proc.create_time() - float(owner["started"])) < 0.01
    except (OSError, ValueError, KeyError):
        return None
    except psutil.Error:
        return False


def _uses(proc: psutil.Process, root: str) -> bool:
    try:
        if any(root in part for part in proc.cmdline()):
            return True
        return any(root in value for value in proc.environ().values())
    except psutil.Error:
        return False


def _name(proc: psutil.Process) -> str:
    try:
        return proc.name()
    except psutil.Error:
        return ""


def stop_users(root: Path, *, grace_s: float = 10.0) -> list[int]:
    """Stop every process whose command line or environment names ``root``; return their pids.

    Postgres servers are stopped last (fast shutdown, SIGINT), after the processes
    that use them, so that nothing restarts one.
    """
    mine = {os.getpid(), *(p.pid for p in psutil.Process().parents())}
    users = [p for p in psutil.process_iter() if p.pid not in mine and _uses(p, str(root))]
    postgres = [p for p in users if _name(p) == "postgres"]
    others = [p for p in users if p not in postgres]
    stopped = []
    for group, sig in ((others, signal.SIGTERM), (postgres, signal.SIGINT)):
        for proc in group:
            try:
                proc.send_signal(sig)
            except psutil.Error:
                continue
        _, alive = psutil.wait_procs(group, timeout=grace_s)
        for proc in alive:
            try:
                proc.kill()
            except psutil.Error:
                pass
        stopped += [p.pid for p in group]
    return stopped


def sweep(base: Path) -> list[Path]:
    """Stop and remove every ``devfactory-test-*`` folder in ``base`` whose owner is gone."""
    swept = []
    for root in sorted(base.glob(f"{PREFIX}*")):
        if root.is_dir() and owner_alive(root) is False:
            stop_users(root)
            shutil.rmtree(root, ignore_errors=True)
            swept.append(root)
    return swept
