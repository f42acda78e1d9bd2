"""A run is driven by one process at a time, and an answer is taken once, for its own pause.

Competing ``devfactory`` processes are started for real against one database,
and the model calls of every process are counted from one log.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from devfactory.events import RunError
from devfactory.factory.facade import Factory
from devfactory.settings import Settings
from tests.fakes import ScriptedModels
from tests.integration.cli import cli_env, finish, start

TODO = "A REST API for a personal todo list"
CLINIC = "A REST API for a clinic's patient notes"


@pytest.fixture
def env(database_url: str, tmp_path: Path) -> dict[str, str]:
    return cli_env(database_url, tmp_path)


def calls(env: dict[str, str]) -> list[tuple[str, str]]:
    """Return (team, kind) of every model call so far, in order."""
    lines = Path(env["DEVFACTORY_TEST_CALL_LOG"]).read_text().splitlines()
    return [(line.split()[1], line.split()[2]) for line in lines]


def latest_run(settings: Settings) -> str:
    with Factory(settings) as factory:
        return factory.list_runs(1)[0].run_id


def test_two_resumes_at_once_drive_the_run_once(
    env: dict[str, str], pg_settings: Settings, tmp_path: Path
) -> None:
    settings = pg_settings.with_overrides(data_dir=tmp_path / "data")
    for trial in range(2):
        killed = finish(
            start(
                {
                    **env,
                    "DEVFACTORY_TEST_KILL_AT": "qa-engineering",
                    "DEVFACTORY_REVIEW_REQUIRED": "false",
                },
                "run",
                TODO,
                "--no-input",
                "--out",
                str(tmp_path / f"out{trial}"),
            )
        )
        assert killed[0] == -9, killed[2]
        run_id = latest_run(settings)
        before = len(calls(env))
        racing = [
            start({**env, "DEVFACTORY_REVIEW_REQUIRED": "false"}, "resume", run_id, "--no-input")
            for _ in range(2)
        ]
        results = sorted((finish(p) for p in racing), key=lambda r: r[0])
        (won, won_out, _), (lost, _, lost_err) = results
        assert won == 0 and "COMPLETED" in won_out, results
        # the other was refused cleanly: the run was driven, claimed first, or already done
        refusals = ("still running", "claimed by another process first", "already ended")
        assert lost in (2, 7) and any(r in lost_err for r in refusals), results
        after = Counter(calls(env)[before:])
        # the stage that died mid-draft ran once more from its start, then the last stage
        assert after == Counter(
            {
                ("qa-engineering", "draft"): 1,  # the plan gives QA one file
                ("qa-engineering", "report"): 1,
                ("documentation", "draft"): 1,
                ("documentation", "report"): 1,
            }
        ), after


def pending(env: dict[str, str], run_id: str) -> list[dict[str, Any]]:
    code, out, err = finish(start(env, "pending", run_id, "--json"))
    assert code == 0, err
    items: list[dict[str, Any]] = json.loads(out)
    return items


def test_two_approvals_at_once_are_taken_once(
    env: dict[str, str], pg_settings: Settings, tmp_path: Path
) -> None:
    env = {**env, "DEVFACTORY_REVIEW_REQUIRED": "false"}
    paused = finish(start(env, "run", CLINIC, "--no-input", "--out", str(tmp_path / "out")))
    assert paused[0] == 6, paused[2]
    run_id = latest_run(pg_settings.with_overrides(data_dir=tmp_path / "data"))
    [question] = pending(env, run_id)
    approve = ("approve", run_id, "--id", question["id"], "--comment", "consent on file")
    racing = [
        start(env, *approve, "--as", who, "--role", "approver", "--no-input")
        for who in ("alice", "bob")
    ]
    results = sorted((finish(p) for p in racing), key=lambda r: r[0])
    (won, _, _), (lost, _, lost_err) = results
    assert won == 0 and lost in (2, 7), results
    assert "no longer waits" in lost_err or "not waiting" in lost_err or "being driven" in lost_err
    with Factory(pg_settings) as factory:
        decisions = [e for e in factory.audit_events(run_id) if e.kind == "decision"]
        assert factory.get(run_id).status == "COMPLETED"
    assert len(decisions) == 1
    counted = Counter(calls(env))
    assert counted[("governance", "governance")] == 1
    assert counted[("business-analysis", "report")] == 1  # every stage ran once


def test_an_answer_names_its_pause_and_a_stale_one_is_refused(
    env: dict[str, str], pg_settings: Settings, tmp_path: Path
) -> None:
    paused = finish(start(env, "run", CLINIC, "--no-input", "--out", str(tmp_path / "out")))
    assert paused[0] == 6, paused[2]
    run_id = latest_run(pg_settings.with_overrides(data_dir=tmp_path / "data"))
    [governance] = pending(env, run_id)
    as_approver = ("--as", "alice", "--role", "approver", "--no-input")
    unnamed = finish(start(env, "approve", run_id, *as_approver))
    assert unnamed[0] == 2 and "name the question you answer with --id" in unnamed[2]
    first = finish(start(env, "approve", run_id, "--id", governance["id"][:8], *as_approver))
    assert first[0] == 6, first[2]  # approved; the teams worked; the final review waits
    [review] = pending(env, run_id)
    assert review["kind"] == "review"
    again = finish(start(env, "approve", run_id, "--id", governance["id"][:8], *as_approver))
    assert again[0] == 2
    assert "no pending question has id" in again[2] and review["id"][:8] in again[2]
    for careless in ("", "   ", review["id"][:3]):  # the review's `--id ""`, run a second time
        empty = finish(start(env, "approve", run_id, "--id", careless, *as_approver))
        assert empty[0] == 2, empty
    [still] = pending(env, run_id)
    assert still["id"] == review["id"]  # nobody approved the review nobody read


def test_a_run_that_fails_in_the_chat_becomes_resumable_by_anyone(
    pg_settings: Settings, tmp_path: Path
) -> None:
    from devfactory.chat.hub import RunHub

    class Broken(ScriptedModels):
        def resolve(self, alias: str) -> Any:
            raise RuntimeError("the model server went away")

    hub = RunHub(Factory(pg_settings, models=Broken()), max_active=1, out_root=tmp_path)
    try:
        run_id = hub.start(TODO, pipeline="mvp", project="p", owner="olga")
        events = list(_drain(hub, run_id))
    finally:
        hub.close()
    assert isinstance(events[-1], RunError) and "went away" in events[-1].message
    with Factory(pg_settings, models=ScriptedModels()) as factory:
        row = factory.get(run_id)
        assert row.shown_status == "INTERRUPTED"
        assert "the driver stopped: RuntimeError: the model server went away" in row.reason
        done = factory.resume(run_id)  # another process (here: the CLI's factory) resumes it
    assert done.status == "COMPLETED"


def _drain(hub: Any, run_id: str) -> list[Any]:
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    async def follow() -> list[Any]:
        return [event async for _, event in hub.follow(run_id)]

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, follow()).result(timeout=300)
