"""Shared fixtures: settings isolated in a temporary data directory."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from devfactory.settings import Settings

# Graph-logic tests script their files and never run them; processes they start inherit
# this. The build tests (tests/**/test_build*.py) and the embedded e2e run turn it on.
os.environ.setdefault("DEVFACTORY_RUN_CODE", "false")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings that write only under ``tmp_path`` and never probe a real Ollama."""
    return Settings(
        data_dir=tmp_path / "data",
        ollama_host="http://127.0.0.1:9",
        probe_timeout_s=0.2,
        max_stage_attempts=3,
        max_parse_retries=2,
        # graph-logic tests end at validation and block without asking;
        # the control-plane tests turn review and human retries on
        review_required=False,
        max_human_retries=0,
        # graph-logic tests script their files; the sandbox tests (test_build*.py) turn this on
        run_code=False,
    )


@pytest.fixture(scope="session")
def pg_root() -> Iterator[Path]:
    """A directory for an embedded Postgres, outside pytest's own temporary root.

    As root, pgserver runs Postgres as a ``pgserver`` user that must reach its
    data directory. Every pytest session resets ``/tmp/pytest-of-root`` to mode
    0700, which would cut a running server off from its files whenever another
    pytest session starts on the machine.
    """
    root = Path(tempfile.mkdtemp(prefix="devfactory-test-"))
    root.chmod(0o755)
    yield root
    shutil.rmtree(root, ignore_errors=True)
