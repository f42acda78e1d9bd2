"""An error the CLI reports is a JSON log line where the process logs JSON, else red text."""

from __future__ import annotations

import logging

import pytest

from devfactory.cli import common


def test_under_json_logging_an_error_is_a_log_line_not_text(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("DEVFACTORY_LOG_FORMAT", "json")
    printed: list[str] = []
    monkeypatch.setattr(common.err, "print", lambda *a, **k: printed.append(" ".join(map(str, a))))
    with caplog.at_level(logging.ERROR, logger="devfactory.cli"):
        exit_ = common.fail("the database is down", 4)
    assert exit_.exit_code == 4
    [record] = [r for r in caplog.records if r.name == "devfactory.cli"]
    assert record.getMessage() == "the database is down" and record.__dict__["exit_code"] == 4
    assert not printed  # no text line beside the JSON ones


def test_otherwise_an_error_is_printed(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv("DEVFACTORY_LOG_FORMAT", raising=False)
    printed: list[str] = []
    monkeypatch.setattr(common.err, "print", lambda *a, **k: printed.append(" ".join(map(str, a))))
    with caplog.at_level(logging.ERROR, logger="devfactory.cli"):
        common.fail("no such run", 3)
    assert printed and "no such run" in printed[0]
    assert not [r for r in caplog.records if r.name == "devfactory.cli"]
