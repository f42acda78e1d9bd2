"""Postgres restarted under 20 runs in flight: every run still ends, with exactly its stages.

A Postgres of its own (pgserver, as the embedded default) so that restarting it
touches no other test; two worker processes with scripted models drive the runs.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from pathlib import Path

import pgserver
from pgserver._commands import pg_ctl

from devfactory.factory.facade import Factory
from devfactory.factory.intake import StartRequest
from devfactory.pipelines import load_pipeline
from devfactory.settings import Settings
from tests.fakes import ScriptedModels
from tests.integration.cli import cli_env, start

RUNS = 20


def test_twenty_runs_in_flight_survive_a_postgres_restart(pg_root: Path, tmp_path: Path) -> None:
    data = pg_root / f"restart-{uuid.uuid4().hex[:8]}"
    data.mkdir()
    server = pgserver.get_server(data, cleanup_mode="stop")
    dsn = server.get_uri()
    env = cli_env(dsn, tmp_path)
    env.update(
        DEVFACTORY_TEST_SLOW_S="0.05",
        DEVFACTORY_RUN_LEASE_SECONDS="5",
        DEVFACTORY_WATCHDOG_INTERVAL_S="1",
        DEVFACTORY_WORKER_POLL_S="0.5",
        DEVFACTORY_MAX_RUN_CRASHES="10",
        DEVFACTORY_REVIEW_REQUIRED="false",
    )
    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=dsn,
        ollama_host="http://127.0.0.1:9",
        review_required=False,
        fact_memory=False,
        prose_fact_calls=0,
        memory_enabled=False,
        run_code=False,
    )
    workers = []
    try:
        with Factory(settings, models=ScriptedModels()) as factory:
            runs = [
                factory.submit(
                    StartRequest(f"A todo list API, number {n}", out_dir=tmp_path / f"r{n}")
                ).run_id
                for n in range(RUNS)
            ]
        workers = [start(env, "worker", log=tmp_path / f"worker{n}.log") for n in range(2)]
        deadline = time.monotonic() + 300
        with Factory(settings, models=ScriptedModels()) as factory:
            while sum(factory.get(r).status == "COMPLETED" for r in runs) < 3:
                assert time.monotonic() < deadline
                time.sleep(0.3)
        # restart Postgres under the workers: every connection is dropped
        pg_ctl(["-w", "-m", "fast", "restart"], pgdata=server.pgdata, user=server.system_user)
        with Factory(settings, models=ScriptedModels()) as factory:
            deadline = time.monotonic() + 600
            while True:
                statuses = Counter(factory.get(r).status for r in runs)
                if statuses["COMPLETED"] == RUNS:
                    break
                rows = [factory.get(r) for r in runs]
                failed = [(r.run_id, r.reason) for r in rows if r.status == "FAILED"]
                assert not failed, failed
                assert all(w.poll() is None for w in workers), "a worker died"
                assert time.monotonic() < deadline, statuses
                time.sleep(0.5)
            teams = list(load_pipeline("mvp").teams)
            crashes = 0
            for run_id in runs:
                records = factory.report(run_id).records
                # exactly its stages: each team once, passed in its first attempt
                assert [r.team for r in records] == teams, run_id
                assert all(r.outcome.value == "PASSED" and r.attempts == 1 for r in records)
                crashes += factory.get(run_id).crashes
        calls = Counter(
            (team, kind)
            for _, team, kind, *_ in (
                line.split() for line in (tmp_path / "calls.log").read_text().splitlines()
            )
        )
        # a stage a worker lost mid-call makes that one call again, nothing more
        for team in teams:
            assert RUNS <= calls[(team, "report")] <= RUNS + crashes, (team, calls, crashes)
    finally:
        for worker in workers:
            worker.terminate()
            worker.wait(timeout=60)
        server.cleanup()
