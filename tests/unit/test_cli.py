"""CLI exit codes that scripts rely on, without a database (the factory is faked)."""

from __future__ import annotations

from typing import Any

import pytest
from typer.testing import CliRunner

from devfactory import cli
from devfactory.runner import RunReport


class FakeFactory:
    def __init__(self, outcome: Any) -> None:
        self.outcome = outcome
        self.closed = False

    def start(self, requirement: str, **kwargs: Any) -> RunReport:
        if isinstance(self.outcome, Exception):
            raise self.outcome
        return self.outcome

    def close(self) -> None:
        self.closed = True


@pytest.mark.parametrize(
    ("outcome", "code", "needle"),
    [
        (RunReport("r1", "COMPLETED", "", cli.Path("/tmp/o"), []), 0, "COMPLETED run r1"),
        (
            RunReport("r1", "FAILED", "stage x BLOCKED", cli.Path("/tmp/o"), []),
            1,
            "stage x BLOCKED",
        ),
        (RuntimeError("connection lost"), 5, "unexpected error: connection lost"),
    ],
)
def test_run_exit_codes(
    monkeypatch: pytest.MonkeyPatch, outcome: Any, code: int, needle: str
) -> None:
    fake = FakeFactory(outcome)
    monkeypatch.setattr(cli, "_open_factory", lambda settings: fake)
    result = CliRunner().invoke(cli.app, ["run", "A todo API"])
    assert result.exit_code == code, result.output
    assert needle in result.output
    assert fake.closed
