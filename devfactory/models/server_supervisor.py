"""The detached process that runs the shared model server and stops it when nobody needs it.

``python -m devfactory.models.server_supervisor <folder>`` is started by the
process that found no server (``local_server.LocalServer``). It forks once and
returns at once, so its starter waits for nothing and the supervisor belongs to
no process's session; the forked supervisor starts ``llama-server`` from
``<folder>/plan.json`` (the API key comes in the environment), writes the state
file (with the start time and executable of both processes, so that nobody
signals a pid the kernel has since given to another) and then, every ``STEP_S``:

- exits when the server has died (the next call starts another);
- stops the server once no live process has held a lease for ``grace_s``;
- stops it once it has decoded nothing for ``idle_timeout_s``;
- keeps its log bounded: past ``LOG_CAP_BYTES`` (llama-server logs every
  request), the end of it goes to ``server.log.1`` and the log starts again.

A stop is decided under the folder's lock, where leases are taken, so a process
that has just leased the server is never left with one stopped under it
unknowingly (it would restart it anyway). SIGTERM stops the server too.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType

import httpx

from devfactory.models.local_server import (
    KEY_ENV,
    STOP_WAIT_S,
    Endpoint,
    ServerError,
    clear_state,
    executable,
    gauges,
    live_leases,
    locked,
    start_ticks,
    write_state,
)

STEP_S = 0.5
"""How often the supervisor looks at the server and the leases."""
LOG_CAP_BYTES = 4 << 20
"""The most ``server.log`` holds before its end is kept aside and it starts again."""
LOG_KEPT_BYTES = 64 << 10
"""How much of a full log's end is kept in ``server.log.1``."""


def bound_log(log: Path, cap: int = LOG_CAP_BYTES) -> bool:
    """Move the end of ``log`` to ``<log>.1`` and empty it when it has grown past ``cap``.

    The server writes it opened for appending, so its next line lands at the
    start of the emptied file. Return whether it was cut.
    """
    try:
        size = log.stat().st_size
    except FileNotFoundError:
        return False
    if size <= cap:
        return False
    with log.open("rb") as text:
        text.seek(max(0, size - LOG_KEPT_BYTES))
        log.with_name(log.name + ".1").write_bytes(text.read())
    os.truncate(log, 0)
    return True


def activity(client: httpx.Client) -> tuple[float, float] | None:
    """Return the server's (decode calls so far, requests in progress), None if unreadable."""
    try:
        text = client.get("http://llama-server/metrics").text
    except httpx.HTTPError:
        return None
    found = gauges(text)
    decodes = found.get("llamacpp:n_decode_total", 0.0)
    return decodes, found.get("llamacpp:requests_processing", 0.0)


def supervise(folder: Path, server: subprocess.Popen[bytes], plan: dict[str, object]) -> str:
    """Watch ``server`` until it dies or is stopped; return why it ended."""
    grace = float(plan["grace_s"])  # type: ignore[arg-type]
    idle = float(plan["idle_timeout_s"])  # type: ignore[arg-type]
    key = os.environ[KEY_ENV]
    transport = httpx.HTTPTransport(uds=str(plan["socket"]))
    headers = {"Authorization": f"Bearer {key}"}
    with httpx.Client(transport=transport, headers=headers, timeout=2.0) as client:
        unleased_since: float | None = None
        last_active = time.monotonic()
        last_seen: tuple[float, float] | None = None
        while True:
            time.sleep(STEP_S)
            if server.poll() is not None:
                return f"the server exited ({server.returncode})"
            bound_log(folder / "server.log")
            now = time.monotonic()
            seen = activity(client)
            if seen is not None and (seen[1] > 0 or seen != last_seen):
                last_active, last_seen = now, seen
            if live_leases(folder):
                unleased_since = None
            elif unleased_since is None:
                unleased_since = now
            why = ""
            if unleased_since is not None and now - unleased_since >= grace:
                why = f"no process has used it for {grace:g} s"
            elif now - last_active >= idle:
                why = f"idle for {idle:g} s"
            if not why:
                continue
            try:
                with locked(folder, STOP_WAIT_S):
                    if why.startswith("no process") and live_leases(folder):
                        unleased_since = None
                        continue  # leased again meanwhile
                    stop(server)
                    clear_state(folder, server.pid)
                    return why
            except ServerError:
                continue  # a start holds the lock: decide again at the next step


def stop(server: subprocess.Popen[bytes]) -> None:
    """Stop ``server``: SIGTERM, then SIGKILL if it outlives ``STOP_WAIT_S``."""
    if server.poll() is None:
        server.terminate()
        try:
            server.wait(timeout=STOP_WAIT_S)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def main(folder: Path) -> None:
    """Fork, start the server, write the state file and supervise it."""
    if os.fork() > 0:
        os._exit(0)  # the starter's wait ends here; the child carries on
    try:
        plan = json.loads((folder / "plan.json").read_text())
    except FileNotFoundError:
        os._exit(0)  # its starter gave up waiting: start nothing
    (folder / "server.log").write_bytes(b"")  # this server's log only
    log = (folder / "server.log").open("ab")  # appended: bound_log may empty it under the server
    os.dup2(log.fileno(), 1)
    os.dup2(log.fileno(), 2)
    server = subprocess.Popen(plan["command"], stdin=subprocess.DEVNULL, stdout=log, stderr=log)

    def on_term(signum: int, frame: FrameType | None) -> None:
        stop(server)
        clear_state(folder, server.pid)
        sys.exit(0)

    signal.signal(signal.SIGTERM, on_term)
    write_state(
        folder,
        Endpoint(
            socket=str(plan["socket"]),
            key=os.environ[KEY_ENV],
            pid=server.pid,
            supervisor=os.getpid(),
            slots=int(plan["slots"]),
            model=str(plan["model"]),
            started=time.time(),
            server_ticks=start_ticks(server.pid) or 0,  # kept through any exec of its own
            server_exe=str(Path(plan["command"][0]).resolve()),  # what a later stop checks
            supervisor_ticks=start_ticks(os.getpid()) or 0,
            supervisor_exe=executable(os.getpid()) or "",
        ),
    )
    why = supervise(folder, server, plan)
    clear_state(folder, server.pid)
    print(f"devfactory: model server {server.pid} stopped: {why}", flush=True)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
