"""Stop the embedded Postgres once the last process using it has ended, however it ended.

pgserver stops its server from an ``atexit`` handler, which a process killed by
a signal never runs (SIGKILL, or SIGTERM's default action, which uvicorn restores
and raises again after its graceful shutdown): a ``devfactory serve`` stopped by
a service manager, or a test run killed at a timeout, left its Postgres running.
So each process that starts or attaches to an embedded server also starts a
reaper (``python -m devfactory.store.reaper <pid> <pgdata>``, in its own session):
it waits for that process to end, drops its handle and those of other processes
that are gone, and stops the server when no live process holds one. After a
clean exit pgserver has done both already, and the reaper finds nothing to do.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import psutil

_REAPERS: list[subprocess.Popen[bytes]] = []  # kept, so that none is collected while it waits


def alive(pid: int, started: float | None = None) -> bool:
    """Say whether process ``pid`` (created at ``started``, when given) still runs."""
    try:
        proc = psutil.Process(pid)
        if started is not None and abs(proc.create_time() - started) > 0.01:
            return False  # the pid was reused
        return proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def release(pgdata: Path, pid: int) -> bool:
    """Drop ``pid``'s handle on the server in ``pgdata``; stop it if no live process holds one.

    Returns:
        True when this call stopped the server.

    """
    from pgserver._commands import POSTGRES_BIN_PATH
    from pgserver.postgres_server import PostgresServer
    from pgserver.utils import DiskList

    with PostgresServer._lock:  # the lock pgserver takes to start, attach and clean up
        handles = DiskList(pgdata / ".handle_pids.json")
        held = handles.get()
        live = [p for p in held if p != pid and alive(p)]
        if live != held:
            handles.put(live)
        if live or not (pgdata / "postmaster.pid").exists():
            return False
        stop = [str(POSTGRES_BIN_PATH / "pg_ctl"), "-D", str(pgdata), "-w", "-m", "fast", "stop"]
        done = subprocess.run(
            stop,
            user="pgserver" if os.geteuid() == 0 else None,  # as pgserver runs it
            stdout=subprocess.DEVNULL,  # not pipes: they can hang pg_ctl (pgserver's note)
            stderr=subprocess.DEVNULL,
            timeout=120,
            check=False,
        )
        return done.returncode == 0  # else already stopped, or its pid file was stale


def reap(pid: int, pgdata: Path, *, started: float | None = None, poll_s: float = 0.5) -> bool:
    """Wait until process ``pid`` has ended, then ``release`` its handle; say if it stopped."""
    while alive(pid, started):
        time.sleep(poll_s)
    return release(pgdata, pid)


def start_reaper(pgdata: Path, pid: int | None = None) -> subprocess.Popen[bytes]:
    """Start a reaper for process ``pid`` (this one) and the server in ``pgdata``."""
    pid = os.getpid() if pid is None else pid
    started = psutil.Process(pid).create_time()
    reaper = subprocess.Popen(
        [sys.executable, "-m", __name__, str(pid), str(pgdata), repr(started)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # a signal to this process's group does not reach it
    )
    _REAPERS.append(reaper)
    return reaper


def main(argv: list[str]) -> None:
    """Run a reaper: ``<pid> <pgdata> [<pid's create time>]``."""
    started = float(argv[2]) if len(argv) > 2 else None
    reap(int(argv[0]), Path(argv[1]), started=started)


if __name__ == "__main__":
    main(sys.argv[1:])
