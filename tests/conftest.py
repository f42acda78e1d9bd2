"""Shared fixtures: settings isolated in a temporary data directory."""

from __future__ import annotations

import logging
import os
import shutil
import signal
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from devfactory.logs import HANDLER
from devfactory.settings import Settings
from tests import leftovers

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
        # graph-logic tests script their stages' calls; the facts' tests (test_interface.py)
        # turn the model's reading of what the parser left open on
        prose_fact_calls=0,
    )


@pytest.fixture(autouse=True)
def _umask_kept() -> Iterator[None]:
    """Give the next test this one's umask back: an entry point called in-process sets 0077."""
    mask = os.umask(0o022)
    os.umask(mask)
    yield
    os.umask(mask)


@pytest.fixture(autouse=True)
def _log_handlers_kept() -> Iterator[None]:
    """Take off the log handler an entry point called in-process added (``logs.configure``).

    It writes to the stream that test captured, closed once the test ends: a
    later test's warning was then lost to "I/O operation on closed file", the
    one line that said why its push failed.
    """
    root = logging.getLogger()
    before, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        if handler not in before and handler.get_name() == HANDLER:
            root.removeHandler(handler)
    root.setLevel(level)


def _interrupted(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def pytest_configure(config: pytest.Config) -> None:
    """Let SIGTERM (``timeout``, a CI runner) end the session as Ctrl-C does: torn down.

    Its fixtures then stop the servers they started; a SIGKILL is left to the
    next session's ``leftovers.sweep``.
    """
    in_main = threading.current_thread() is threading.main_thread()
    if in_main and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _interrupted)


@pytest.fixture(scope="session")
def pg_root() -> Iterator[Path]:
    """A directory for an embedded Postgres, outside pytest's own temporary root.

    It names this session as its owner; servers left in it are stopped at the
    session's end, or by the next session if this one is killed (``leftovers``).

    As root, pgserver runs Postgres as a ``pgserver`` user that must reach its
    data directory. Every pytest session resets ``/tmp/pytest-of-root`` to mode
    0700, which would cut a running server off from its files whenever another
    pytest session starts on the machine.
    """
    base = Path(tempfile.gettempdir())
    leftovers.sweep(base)  # servers of sessions killed before their teardown
    root = Path(tempfile.mkdtemp(prefix=leftovers.PREFIX, dir=base))
    root.chmod(0o755)
    leftovers.claim(root)
    yield root
    leftovers.stop_users(root)  # what this session's servers started and left running
    shutil.rmtree(root, ignore_errors=True)
