"""Start a web service, wait until it listens, GET one path, stop it.

Run inside the sandbox (whose network namespace has only a loopback)::

    python -I -B http_smoke.py PATH STARTUP_SECONDS -- ARGV...

``{port}`` in ARGV is replaced by a free port (also given as ``PORT``).
Prints ``GET <path> -> <status>`` and the start of the body, then the tail
of the server's own output. Exit status 0 when the status is below 500.
"""

from __future__ import annotations

import http.client
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # python -I leaves it off
from processes import free_port, listening, stop  # noqa: E402 - the drivers' own module

SERVER_LOG_CHARS = 3000


def main(argv: list[str]) -> int:
    """Smoke-test the server ``argv`` describes; return the exit status."""
    path, startup, command = argv[0], float(argv[1]), argv[3:]
    port = free_port()
    command = [part.replace("{port}", str(port)) for part in command]
    env = dict(os.environ, PORT=str(port))
    status = 0
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(  # noqa: S603 - the project's own entry point
            command, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
        try:
            deadline = time.monotonic() + startup
            while not listening(port):
                if proc.poll() is not None:
                    print(f"the server exited with status {proc.returncode} before listening")
                    status = 1
                    break
                if time.monotonic() > deadline:
                    print(f"the server did not listen on port {port} within {startup:.0f} s")
                    status = 1
                    break
                time.sleep(0.1)
            if status == 0:
                status = fetch(port, path)
        finally:
            stop(proc)
        log.seek(0)
        output = log.read().decode("utf-8", errors="replace")[-SERVER_LOG_CHARS:]
    print("--- server output (tail) ---")
    print(output)
    return status


def fetch(port: int, path: str) -> int:
    """GET ``path``; print the status and body start; return 0 when the status is below 500."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        body = response.read(2000).decode("utf-8", errors="replace")
    except (OSError, http.client.HTTPException) as exc:
        print(f"GET {path} failed: {type(exc).__name__}: {exc}")
        return 1
    finally:
        connection.close()
    print(f"GET {path} -> {response.status} {response.reason}")
    print(body[:500])
    return 0 if response.status < 500 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
