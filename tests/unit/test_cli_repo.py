"""`devfactory run --repo PATH_OR_URL [--base BRANCH]`: passed on, refused, its branch shown."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from devfactory import cli
from devfactory.cli import common
from devfactory.factory.facade import RunReport
from devfactory.factory.intake import StartRequest
from devfactory.repos.repository import clone_for_run
from devfactory.store.runs_table import RunInputError


class RecordingFactory:
    """Records what ``start`` was given; returns ``outcome`` (or raises it)."""

    def __init__(self, outcome: Any) -> None:
        self.outcome, self.given = outcome, dict[str, Any]()

    def start(self, asked: StartRequest, **kwargs: Any) -> RunReport:
        self.given = {**vars(asked), **kwargs}
        if isinstance(self.outcome, Exception):
            raise self.outcome
        return self.outcome

    def close(self) -> None:
        pass


def test_base_without_a_repository_is_a_usage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = RecordingFactory(RuntimeError("never started"))
    monkeypatch.setattr(common, "open_factory", lambda settings: fake)
    result = CliRunner().invoke(cli.app, ["run", "Add multiply", "--base", "main"])
    assert result.exit_code == common.EXIT_USAGE, result.output
    assert "give --repo too" in result.output and fake.given == {}


def test_a_repository_git_cannot_use_is_a_usage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = RecordingFactory(RunInputError("cannot deliver into '/nowhere': not a folder"))
    monkeypatch.setattr(common, "open_factory", lambda settings: fake)
    result = CliRunner().invoke(cli.app, ["run", "Add multiply", "--repo", "/nowhere"])
    assert result.exit_code == common.EXIT_USAGE, result.output
    assert "not a folder" in result.output
    assert fake.given["repo"] == "/nowhere" and fake.given["base"] is None


def test_the_finished_run_names_its_branch(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    (source / "calc.py").write_text("def add(a, b):\n    return a + b\n")
    env = {"PATH": "/usr/bin:/bin", "GIT_CONFIG_GLOBAL": "/dev/null", "HOME": str(tmp_path)}
    for args in (["init", "-q", "-b", "main"], ["add", "."], ["commit", "-q", "-m", "calc"]):
        subprocess.run(
            ["git", "-c", "user.name=O", "-c", "user.email=o@x.org", *args],
            cwd=source, env=env, check=True, timeout=60,
        )  # fmt: skip
    out = tmp_path / "run"
    clone_for_run(str(source), "main", "r1", out, timeout=60, max_bytes=2**20)
    fake = RecordingFactory(RunReport("r1", "COMPLETED", "merged", out, []))
    monkeypatch.setattr(common, "open_factory", lambda settings: fake)
    args = ["run", "Add multiply", "--repo", str(source), "--base", "main"]
    result = CliRunner().invoke(cli.app, args)
    assert result.exit_code == 0, result.output
    assert f"branch: devfactory/r1 of {source} (base main)" in " ".join(result.output.split())
    assert (fake.given["repo"], fake.given["base"]) == (str(source), "main")
