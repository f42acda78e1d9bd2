"""What the drivers that start a program in the sandbox share: ports, and stopping it.

Imported by ``http_smoke.py`` from its own folder, and by the tool checks' ``readme_run.py``
and ``api_fuzz.py`` from this one (``Sandbox.run_driver`` mounts it beside them); each puts
the folder on ``sys.path`` first (``python -I`` leaves it off). Standard library only, so
it runs under any environment the sandbox mounts.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess


def free_port() -> int:
    """Return a port nobody listens on now (on the sandbox's own loopback)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def listening(port: int) -> bool:
    """Whether something accepts connections on ``port``."""
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
    except OSError:
        return False
    return True


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop a program and everything it started (its session: TERM, then KILL)."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=3.0)
            return
        except subprocess.TimeoutExpired:
            continue
