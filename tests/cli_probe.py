"""Run ``devfactory`` in a fresh interpreter and list the modules it loaded.

A fresh process, so that what a test imported before cannot hide a heavy
import; the modules are written to standard error at exit, after the command's
own output, so a failure can say which import came back.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# What no help and no read command may load: the run's machinery (LangChain, LangGraph,
# the models, memory's services, the graph and the factory that drives it).
MACHINERY = (
    "langchain_core",
    "langgraph",
    "mem0",
    "onnxruntime",
    "devfactory.graph",
    "devfactory.models.router",
    "devfactory.models.server_chat",
    "devfactory.factory.facade",
    "devfactory.memory.live",
    "devfactory.memory.facts",
    "devfactory.memory.service",
)

PROBE = """
import atexit, json, sys
atexit.register(lambda: sys.stderr.write("MODULES " + json.dumps(sorted(sys.modules)) + "\\n"))
from devfactory.cli import app
app(sys.argv[1:], prog_name="devfactory")
"""


def loaded(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, list[str]]:
    """Run ``devfactory *args``; return its exit code, its output and the modules it loaded."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    line = next(x for x in done.stderr.splitlines() if x.startswith("MODULES "))
    output = done.stdout + "".join(
        x + "\n" for x in done.stderr.splitlines() if not x.startswith("MODULES ")
    )
    return done.returncode, output, json.loads(line[len("MODULES ") :])


def among(modules: list[str], names: tuple[str, ...]) -> list[str]:
    """Return the ``modules`` that are, or are inside, one of ``names``."""
    return [m for m in modules if any(m == n or m.startswith(n + ".") for n in names)]
