"""The run queue and its workers on real Postgres: claims, crashes, cancel, answers."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import psycopg
import pytest

from devfactory.control.budget import Caps
from devfactory.control.hitl import Decision, DecisionError
from devfactory.factory.facade import Factory, RunStateError
from devfactory.factory.intake import RunRequest, StartRequest
from devfactory.factory.queueing import BAD_INBOX
from devfactory.graph.stage import NODES
from devfactory.settings import Settings
from devfactory.store.db import open_pool
from devfactory.store.lease import new_driver
from devfactory.store.queue import RunQueue
from devfactory.worker import Watchdog, Worker, sweep
from tests.fakes import Call, ScriptedModels, always_good, answer_pending
from tests.integration.cli import cli_env, finish, start

ROOT = Path(__file__).resolve().parents[2]
TODO = "A REST API for a personal todo list"
MEDICAL = "A REST API to store patient medical records"  # the policy rates it HIGH


def moves(factory: Factory, run_id: str) -> list[tuple[str, str]]:
    return [(t.from_phase.value, t.to_phase.value) for t in factory.transitions(run_id)]


def expire_lease(database_url: str, run_id: str) -> None:
    """Let a run's lease run out now (what a dead worker's lease does after a while)."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(
            "UPDATE devfactory_runs SET lease_until = now() - interval '1 second'"
            " WHERE run_id = %s",
            (run_id,),
        )


def test_a_submitted_run_waits_for_a_worker_which_drives_it_and_feeds_its_events(
    pg_settings: Settings, tmp_path: Path
) -> None:
    models = ScriptedModels()
    with Factory(pg_settings, models=models) as factory:
        row = factory.submit(StartRequest(TODO, out_dir=tmp_path / "out", owner="ann"))
        assert (row.shown_status, row.mode, row.owner) == ("QUEUED", "worker", "ann")
        assert models.chat.calls == []  # nothing ran where the run was submitted
        assert factory.queue.depth() == 1
        worker = Worker(factory)
        assert worker.run(idle_exit_s=0) == 1
        assert worker.driven == [row.run_id]
        done = factory.get(row.run_id)
        assert done.status == "COMPLETED" and done.queued_at is None and done.driver is None
        assert factory.queue.depth() == 0
        feed = factory.feed.since(row.run_id)
    ids = [e.id for e in feed]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    kinds = [e.kind for e in feed]
    assert kinds[:2] == ["run_created", "run_started"] and kinds[-1] == "run_finished"
    assert feed[-1].body["status"] == "COMPLETED"
    assert {"stage_started", "stage_finished", "transition"} <= set(kinds)
    fed_moves = [(e.body["from"], e.body["to"]) for e in feed if e.kind == "transition"]
    assert fed_moves[0] == ("DRAFT", "GOVERNANCE_ANALYSIS")
    assert fed_moves[-1][1] == "COMPLETED"
    # replaying from an id gives exactly what came after it
    with Factory(pg_settings, models=models) as factory:
        later = factory.feed.since(row.run_id, after=ids[2])
    assert [e.id for e in later] == ids[3:]


def test_two_workers_never_claim_the_same_run(
    pg_settings: Settings, database_url: str, tmp_path: Path
) -> None:
    with Factory(pg_settings, models=ScriptedModels()) as factory:
        submitted = {
            factory.submit(StartRequest(f"{TODO}, number {n}", out_dir=tmp_path / str(n))).run_id
            for n in range(16)
        }
    claimed: dict[str, list[str]] = {"a": [], "b": []}
    barrier = threading.Barrier(2)

    def claim_all(name: str) -> None:
        pool = open_pool(database_url, max_size=2)  # each worker has its own connections
        queue = RunQueue(pool)
        barrier.wait()
        try:
            while (row := queue.claim(new_driver(), 60)) is not None:
                claimed[name].append(row.run_id)
        finally:
            pool.close()

    threads = [threading.Thread(target=claim_all, args=(n,)) for n in claimed]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    a, b = set(claimed["a"]), set(claimed["b"])
    assert len(claimed["a"]) + len(claimed["b"]) == len(submitted)
    assert not a & b
    assert a | b == submitted


def test_a_sigkilled_worker_s_run_is_finished_by_another_with_no_stage_twice(
    pg_settings: Settings, database_url: str, tmp_path: Path
) -> None:
    log = tmp_path / "calls.log"
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DEVFACTORY_DATA_DIR": str(tmp_path / "data"),
        "DEVFACTORY_REVIEW_REQUIRED": "false",
        "DEVFACTORY_FACT_MEMORY": "false",
        "DEVFACTORY_PROSE_FACT_CALLS": "0",  # as pg_settings: every call is counted
        "DEVFACTORY_RUN_LEASE_SECONDS": "5",
        "DEVFACTORY_WATCHDOG_INTERVAL_S": "1",
        "DEVFACTORY_WORKER_POLL_S": "1",
    }
    with Factory(pg_settings, models=ScriptedModels()) as factory:
        run_id = factory.submit(StartRequest(TODO, out_dir=tmp_path / "out")).run_id

    def worker(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "tests.integration.queue_worker", str(log), *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )

    killed = worker("30", "1", "qa-engineering")
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    first = [line.split() for line in log.read_text().splitlines()]
    with Factory(pg_settings, models=ScriptedModels()) as factory:
        row = factory.get(run_id)
        assert row.status == "IN_PROGRESS" and row.driver is not None  # the dead worker's lease
    # the second worker's watchdog requeues the run once its lease runs out, then it drives it
    second = worker("60", "1")
    assert second.returncode == 0, second.stderr
    assert second.stdout.split() == [run_id]
    with Factory(pg_settings, models=ScriptedModels()) as factory:
        done = factory.get(run_id)
        assert done.status == "COMPLETED" and done.crashes == 1
    calls = [line.split() for line in log.read_text().splitlines()]
    assert {pid for pid, *_ in calls[len(first) :]} != {first[0][0]}
    count = Counter((team, kind) for _, team, kind, *_ in calls)
    for team in ("business-analysis", "solution-architecture", "backend-engineering"):
        assert count[(team, "report")] == 1, (team, count)  # finished stages ran once


def test_the_watchdog_fails_a_run_whose_workers_keep_dying_with_the_reason(
    pg_settings: Settings, database_url: str, tmp_path: Path
) -> None:
    settings = pg_settings.with_overrides(max_run_crashes=1)
    with Factory(settings, models=ScriptedModels()) as factory:
        run_id = factory.submit(StartRequest(TODO, out_dir=tmp_path / "out")).run_id
        for crash in (1, 2):
            claimed = factory.queue.claim(new_driver(), 60)  # a worker takes it, then dies
            assert claimed is not None and claimed.run_id == run_id
            assert sweep(factory).requeued == ()  # its lease still holds
            expire_lease(database_url, run_id)
            swept = sweep(factory)
            if crash == 1:
                assert swept.requeued == (run_id,) and factory.get(run_id).crashes == 1
        assert [r for r, _ in swept.failed] == [run_id]
        row = factory.get(run_id)
        assert row.status == "FAILED" and "died 2 times (cap 1)" in row.reason
        assert moves(factory, run_id)[-1] == ("DRAFT", "FAILED")
        assert factory.queue.claim(new_driver(), 60) is None
        audit = factory.audit_events(run_id)
        assert any(e.kind == "transition" and e.actor == "watchdog" for e in audit)


def test_one_watchdog_leads_at_a_time_and_another_takes_over_when_it_stops(
    pg_settings: Settings,
) -> None:
    settings = pg_settings.with_overrides(watchdog_interval_s=0.2)
    with (
        Factory(settings, models=ScriptedModels()) as one,
        Factory(settings, models=ScriptedModels()) as two,
    ):
        swept_by: list[str] = []
        first = Watchdog(one, on_sweep=lambda s: swept_by.append("first"))
        second = Watchdog(two, on_sweep=lambda s: swept_by.append("second"))
        first.start()
        _wait(lambda: first.leader)
        second.start()
        _wait(lambda: swept_by.count("first") >= 3)
        assert not second.leader and "second" not in swept_by
        first.stop()
        first.join(timeout=10)
        _wait(lambda: second.leader and "second" in swept_by)
        second.stop()
        second.join(timeout=10)


def _wait(condition: object, timeout: float = 20.0) -> None:
    import time

    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_a_queued_run_is_cancelled_at_once_and_no_worker_runs_it(
    pg_settings: Settings, tmp_path: Path
) -> None:
    models = ScriptedModels()
    with Factory(pg_settings, models=models) as factory:
        run_id = factory.submit(StartRequest(TODO, out_dir=tmp_path / "out")).run_id
        row = factory.cancel(run_id, by="ann", role="operator")
        assert row.status == "CANCELLED" and row.reason == "cancelled by ann (operator)"
        assert row.queued_at is None
        assert Worker(factory).run(idle_exit_s=0) == 0
        assert models.chat.calls == []
        assert moves(factory, run_id) == [("DRAFT", "CANCELLED")]
        with pytest.raises(RunStateError, match="already ended CANCELLED"):
            factory.cancel(run_id, by="ann", role="operator")
        assert [e.kind for e in factory.feed.since(run_id)][-2:] == ["transition", "run_finished"]


def test_a_driven_run_stops_at_the_next_step_once_cancelled(
    pg_settings: Settings, tmp_path: Path
) -> None:
    box: dict[str, Factory] = {}

    def script(call: Call) -> str:
        if call.team == "solution-architecture" and call.kind == "report":
            box["factory"].cancel(box["run_id"], by="bob", role="operator")  # type: ignore[arg-type]
        return always_good(call)

    models = ScriptedModels(script)
    with Factory(pg_settings, models=models) as factory:
        box["factory"] = factory
        row = factory.submit(StartRequest(TODO, out_dir=tmp_path / "out"))
        box["run_id"] = row.run_id  # type: ignore[assignment]
        Worker(factory).run(idle_exit_s=0)
        done = factory.get(row.run_id)
        assert done.status == "CANCELLED" and done.reason == "cancelled by bob (operator)"
        assert moves(factory, row.run_id)[-1] == ("IN_PROGRESS", "CANCELLED")
        # the stage that was working when it was cancelled was the last one to run
        assert models.chat.count("backend-engineering") == 0
        assert models.chat.count("qa-engineering") == 0
        summary = (tmp_path / "out" / "run.json").read_text()
        assert '"CANCELLED"' in summary


def test_a_queued_run_whose_input_does_not_read_fails_saying_why_and_others_go_on(
    pg_settings: Settings, database_url: str, tmp_path: Path
) -> None:
    models = ScriptedModels()
    with Factory(pg_settings, models=models) as factory:
        bad = factory.submit(StartRequest(TODO, out_dir=tmp_path / "bad", caps=Caps(tokens=80_000)))
        good = factory.submit(
            StartRequest(TODO, out_dir=tmp_path / "good", caps=Caps(tokens=80_000))
        )
        queued = factory.get(good.run_id).inbox or {}
        assert queued["start"]["budget"]["run"]["tokens"] == 80_000  # the request's JSON
        assert RunRequest.model_validate(queued["start"]).budget["run"].tokens == 80_000
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute(
                "UPDATE devfactory_runs SET inbox = jsonb_set(inbox,"
                " '{start,budget,run,tokens}', '\"lots\"') WHERE run_id = %s",
                (bad.run_id,),
            )
        Worker(factory).run(idle_exit_s=0)
        failed = factory.get(bad.run_id)
        said = [
            str(e.payload["message"])
            for e in factory.audit_events(bad.run_id)
            if e.kind == "notice" and e.payload.get("kind") == "bad_input"
        ]
        assert (failed.status, failed.reason) == ("FAILED", BAD_INBOX)
        assert moves(factory, bad.run_id) == [("DRAFT", "FAILED")]  # no team worked
        assert "budget.run.tokens" in said[0] and "lots" not in said[0]
        assert factory.get(good.run_id).status == "COMPLETED"  # the worker went on


def test_an_answer_queues_the_paused_run_for_a_worker(
    pg_settings: Settings, tmp_path: Path
) -> None:
    models = ScriptedModels()
    with Factory(pg_settings, models=models) as factory:
        run_id = factory.submit(StartRequest(MEDICAL, out_dir=tmp_path / "out")).run_id
        Worker(factory).run(idle_exit_s=0)
        assert factory.get(run_id).status == "PAUSED"
        pending = factory.pending(run_id)
        assert [p.pause.kind for p in pending] == ["governance"]
        approve = Decision(action="approve", text="", by="ann", role="approver")
        report = answer_pending(factory, run_id, approve, queue=True)
        assert report.status == "QUEUED"
        row = factory.get(run_id)
        assert row.driver is None and row.inbox == {
            "resume": {pending[0].interrupt_id: approve.model_dump(mode="json")}
        }
        worker = Worker(factory)
        assert worker.run(idle_exit_s=0) == 1
        assert factory.get(run_id).status == "COMPLETED"
        assert ("GOVERNANCE_ANALYSIS", "APPROVED") in moves(factory, run_id)
        decisions = [e for e in factory.audit_events(run_id) if e.kind == "decision"]
        assert [d.actor for d in decisions] == ["ann (approver)"]


def test_a_stopping_worker_hands_its_run_back_and_another_finishes_it(
    pg_settings: Settings, tmp_path: Path
) -> None:
    box: dict[str, Worker] = {}

    def script(call: Call) -> str:
        if call.team == "solution-architecture" and call.kind == "report":
            box["worker"].stop("SIGTERM")
        return always_good(call)

    models = ScriptedModels(script)
    with Factory(pg_settings, models=models) as factory:
        run_id = factory.submit(StartRequest(TODO, out_dir=tmp_path / "out")).run_id
        first = box["worker"] = Worker(factory)
        assert first.run(idle_exit_s=0) == 1
        row = factory.get(run_id)
        assert row.shown_status == "QUEUED" and row.crashes == 0  # handed back, not crashed
        box["worker"] = Worker(factory)
        box["worker"].run(idle_exit_s=0)
        assert factory.get(run_id).status == "COMPLETED"
        assert models.chat.count("solution-architecture", "report") == 1
        assert models.chat.count("business-analysis", "report") == 1


def paused_earlier(database_url: str, run_id: str, seconds: float) -> None:
    """Move the time a run paused back by ``seconds``: it has waited that much longer.

    The expiry tests wait on the recorded time, never on the clock: a loaded
    machine may take longer than a short expiry between two of a test's steps.
    """
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(
            "UPDATE devfactory_transitions SET at = at - make_interval(secs => %s)"
            " WHERE run_id = %s AND to_phase = 'PAUSED'",
            (seconds, run_id),
        )


def test_an_expired_pause_is_answered_by_the_policy_and_the_run_goes_on(
    pg_settings: Settings, database_url: str, tmp_path: Path
) -> None:
    settings = pg_settings.with_overrides(review_required=True, pause_expiry_s=60.0)
    with Factory(settings, models=ScriptedModels()) as factory:
        run_id = factory.submit(StartRequest(TODO, out_dir=tmp_path / "out")).run_id
        Worker(factory).run(idle_exit_s=0)
        assert factory.get(run_id).status == "PAUSED"
        assert [p.pause.kind for p in factory.pending(run_id)] == ["review"]
        assert sweep(factory).expired == ()  # it has not waited long enough yet
        paused_earlier(database_url, run_id, 61)
        assert sweep(factory).expired == (run_id,)
        assert factory.get(run_id).shown_status == "QUEUED"
        Worker(factory).run(idle_exit_s=0)
        assert factory.get(run_id).status == "COMPLETED"
        decisions = [e for e in factory.audit_events(run_id) if e.kind == "decision"]
        assert [d.actor for d in decisions] == ["policy:expiry (reviewer)"]
        assert "waited 60 s for a person (pause_expiry_s)" in decisions[0].body


def test_a_high_risk_approval_waits_for_a_person_however_long_it_waits(
    pg_settings: Settings, database_url: str, tmp_path: Path
) -> None:
    settings = pg_settings.with_overrides(pause_expiry_s=60.0)
    with Factory(settings, models=ScriptedModels()) as factory:
        run_id = factory.submit(StartRequest(MEDICAL, out_dir=tmp_path / "out")).run_id
        Worker(factory).run(idle_exit_s=0)
        paused_earlier(database_url, run_id, 86_400)
        assert sweep(factory).expired == ()
        assert factory.get(run_id).status == "PAUSED"
        assert [p.pause.kind for p in factory.pending(run_id)] == ["governance"]


def test_finished_runs_are_archived_after_retention_and_an_admin_may_purge_them(
    pg_settings: Settings, database_url: str, tmp_path: Path
) -> None:
    settings = pg_settings.with_overrides(retention_days=1.0)
    with Factory(settings, models=ScriptedModels()) as factory:
        run_id = factory.submit(StartRequest(TODO, out_dir=tmp_path / "out")).run_id
        Worker(factory).run(idle_exit_s=0)
        assert factory.get(run_id).status == "COMPLETED"
        assert sweep(factory).archived == ()  # it ended just now
        with pytest.raises(RunStateError, match="not archived"):
            factory.purge(run_id, by="root", role="admin")
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute(
                "UPDATE devfactory_runs SET updated_at = now() - interval '2 days'"
                " WHERE run_id = %s",
                (run_id,),
            )
        assert sweep(factory).archived == (run_id,)
        with pytest.raises(DecisionError, match="only an admin"):
            factory.purge(run_id, by="ann", role="approver")
        assert (tmp_path / "out" / "run.json").is_file()  # the refusal changed nothing
        done = factory.purge(run_id, by="root", role="admin")
        assert done["folder"] == f"deleted {tmp_path / 'out'}"
        assert not (tmp_path / "out").exists()
        snapshot = factory.graph("mvp").get_state({"configurable": {"thread_id": run_id}})
        assert snapshot.created_at is None  # no checkpoint left
        assert factory.feed.since(run_id) == []
        row = factory.get(run_id)
        assert row.purged_at is not None and row.status == "COMPLETED"
        audit = factory.audit_events(run_id)
        assert audit[-1].kind == "purged" and audit[-1].actor == "root (admin)"
        assert factory.verify_audit(run_id).ok  # the log itself was never touched
        with pytest.raises(RunStateError, match="purged already"):
            factory.purge(run_id, by="root", role="admin")


def test_a_purge_keeps_a_folder_that_is_not_the_run_s(
    pg_settings: Settings, database_url: str, tmp_path: Path
) -> None:
    with Factory(pg_settings, models=ScriptedModels()) as factory:
        run_id = factory.submit(StartRequest(TODO, out_dir=tmp_path / "out")).run_id
        Worker(factory).run(idle_exit_s=0)
        (tmp_path / "out" / "run.json").write_text('{"run_id": "someone-else"}')
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute(
                "UPDATE devfactory_runs SET archived_at = now() WHERE run_id = %s", (run_id,)
            )
        done = factory.purge(run_id, by="root", role="admin")
    assert done["folder"].startswith("kept ") and (tmp_path / "out" / "run.json").is_file()


def test_a_worker_waits_out_a_database_outage_and_its_run_still_completes(
    pg_settings: Settings, database_url: str, tmp_path: Path
) -> None:

    from tests.integration.models import stop_database

    env = cli_env(database_url, tmp_path)
    env.update(
        DEVFACTORY_TEST_SLOW_S="0.3",
        DEVFACTORY_RUN_LEASE_SECONDS="5",
        DEVFACTORY_WATCHDOG_INTERVAL_S="1",
        DEVFACTORY_WORKER_POLL_S="0.5",
        DEVFACTORY_REVIEW_REQUIRED="false",
    )
    name = database_url.rsplit("dbname=", 1)[-1].split()[0]
    with Factory(pg_settings, models=ScriptedModels()) as factory:
        first = factory.submit(StartRequest(TODO, out_dir=tmp_path / "a")).run_id
    worker = start(env, "worker", log=tmp_path / "worker.log")
    try:
        deadline = time.monotonic() + 120
        with Factory(pg_settings, models=ScriptedModels()) as factory:
            while not any(e.kind == "stage_finished" for e in factory.feed.since(first)):
                assert time.monotonic() < deadline and worker.poll() is None
                time.sleep(0.2)
        stop_database(database_url)  # mid-run: every connection dropped, none accepted
        time.sleep(3)
        assert worker.poll() is None  # the worker waits for the database
        with psycopg.connect(database_url.replace(f"dbname={name}", "dbname=postgres")) as conn:
            conn.autocommit = True
            conn.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        with Factory(pg_settings, models=ScriptedModels()) as factory:
            second = factory.submit(StartRequest(f"{TODO}, again", out_dir=tmp_path / "b")).run_id
            deadline = time.monotonic() + 240
            while {factory.get(r).status for r in (first, second)} != {"COMPLETED"}:
                statuses = [factory.get(r).status for r in (first, second)]
                assert "FAILED" not in statuses and time.monotonic() < deadline, statuses
                assert worker.poll() is None
                time.sleep(0.5)
            assert factory.get(first).crashes <= 1
            for run_id in (first, second):
                stages = factory.report(run_id).records
                assert stages and all(s.outcome.value == "PASSED" for s in stages)
    finally:
        worker.terminate()
        worker.wait(timeout=60)


def test_a_json_logging_worker_names_the_run_stage_team_and_step_on_its_lines(
    pg_settings: Settings, database_url: str, tmp_path: Path
) -> None:
    """``devfactory --log-format json -v worker``: every log line is one JSON object, and a
    line logged while a run is driven says which run, stage, team and step it is about."""
    with Factory(pg_settings, models=ScriptedModels()) as factory:
        run_id = factory.submit(StartRequest(TODO, out_dir=tmp_path / "out")).run_id
    env = cli_env(database_url, tmp_path)
    env["DEVFACTORY_REVIEW_REQUIRED"] = "false"
    worker = start(env, "--log-format", "json", "-v", "worker", "--max-runs", "1")
    code, _, err = finish(worker)
    assert code == 0, err
    logged = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    calls = [line for line in logged if "tokens in" in line["event"]]
    assert calls and all(line["run_id"] == run_id for line in calls)
    assert {line["level"] for line in logged} <= {"info", "warning", "error"}
    assert all(line["timestamp"] and line["logger"] for line in logged)
    assert {line["stage"] for line in calls} >= {"governance", "backend-engineering"}
    team = [line for line in calls if line["stage"] == "backend-engineering"]
    assert team and {line["team"] for line in team} == {"backend-engineering"}
    assert {line["step"] for line in team} <= set(NODES)
    # no log line in another format
    assert not [line for line in err.splitlines() if line.startswith(("INFO ", "WARNING "))]
    with Factory(pg_settings, models=ScriptedModels()) as factory:
        assert factory.get(run_id).status == "COMPLETED"


def test_a_worker_serves_the_factory_s_metrics_and_its_own(
    pg_settings: Settings, database_url: str, tmp_path: Path
) -> None:
    import socket

    import httpx
    from prometheus_client.parser import text_string_to_metric_families

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]

    def scrape() -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        text = httpx.get(f"http://127.0.0.1:{port}/", timeout=10).text
        return {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text)
            for s in family.samples
        }

    def worker_own(
        samples: dict[tuple[str, tuple[tuple[str, str], ...]], float],
    ) -> dict[str, float]:
        return {name: v for (name, _), v in samples.items() if name.startswith("devfactory_worker")}

    with Factory(pg_settings, models=ScriptedModels()) as factory:
        run_id = factory.submit(StartRequest(TODO, out_dir=tmp_path / "out")).run_id
    env = cli_env(database_url, tmp_path)
    env["DEVFACTORY_REVIEW_REQUIRED"] = "false"
    worker = start(env, "worker", "--metrics-port", str(port), log=tmp_path / "worker.log")
    try:
        deadline = time.monotonic() + 120
        with Factory(pg_settings, models=ScriptedModels()) as factory:
            while factory.get(run_id).status != "COMPLETED":
                assert time.monotonic() < deadline and worker.poll() is None
                time.sleep(0.3)
        samples = scrape()
        # the run is COMPLETED before the worker ends its drive (its lease, its records);
        # then it drives nothing and waits, within the deadline
        while worker_own(samples)["devfactory_worker_driving"] != 0:
            assert time.monotonic() < deadline, samples
            time.sleep(0.3)
            samples = scrape()
    finally:
        worker.terminate()
        worker.wait(timeout=60)
    mine = worker_own(samples)
    assert mine["devfactory_worker_runs_driven_total"] == 1
    assert mine["devfactory_worker_watchdog_leader"] == 1  # the only worker leads
    assert samples[("devfactory_runs", (("status", "COMPLETED"),))] == 1  # the API's metrics
