"""E2E helpers: run the installed ``devfactory`` and ``langgraph`` commands."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def cli(*args: str, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "devfactory"), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture(scope="session")
def e2e_home(pg_root: Path) -> Path:
    """One data directory for the session: embedded Postgres and the joined model."""
    home = pg_root / "devfactory-home"
    home.mkdir()
    return home


@pytest.fixture
def env(e2e_home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEVFACTORY_")}
    env.update(
        DEVFACTORY_DATA_DIR=str(e2e_home),
        OLLAMA_HOST="http://127.0.0.1:9",  # nothing listens there: the embedded model serves
        DEVFACTORY_PROBE_TIMEOUT_S="0.3",
        PYTHONUNBUFFERED="1",
        COLUMNS="200",
    )
    return env


def dot_available() -> bool:
    return shutil.which("dot") is not None
