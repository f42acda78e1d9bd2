"""`devfactory submit --repo PATH_OR_URL [--base BRANCH]`: checked, queued, cloned by a worker."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from typer.testing import CliRunner

from devfactory import cli
from devfactory.cli import common
from devfactory.factory.intake import StartRequest
from devfactory.store.runs_table import RunInputError


class RecordingFactory:
    """Records what ``submit`` was given; returns a queued row (or raises ``outcome``)."""

    def __init__(self, outcome: Exception | None = None) -> None:
        self.outcome, self.given = outcome, dict[str, Any]()

    def submit(self, asked: StartRequest, **kwargs: Any) -> Any:
        self.given = {**vars(asked), **kwargs}
        if self.outcome is not None:
            raise self.outcome
        return SimpleNamespace(run_id="r1", shown_status="QUEUED")

    def close(self) -> None:
        pass


def test_submit_passes_the_repository_on_to_be_queued(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = RecordingFactory()
    monkeypatch.setattr(common, "open_factory", lambda settings: fake)
    args = ["submit", "Add multiply", "--repo", "https://git.example.com/calc.git", "--base", "dev"]
    result = CliRunner().invoke(cli.app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    assert (fake.given["repo"], fake.given["base"]) == ("https://git.example.com/calc.git", "dev")
    assert '"status": "QUEUED"' in result.output


def test_submit_refuses_a_base_without_a_repository(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = RecordingFactory()
    monkeypatch.setattr(common, "open_factory", lambda settings: fake)
    result = CliRunner().invoke(cli.app, ["submit", "Add multiply", "--base", "main"])
    assert result.exit_code == common.EXIT_USAGE, result.output
    assert "give --repo too" in result.output and fake.given == {}


def test_submit_says_why_a_repository_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    why = "the repository is refused: the host gitlab.com is not listed in repo_allowed_hosts"
    fake = RecordingFactory(RunInputError(why))
    monkeypatch.setattr(common, "open_factory", lambda settings: fake)
    result = CliRunner().invoke(cli.app, ["submit", "x", "--repo", "https://gitlab.com/o/r.git"])
    assert result.exit_code == common.EXIT_USAGE, result.output
    assert "not listed in repo_allowed_hosts" in " ".join(result.output.split())
