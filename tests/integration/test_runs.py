"""Runs on real Postgres: persisted stages, clean failures, parallel joins, crash and resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import psycopg
import pytest

from devfactory.factory.facade import Factory, RunBusyError, RunNotFoundError
from devfactory.factory.intake import StartRequest
from devfactory.memory.audit import AuditLog
from devfactory.repos.workspace import Workspace
from devfactory.settings import Settings
from devfactory.store.lease import new_driver
from devfactory.store.runs_table import RunStatus, RunStore
from tests.fakes import ScriptedModels, good_report, report_with

ROOT = Path(__file__).resolve().parents[2]
REQ = "A REST API for a personal todo list"


def test_mvp_run_persists_every_stage(pg_settings: Settings, tmp_path: Path) -> None:
    out = tmp_path / "out"
    models = ScriptedModels()
    with Factory(pg_settings, models=models) as factory:
        report = factory.start(StartRequest(REQ, pipeline="mvp", out_dir=out))
    assert report.status == RunStatus.COMPLETED
    assert [r.team for r in report.records] == [
        "business-analysis",
        "solution-architecture",
        "backend-engineering",
        "qa-engineering",
        "documentation",
    ]
    # a new connection sees the same run: it lives in Postgres, not in memory
    with Factory(pg_settings) as again:
        stored = again.report(report.run_id)
        assert stored.status == "COMPLETED"
        assert [r.outcome.value for r in stored.records] == ["PASSED"] * 5
        assert stored.next_stages == ()
        assert [row.run_id for row in again.runs.list()] == [report.run_id]
        # the run's graph: each stage with its outcome, attempts and confidence
        drawn = {b.id: b.lines for b in again.drawing(report.run_id).boxes if b.kind == "team"}
        for record in stored.records:
            assert record.result is not None
            lines = ("PASSED · 1 attempt", f"confidence {record.result.confidence:.2f}")
            assert drawn[record.team][1:] == lines
    doc = json.loads((out / "run.json").read_text())
    assert doc["status"] == "COMPLETED"
    assert len(doc["stages"]) == 5
    assert doc["usage"]["calls"] == len(models.chat.calls)  # governance's call too
    for stage in doc["stages"]:
        for art in stage["result"]["artifacts"]:
            assert (out / art["path"]).read_text().rstrip("\n") == art["content"].rstrip("\n")
    assert (
        "| backend-engineering | PASSED | scripted:fake | 0.95 |"
        in (out / "SUMMARY.md").read_text()
    )


@pytest.mark.parametrize("ends", ["COMPLETED", "FAILED"])
def test_a_run_is_shown_ended_only_once_its_files_are_written(
    pg_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ends: str
) -> None:
    # a client that polls until the run ended, then lists its files, must find them all
    out, seen = tmp_path / "out", []
    move = RunStore.transition

    def watched(self: RunStore, run_id: str, key: str, to: Any, **kw: Any) -> Any:
        seen.append((str(to), (out / "run.json").exists(), (out / "SUMMARY.md").exists()))
        return move(self, run_id, key, to, **kw)

    monkeypatch.setattr(RunStore, "transition", watched)
    low = report_with(lambda c: json.dumps(good_report(c.spec, confidence=0.1)))
    script = () if ends == "COMPLETED" else (low,)
    settings = pg_settings.with_overrides(max_human_retries=0)
    with Factory(settings, models=ScriptedModels(*script)) as factory:
        report = factory.start(StartRequest(REQ, pipeline="mvp", out_dir=out))
        assert factory.get(report.run_id).status == ends
    assert report.status == ends
    assert [s for s in seen if s[0] == ends] == [(ends, True, True)]  # recorded once, after


def test_a_blocked_stage_fails_the_run_with_the_reason(
    pg_settings: Settings, tmp_path: Path
) -> None:
    # with no human retries allowed, a BLOCKED stage ends the run without asking
    low = report_with(lambda c: json.dumps(good_report(c.spec, confidence=0.1)))
    settings = pg_settings.with_overrides(max_human_retries=0)
    with Factory(settings, models=ScriptedModels(low)) as factory:
        report = factory.start(StartRequest(REQ, out_dir=tmp_path / "out"))
        row = factory.get(report.run_id)
    assert report.status == RunStatus.FAILED
    assert report.reason.startswith("stage business-analysis BLOCKED: gate failed 3 of 3")
    assert row.status == "FAILED" and row.reason == report.reason
    assert (
        "**Why it stopped:** stage business-analysis BLOCKED"
        in (tmp_path / "out" / "SUMMARY.md").read_text()
    )
    # the best version is delivered where it belongs, and said plainly not to be accepted
    kept = tmp_path / "out" / "analysis" / "requirements.md"
    assert kept.read_text().startswith("# Business Analysis deliverable")
    summary = (tmp_path / "out" / "SUMMARY.md").read_text()
    assert "## Not accepted: the best versions the gate refused" in summary
    assert "`analysis/requirements.md` (business-analysis, BLOCKED)" in summary
    assert "attempt 3: gate failed 3 of 3 attempts" in summary
    [refused] = [c for c in Workspace(tmp_path / "out").log() if "NOT ACCEPTED" in c.subject]
    assert refused.subject.startswith("Business Analysis: NOT ACCEPTED, best version kept")
    assert refused.files == ("analysis/requirements.md",)


def test_full_run_joins_parallel_teams(pg_settings: Settings, tmp_path: Path) -> None:
    models = ScriptedModels()
    with Factory(pg_settings, models=models) as factory:
        report = factory.start(StartRequest(REQ, pipeline="full", out_dir=tmp_path / "out"))
    assert report.status == RunStatus.COMPLETED
    assert len(report.records) == 17
    reports = Counter(c.team for c in models.chat.calls if c.kind == "report")
    assert set(reports.values()) == {1}
    assert (tmp_path / "out" / "db" / "schema.sql").is_file()


def test_recursion_limit_fails_the_run_cleanly(pg_settings: Settings, tmp_path: Path) -> None:
    with Factory(pg_settings.with_overrides(recursion_limit=4), models=ScriptedModels()) as f:
        report = f.start(StartRequest(REQ, out_dir=tmp_path / "out"))
    assert report.status == RunStatus.FAILED
    assert report.reason == "recursion limit 4 reached"


def test_a_run_driven_by_a_live_process_is_not_resumed(pg_settings: Settings) -> None:
    with Factory(pg_settings, models=ScriptedModels()) as factory:
        # owned by this (live) process, which holds its lease
        factory.runs.create("live-1", REQ, "mvp", "/tmp/out", driver=new_driver(), lease_s=60)
        with pytest.raises(RunBusyError, match="still running"):
            factory.resume("live-1")
        assert factory.get("live-1").status == "DRAFT"


def test_runs_are_searched_by_every_word_in_the_database(pg_settings: Settings) -> None:
    with Factory(pg_settings, models=ScriptedModels()) as factory:
        runs, lease = factory.runs, {"driver": new_driver(), "lease_s": 60}
        runs.create("s-1", "A Word Counter for text", "lean", "/tmp/a", "tools", "ann", **lease)
        runs.create("s-2", "A word game", "lean", "/tmp/b", "games", "bob", **lease)
        runs.create("s-3", "100% done_ish", "lean", "/tmp/c", "tools", "bob", **lease)

        def found(*words: str, **where: str) -> set[str]:
            return {r.run_id for r in runs.page(10, words=words, **where)}

        assert found("word") == {"s-1", "s-2"}  # any case
        assert found("WORD", "counter") == {"s-1"}  # every word
        assert found("bob", "tools") == {"s-3"}  # owner and project count too
        assert found("word", owner="bob") == {"s-2"}
        assert found("%") == {"s-3"} and found("_") == {"s-3"}  # LIKE's wildcards are literal
        assert found("s-") == {"s-1", "s-2", "s-3"} and found("nothing") == set()
        assert len(runs.page(2, words=["s-"])) == 2


def test_unknown_run_and_empty_requirement_are_refused(pg_settings: Settings) -> None:
    with Factory(pg_settings, models=ScriptedModels()) as factory:
        with pytest.raises(RunNotFoundError):
            factory.resume("nope")
        with pytest.raises(ValueError, match="requirement is empty"):
            factory.start(StartRequest("   "))


def _worker(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tests.integration.crash_worker", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_sigkilled_run_resumes_without_repeating_finished_stages(
    pg_settings: Settings, database_url: str, tmp_path: Path
) -> None:
    log, out = tmp_path / "calls.log", tmp_path / "out"
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DEVFACTORY_DATA_DIR": str(tmp_path / "data"),
        "DEVFACTORY_REVIEW_REQUIRED": "false",
    }
    killed = _worker(env, "start", "crash-1", str(log), str(out), "qa-engineering")
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    first = [line.split() for line in log.read_text().splitlines()]
    assert {pid for pid, *_ in first} == {first[0][0]}
    with Factory(pg_settings) as factory:
        row = factory.get("crash-1")
        assert row.status == "IN_PROGRESS" and row.interrupted
        assert factory.report("crash-1").next_stages == ("qa-engineering",)

    resumed = _worker(env, "resume", "crash-1", str(log), str(out))
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.stdout.strip() == "COMPLETED"
    calls = [line.split() for line in log.read_text().splitlines()]
    second = calls[len(first) :]
    assert {pid for pid, *_ in second} != {first[0][0]}
    count = Counter((team, kind) for _, team, kind, *_ in calls)
    # finished stages ran exactly once: one report, one draft per deliverable
    for team, files in (
        ("business-analysis", 1),
        ("solution-architecture", 2),
        ("backend-engineering", 2),
    ):
        assert count[(team, "report")] == 1
        assert count[(team, "draft")] == files
    # the stage that died mid-draft ran again from its start (the plan gives QA one
    # file), then the rest
    assert count[("qa-engineering", "draft")] == 1 + 1
    assert count[("qa-engineering", "report")] == 1
    assert count[("documentation", "report")] == 1
    assert {team for _, team, *_ in second} == {"qa-engineering", "documentation"}
    assert count[("governance", "governance")] == 1
    doc = json.loads((out / "run.json").read_text())
    assert doc["status"] == "COMPLETED" and len(doc["stages"]) == 5


@pytest.mark.parametrize(
    ("lost", "where"),
    [
        # the plan node's move to PLANNING (a node of the run graph)
        ("transition", lambda args: args[3] == "PLANNING"),
        # the backend stage's TaskResult (a node inside the stage's own graph)
        ("audit", lambda args: args[2] == "task_result" and "backend" in str(args[3])),
    ],
)
def test_a_record_the_database_drops_is_kept_when_the_run_resumes(
    pg_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lost: str, where: Any
) -> None:
    """The database goes away while a node's event is recorded: resuming loses nothing.

    LangGraph saves a node's writes as soon as it ends; an event kept only after
    that would be lost with the database, and the resumed run, which does not
    run that node again, would miss it (a move: the next one is then illegal).
    """
    target = {"transition": RunStore, "audit": AuditLog}[lost]
    real = getattr(target, {"transition": "transition", "audit": "append"}[lost])
    dropped: list[tuple[Any, ...]] = []

    def flaky(*args: Any, **kwargs: Any) -> Any:
        if not dropped and where(args):
            dropped.append(args)
            raise psycopg.OperationalError("server closed the connection unexpectedly")
        return real(*args, **kwargs)

    monkeypatch.setattr(target, real.__name__, flaky)
    out = tmp_path / "out"
    with Factory(pg_settings, models=ScriptedModels()) as factory:
        with pytest.raises(psycopg.OperationalError):
            factory.start(StartRequest(REQ, pipeline="mvp", out_dir=out, run_id="dropped"))
        assert dropped
        report = factory.resume("dropped")
        assert report.status == RunStatus.COMPLETED, report.reason
        moves = factory.runs.transitions("dropped")
        # one unbroken lifecycle: each move starts where the last one ended
        assert all(a.to_phase == b.from_phase for a, b in zip(moves, moves[1:], strict=False))
        assert [m.to_phase for m in moves].count("PLANNING") == 1
        kept = Counter((e.kind, e.payload.get("team")) for e in factory.audit_events("dropped"))
        assert kept[("task_result", "backend-engineering")] == 1
        assert factory.verify_audit("dropped").ok
    assert (out / "src").is_dir() and len(report.records) == 5
