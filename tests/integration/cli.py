"""Run the ``devfactory`` command in processes of its own, on a test's database."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.servers import launch

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def cli_env(database_url: str, tmp_path: Path) -> dict[str, str]:
    """The environment of a CLI process: this database, scripted models, a call log."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEVFACTORY_")}
    env.update(
        DATABASE_URL=database_url,
        DEVFACTORY_DATA_DIR=str(tmp_path / "data"),
        DEVFACTORY_MODELS_FACTORY="tests.integration.models:logged",
        DEVFACTORY_TEST_CALL_LOG=str(tmp_path / "calls.log"),
        DEVFACTORY_MEMORY_ENABLED="false",
        DEVFACTORY_RUN_CODE="false",
        DEVFACTORY_PROSE_FACT_CALLS="0",  # scripted runs: no call reads the facts left open
        OLLAMA_HOST="http://127.0.0.1:9",
        PYTHONPATH=str(ROOT),
        COLUMNS="200",
    )
    return env


def start(
    env: dict[str, str], *args: str | bytes, log: Path | None = None
) -> subprocess.Popen[bytes]:
    """Start ``devfactory *args`` (bytes arguments are passed as they are).

    Its output is piped, or written to ``log`` for a long-lived process whose
    output nobody reads as it goes (a full pipe would stall it).
    """
    if log is not None:
        return launch(env, args, log)
    return subprocess.Popen(
        [str(BIN / "devfactory"), *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def finish(proc: subprocess.Popen[bytes]) -> tuple[int, str, str]:
    """Wait for a process; return its exit code, stdout and stderr."""
    out, err = proc.communicate(timeout=300)
    return proc.returncode, out.decode(errors="replace"), err.decode(errors="replace")


def run(env: dict[str, str], *args: str | bytes) -> tuple[int, str, str]:
    """Run ``devfactory *args`` to its end."""
    return finish(start(env, *args))
