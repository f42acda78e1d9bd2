"""A run event as a log line: its kind and its short values, in both formats."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from devfactory.events import Notice, PhaseChanged, RunError
from devfactory.logs import configure, run_event_fields

log = logging.getLogger("devfactory.test.events")


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    before, level = list(root.handlers), root.level
    out = io.StringIO()
    yield out
    for handler in list(root.handlers):
        if handler not in before:
            root.removeHandler(handler)
    root.setLevel(level)


def test_fields_keep_scalars_and_rename_what_the_line_already_uses() -> None:
    moved = run_event_fields(
        PhaseChanged(from_phase="DRAFT", to_phase="GOVERNANCE_ANALYSIS", reason="x" * 1000)
    )
    assert moved["kind"] == "transition"
    assert (moved["from"], moved["to"], moved["actor"]) == (
        "DRAFT",
        "GOVERNANCE_ANALYSIS",
        "factory",
    )
    assert len(moved["reason"]) == 300
    error = run_event_fields(RunError(run_id="r-1", message="the lease ran out"))
    assert error["error_message"] == "the lease ran out" and "message" not in error
    notice = run_event_fields(Notice(kind="budget", team="qa-engineering", message="at 90 %"))
    assert (notice["kind"], notice["notice_kind"], notice["team"]) == (
        "notice",
        "budget",
        "qa-engineering",
    )


def test_an_event_line_is_one_json_object_or_one_text_line_with_its_fields(
    stream: io.StringIO,
) -> None:
    event = RunError(run_id="r-1", message="handed back")
    configure("json", level=logging.INFO, stream=stream)
    log.info(event.event, extra={**run_event_fields(event), "run_id": "r-1"})
    (line,) = [json.loads(text) for text in stream.getvalue().splitlines()]
    assert (line["event"], line["kind"], line["run_id"]) == ("error", "error", "r-1")
    assert line["error_message"] == "handed back"
    stream.truncate(0)
    stream.seek(0)
    configure("text", level=logging.INFO, stream=stream)
    log.info(event.event, extra={**run_event_fields(event), "run_id": "r-1"})
    assert stream.getvalue() == (
        "INFO devfactory.test.events: error [run_id=r-1 kind=error error_message=handed back]\n"
    )


def test_a_python_warning_is_a_log_line_in_the_format(stream: io.StringIO) -> None:
    import warnings

    logging.captureWarnings(False)  # as a process that configures its logging once
    configure("json", level=logging.WARNING, stream=stream)
    try:
        warnings.warn("something is deprecated", UserWarning, stacklevel=1)
    finally:
        logging.captureWarnings(False)
    (line,) = [json.loads(text) for text in stream.getvalue().splitlines()]
    assert line["logger"] == "py.warnings" and "something is deprecated" in line["event"]
