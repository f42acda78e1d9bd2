"""A run's folder as the recorder keeps it: one commit per PASSED stage, checks shown."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from rich.console import Console
from typer.testing import CliRunner

from devfactory import cli
from devfactory.chat.view import stage_markdown
from devfactory.cli import common
from devfactory.cli.progress import Progress
from devfactory.contracts import (
    Artifact,
    ArtifactKind,
    CheckRun,
    StageOutcome,
    StageRecord,
    Status,
    TaskResult,
)
from devfactory.events import StageFinished
from devfactory.factory.artifacts import check_line, commit_message
from devfactory.factory.reads import RunNotFoundError
from devfactory.factory.recorder import RunRecorder
from devfactory.repos.workspace import Workspace
from devfactory.teams import load_teams

TESTS = CheckRun(name="tests", command="pytest -q", exit_code=1, seconds=2.1, passed=3, failed=1)
INSTALL = CheckRun(name="install", command="pip install -e .", exit_code=0, seconds=4.0)


class FakeAudit:
    def __init__(self) -> None:
        self.kept: list[tuple[str, dict[str, Any]]] = []

    def append(self, run_id: str, kind: str, payload: Any, *, actor: str, key: str = "") -> None:
        self.kept.append((kind, dict(payload)))


class FakeRuns:
    def release(self, run_id: str, **kwargs: Any) -> None:
        pass


def recorder(out: Path) -> tuple[RunRecorder, FakeAudit]:
    row = SimpleNamespace(
        run_id="r1", out_dir=str(out), pipeline="mvp", project="default", requirement="A todo API"
    )
    audit = FakeAudit()
    return RunRecorder(FakeRuns(), audit, row, None), audit  # type: ignore[arg-type]


def record(
    team: str,
    outcome: StageOutcome = StageOutcome.PASSED,
    *,
    content: str = "# Work\n",
    checks: list[CheckRun] | None = None,
) -> StageRecord:
    passed = outcome is StageOutcome.PASSED
    result = TaskResult(
        status=Status.COMPLETE if passed else Status.BLOCKED,
        confidence=0.83 if passed else 0.2,
        reasoning=f"{team} did its work.\nThe details follow.",
        blockers=[] if passed else ["not good enough"],
        artifacts=[Artifact(path=f"{team}/work.md", kind=ArtifactKind.MARKDOWN, content=content)],
    )
    return StageRecord(
        team=team,
        outcome=outcome,
        result=result,
        model="scripted:fake",
        attempts=2,
        checks=checks or [],
    )


def finish(rec: RunRecorder, records: list[StageRecord], status: str = "COMPLETED") -> None:
    stages = {r.team: r for r in records}  # the state as the graph holds it
    rec.finish(status, "", {"stages": stages, "requirement": "A todo API"}, [])


def test_each_stage_is_one_commit_by_its_team_and_a_blocked_one_says_not_accepted(
    tmp_path: Path,
) -> None:
    rec, _ = recorder(tmp_path)
    ba = record("business-analysis", checks=[INSTALL, TESTS])
    arch = record("solution-architecture")
    blocked = record("backend-engineering", StageOutcome.BLOCKED)
    for r in (ba, arch, blocked):
        rec.record(StageFinished(record=r))
    assert (tmp_path / "backend-engineering" / "work.md").exists()  # the best version, at its path
    assert not (tmp_path / "_blocked").exists()
    history = Workspace(tmp_path).log()
    assert [c.author for c in history] == [
        "Backend Engineering <backend-engineering@devfactory.local>",
        "Solution Architecture <solution-architecture@devfactory.local>",
        "Business Analysis <business-analysis@devfactory.local>",
    ]
    assert history[0].subject.startswith("Backend Engineering: NOT ACCEPTED, best version kept")
    assert "outcome: BLOCKED" in history[0].body
    first = history[-1]
    assert first.subject == "Business Analysis: business-analysis did its work."
    assert first.files == ("business-analysis/work.md",)
    assert "confidence: 0.83\nattempts: 2\noutcome: PASSED\nmodel: scripted:fake" in first.body
    assert "✗ tests: pytest -q → exit 1, 3 passed 1 failed (2.1 s)" in first.body
    assert "✓ install: pip install -e . → exit 0 (4.0 s)" in first.body

    finish(rec, [ba, arch, blocked], status="FAILED")
    summary = Workspace(tmp_path).log()[0]
    assert summary.subject == "devfactory: run summary"
    assert set(summary.files) == {"SUMMARY.md", "run.json"}
    text = (tmp_path / "SUMMARY.md").read_text()
    assert "NOT accepted" in text
    assert "`backend-engineering/work.md` (backend-engineering, BLOCKED)" in text


def test_a_refused_python_file_that_does_not_parse_lies_beside_its_path(tmp_path: Path) -> None:
    # cut off at the token limit: at its path it would break every import and pytest run
    rec, _ = recorder(tmp_path)
    drafts = [
        Artifact(path="tests/test_app.py", kind=ArtifactKind.PYTHON, content="def test_a(:\n"),
        Artifact(path="app.py", kind=ArtifactKind.PYTHON, content="def f():\n    return 1\n"),
    ]
    blocked = record("qa-engineering", StageOutcome.BLOCKED)
    assert blocked.result is not None
    blocked = blocked.model_copy(
        update={"result": blocked.result.model_copy(update={"artifacts": drafts})}
    )
    rec.record(StageFinished(record=blocked))
    assert not (tmp_path / "tests" / "test_app.py").exists()
    assert (tmp_path / "tests" / "test_app.py.unparsed").read_text() == "def test_a(:\n"
    assert (tmp_path / "app.py").read_text() == "def f():\n    return 1\n"  # it parses: at its path
    assert set(Workspace(tmp_path).log()[0].files) == {"tests/test_app.py.unparsed", "app.py"}
    finish(rec, [blocked], status="FAILED")
    text = (tmp_path / "SUMMARY.md").read_text()
    assert "`tests/test_app.py.unparsed` (qa-engineering, BLOCKED; it does not parse" in text
    assert "- `app.py` (qa-engineering, BLOCKED)" in text


def test_a_rerun_stage_commits_only_what_changed_and_a_revise_goes_on_top(
    tmp_path: Path,
) -> None:
    rec, _ = recorder(tmp_path)
    first = record("business-analysis", content="# Round 1\n")
    rec.record(StageFinished(record=first))
    rec.record(StageFinished(record=first))  # a resumed run re-emits it: same bytes, no commit
    finish(rec, [first], status="PAUSED")
    rec, _ = recorder(tmp_path)  # the person asked for changes: a new drive
    second = record("business-analysis", content="# Round 2\n")
    rec.record(StageFinished(record=second))
    finish(rec, [second])
    workspace = Workspace(tmp_path)
    assert [c.subject.split(":")[0] for c in workspace.log()] == [
        "devfactory",
        "Business Analysis",
        "devfactory",
        "Business Analysis",
    ]
    diff = workspace.diff("business-analysis")
    assert "-# Round 1" in diff and "+# Round 2" in diff


def test_a_folder_that_cannot_keep_history_is_reported_and_the_run_goes_on(
    tmp_path: Path,
) -> None:
    (tmp_path / ".git").write_text("gitdir: elsewhere\n")
    rec, audit = recorder(tmp_path)
    rec.record(StageFinished(record=record("business-analysis")))
    rec.record(StageFinished(record=record("solution-architecture")))
    finish(rec, [record("business-analysis")])
    assert (tmp_path / "business-analysis" / "work.md").exists()
    assert (tmp_path / "SUMMARY.md").exists()
    notices = [body for kind, body in audit.kept if kind == "notice"]
    workspace = [n for n in notices if n["kind"] == "workspace"]
    assert len(workspace) == 1  # reported once, not at every stage
    assert "not a folder" in workspace[0]["message"]


def test_a_link_planted_at_a_deliverable_is_never_committed(tmp_path: Path) -> None:
    Workspace(tmp_path).init()
    (tmp_path / "business-analysis").mkdir()
    (tmp_path / "business-analysis" / "work.md").symlink_to("/etc/hostname")
    rec, audit = recorder(tmp_path)
    rec.record(StageFinished(record=record("business-analysis")))
    assert Workspace(tmp_path).log() == []
    assert any(body.get("kind") == "artifact_refused" for _, body in audit.kept)


def test_an_old_run_folder_keeps_its_files_and_gets_no_history(tmp_path: Path) -> None:
    (tmp_path / "business-analysis").mkdir()
    (tmp_path / "business-analysis" / "work.md").write_text("# from before\n")
    rec, audit = recorder(tmp_path)
    rec.record(StageFinished(record=record("solution-architecture")))
    finish(rec, [record("solution-architecture")])
    assert not (tmp_path / ".git").exists()
    assert (tmp_path / "solution-architecture" / "work.md").exists()
    [notice] = [body for kind, body in audit.kept if kind == "notice"]
    assert "held files before the run" in notice["message"]


def test_summary_and_run_json_show_each_stages_checks(tmp_path: Path) -> None:
    rec, _ = recorder(tmp_path)
    host = CheckRun(name="lint", command="ruff check | tee x", exit_code=0, sandboxed=False)
    finish(rec, [record("business-analysis", checks=[TESTS, host]), record("documentation")])
    summary = (tmp_path / "SUMMARY.md").read_text()
    assert "## Checks: business-analysis" in summary
    assert "| tests | `pytest -q` | 1 | 3/1/0 | 2.1 | yes |" in summary
    assert "| lint | `ruff check \\| tee x` | 0 | 0/0/0 | 0.0 | no |" in summary
    assert "## Checks: documentation" not in summary
    doc = json.loads((tmp_path / "run.json").read_text())
    assert doc["stages"][0]["checks"][0]["command"] == "pytest -q"


def test_check_line_and_commit_message_edge_cases() -> None:
    killed = CheckRun(name="smoke", command="python -m app\n--serve", summary="killed after 120 s")
    assert check_line(killed) == (
        "smoke: python -m app --serve → did not exit, killed after 120 s (0.0 s)"
    )
    long = record("documentation").model_copy(deep=True)
    assert long.result is not None
    long.result.reasoning = "\x1b[31m" + "x" * 200
    message = commit_message(long, "Documentation")
    subject = message.splitlines()[0]
    assert len(subject) == 72 and subject.endswith("…") and "\x1b" not in message


def test_the_cli_and_chat_stage_views_list_the_checks() -> None:
    out = Console(record=True, width=200, force_terminal=False)
    progress = Progress("mvp", out)
    progress(StageFinished(record=record("business-analysis", checks=[TESTS])))
    text = out.export_text()
    assert "  ✗ tests: pytest -q → exit 1, 3 passed 1 failed (2.1 s)" in text
    table = Console(record=True, width=200)
    table.print(progress.table())
    assert "↳ tests" in table.export_text()
    shown = stage_markdown(
        record("business-analysis", checks=[TESTS]).model_dump(mode="json"), load_teams()
    )
    assert "**Checks**" in shown and "❌ `tests: pytest -q → exit 1" in shown


@pytest.mark.parametrize("team", ["business-analysis", "documentation"])
def test_a_stage_without_files_commits_nothing(tmp_path: Path, team: str) -> None:
    rec, _ = recorder(tmp_path)
    empty = record(team).model_copy(deep=True)
    assert empty.result is not None
    empty.result.artifacts = []
    rec.record(StageFinished(record=empty))
    assert Workspace(tmp_path).log() == []


class RunsOnDisk:
    """A factory that knows one run, whose folder is ``out``."""

    def __init__(self, out: Path) -> None:
        self.out = out

    def get(self, run_id: str) -> Any:
        if run_id != "r1":
            raise RunNotFoundError(f"no run {run_id}")
        return SimpleNamespace(run_id="r1", pipeline="mvp", out_dir=str(self.out))

    def close(self) -> None:
        pass


def test_cli_diff_shows_a_stage_the_run_or_says_why_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rec, _ = recorder(tmp_path / "run")
    (tmp_path / "run").mkdir()
    rec.record(StageFinished(record=record("business-analysis", content="# BA\n")))
    rec.record(StageFinished(record=record("solution-architecture", content="# SA\n")))
    (tmp_path / "old").mkdir()
    monkeypatch.setattr(common, "open_factory", lambda settings: RunsOnDisk(tmp_path / "run"))
    runner = CliRunner()

    shown = runner.invoke(cli.app, ["diff", "r1", "business-analysis"])
    assert shown.exit_code == 0, shown.output
    assert "+++ b/business-analysis/work.md" in shown.stdout and "+# BA" in shown.stdout
    assert "solution-architecture" not in shown.stdout
    whole = runner.invoke(cli.app, ["diff", "r1"])
    assert "+# BA" in whole.stdout and "+# SA" in whole.stdout
    nothing = runner.invoke(cli.app, ["diff", "r1", "documentation"])
    assert nothing.exit_code == 0 and nothing.stdout == ""
    assert "committed nothing" in nothing.stderr

    assert runner.invoke(cli.app, ["diff", "r2"]).exit_code == cli.EXIT_NOT_FOUND
    typo = runner.invoke(cli.app, ["diff", "r1", "bakend"])
    assert typo.exit_code == cli.EXIT_USAGE and "no team 'bakend'" in typo.stderr
    monkeypatch.setattr(common, "open_factory", lambda settings: RunsOnDisk(tmp_path / "old"))
    old = runner.invoke(cli.app, ["diff", "r1"])
    assert old.exit_code == cli.EXIT_NOT_FOUND and "has no git history" in old.stderr
