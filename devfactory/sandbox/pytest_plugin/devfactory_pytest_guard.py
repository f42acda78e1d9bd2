"""Loaded into every test run in the sandbox (``-p devfactory_pytest_guard``).

A test that closes a standard stream (``sys.stdout.close()``, ``with sys.stdout:``,
or a ``TextIOWrapper`` over ``sys.stdout.buffer`` that is then collected) closes the
file pytest captures that stream into. pytest cannot read it again: that test fails
with "ValueError: I/O operation on closed file" from inside pytest, and every test
after it, in every file after it (the requirement's own examples among them), errors
before it starts. The report then lays the fault on tests that did nothing wrong, and
the examples, which never ran, cannot vouch for the code.

This plugin gives the capture a new file after the phase (setup, call, teardown, or a
module's collection) in which it was closed, and says in that one report what the
test did; the tests after it run as they would have. It reaches into pytest's capture
(``_pytest.capture``: ``_global_capturing``, each capture's ``tmpfile``), which the
pytest the sandbox installs has; where that is not there, it does nothing.

It runs inside the sandbox, in the environment's Python, with pytest's imports only.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Generator
from tempfile import TemporaryFile
from typing import Any

import pytest

WHY = (
    "it closed sys.{names}, the stream pytest captures printed output into, which stops "
    "every test after it from running: a test must leave the standard streams open (read "
    "what the code prints with the capsys fixture)"
)


def _captures(config: pytest.Config) -> list[Any]:
    """Return the session's captures of standard output and error (none: capture is off)."""
    manager = config.pluginmanager.getplugin("capturemanager")
    multi = getattr(manager, "_global_capturing", None)
    return [c for c in (getattr(multi, "out", None), getattr(multi, "err", None)) if c]


def _new_file(capture: Any) -> Any:
    """Return a new file like the one ``capture`` was given when pytest made it."""
    from _pytest.capture import CaptureIO, EncodedFile

    if hasattr(capture, "targetfd"):  # --capture=fd, the default
        return EncodedFile(
            TemporaryFile(buffering=0),
            encoding="utf-8",
            errors="replace",
            newline="",
            write_through=True,
        )
    return CaptureIO()  # --capture=sys or tee-sys


def _reopened(capture: Any) -> str:
    """Give a capture whose file was closed a new one; return the stream's name ("" if open)."""
    tmpfile = getattr(capture, "tmpfile", None)
    if tmpfile is None or not getattr(tmpfile, "closed", False):
        return ""
    new = _new_file(capture)
    capture.tmpfile = new
    inner = getattr(capture, "syscapture", capture)  # a file descriptor's capture holds sys's
    if getattr(inner, "tmpfile", None) is tmpfile:
        inner.tmpfile = new
    started = getattr(inner, "_state", "") == "started"
    if started and getattr(inner, "name", ""):
        setattr(sys, inner.name, new)
    if hasattr(capture, "targetfd") and getattr(capture, "_state", "") == "started":
        os.dup2(new.fileno(), capture.targetfd)
    return str(getattr(inner, "name", "") or ("stdout", "stderr")[capture.targetfd - 1])


def _reopen_all(config: pytest.Config) -> list[str]:
    """Reopen every closed capture; return the names of the streams that were closed."""
    try:
        return [name for capture in _captures(config) if (name := _reopened(capture))]
    except (ImportError, AttributeError, OSError, ValueError):
        return []  # another pytest's capture: nothing done, and the run goes on as it would


def _blamed(report: Any, config: pytest.Config) -> Any:
    """Reopen every closed capture; make ``report`` a failure that says which streams were."""
    names = _reopen_all(config)
    if names:
        report.outcome = "failed"
        report.longrepr = WHY.format(names=" and sys.".join(names))
    return report


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: Any) -> Generator[None, Any, Any]:
    """After each phase of a test, reopen what it closed, and fail it for that."""
    return _blamed((yield), item.config)


@pytest.hookimpl(wrapper=True, trylast=True)  # inside the capture's own wrapper
def pytest_make_collect_report(collector: pytest.Collector) -> Generator[None, Any, Any]:
    """After a module is collected (its top level run), reopen what it closed, and fail it."""
    return _blamed((yield), collector.config)
