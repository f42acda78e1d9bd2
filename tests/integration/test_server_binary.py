"""The llama-server that `make setup` builds runs, and names the sources it was built from."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from devfactory.models.server_build import pinned_sdist, server_binary

ROOT = Path(__file__).resolve().parents[2]


def test_the_built_server_runs_and_names_its_build() -> None:
    binary = server_binary()
    if binary is None:
        pytest.skip(
            f"llama-server is not built beside {sys.executable}: "
            "`make setup` builds it (python -m devfactory.models.server_build)"
        )
    done = subprocess.run(
        [str(binary), "--version"], capture_output=True, text=True, timeout=60, check=False
    )
    said = done.stdout + done.stderr
    assert done.returncode == 0, said
    label = pinned_sdist((ROOT / "uv.lock").read_text()).build_label
    assert f"commit {label})" in said, said
    assert "built with" in said, said
