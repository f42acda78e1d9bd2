"""Other processes calling the shared model server, as workers and the CLI do.

``other_process(plan, calls)`` starts a Python process that builds the served
chat model for ``plan`` and makes ``calls`` calls at once (call ``i`` asks
"Say the number {i}."); ``answered`` waits
for it and returns, per call, the pid of the server that answered and its text.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from devfactory.models.local_server import ServerPlan

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = """
import json, sys, threading
from pathlib import Path
from devfactory.models.local_server import ServerPlan, local_server
from devfactory.models.server_chat import build_served
fields = json.loads(sys.argv[1])
plan = ServerPlan(**{**fields, "binary": Path(fields["binary"]), "model": Path(fields["model"])})
chat = build_served(
    plan, max_tokens=int(sys.argv[3]), temperature=float(sys.argv[4]), timeout_s=300.0
)
calls = int(sys.argv[2])
done = [None] * calls
def call(i):
    text = chat.invoke(f"Say the number {i}.").content
    done[i] = (local_server(plan).ensure().pid, text)
threads = [threading.Thread(target=call, args=(i,)) for i in range(calls)]
[t.start() for t in threads]
[t.join() for t in threads]
print(json.dumps(done))
"""


def other_process(
    plan: ServerPlan, calls: int = 1, max_tokens: int = 16, temperature: float = 0.2
) -> subprocess.Popen[str]:
    """Start a process that calls the server of ``plan`` ``calls`` times at once (seed 0)."""
    fields = {k: str(v) if isinstance(v, Path) else v for k, v in vars(plan).items()}
    return subprocess.Popen(
        [
            sys.executable,
            "-c",
            SCRIPT,
            json.dumps(fields),
            str(calls),
            str(max_tokens),
            str(temperature),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": f"{ROOT}:{os.environ.get('PYTHONPATH', '')}"},
    )


def answered(proc: subprocess.Popen[str], timeout: float = 120) -> list[tuple[int, str]]:
    """Wait for ``proc``; return each call's (server pid, reply text)."""
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, err[-3000:]
    return [(int(pid), str(text)) for pid, text in json.loads(out)]
