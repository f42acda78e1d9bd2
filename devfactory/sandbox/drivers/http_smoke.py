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
import signal
import socket
import subprocess
import sys
import tempfile
import time

SERVER_LOG_CHARS = 3000


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
    """Stop the server and everything it started (TERM, then KILL)."""
    for sig, wait in ((signal.SIGTERM, 3.0), (signal.SIGKILL, 3.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


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
