"""The Langfuse exporter's complaints about a server that went away: one line, not one a batch."""

from __future__ import annotations

import logging

import pytest

from devfactory import tracing


def complain_everywhere() -> None:
    for name in tracing.EXPORT_LOGGERS:
        logger = logging.getLogger(name)
        try:
            raise ConnectionError("refused")
        except ConnectionError:
            logger.exception("Exception while exporting Span batch.")
        logger.warning("Transient error, retrying")


def test_the_exporters_repeated_failures_make_one_line_per_quiet_period(
    caplog: pytest.LogCaptureFixture,
) -> None:
    tracing._quiet_exporter()
    tracing._quiet_exporter()  # once per process, however many clients open
    for name in tracing.EXPORT_LOGGERS:
        assert logging.getLogger(name).filters.count(tracing._QUIET) == 1
    before = tracing._QUIET.last
    tracing._QUIET.last = float("-inf")
    try:
        caplog.set_level(logging.WARNING)
        complain_everywhere()
        assert len(caplog.records) == 1 and caplog.records[0].exc_info is None
        tracing._QUIET.last -= tracing.QUIET_S  # the quiet period is over
        complain_everywhere()
        assert len(caplog.records) == 2
    finally:
        tracing._QUIET.last = before
