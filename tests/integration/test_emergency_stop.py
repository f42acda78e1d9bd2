"""The emergency stop on real Postgres: running runs halt within one step, new ones wait."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from devfactory.control.overrides import OperationsRefusedError
from devfactory.factory.facade import Factory
from devfactory.factory.intake import StartRequest
from devfactory.settings import Settings
from devfactory.store.controls import HaltedError
from devfactory.store.lease import new_driver
from devfactory.worker import Worker
from tests.fakes import Call, ScriptedModels, always_good

TODO = "A REST API for a personal todo list"
FIRST = "business-analysis"  # the first stage of mvp


class Blocking:
    """A scripted model whose first draft of each run waits until ``go`` is set."""

    def __init__(self, runs: int) -> None:
        self.go = threading.Event()
        self.arrived = threading.Semaphore(0)
        self.runs = runs
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def __call__(self, call: Call) -> str:
        if call.kind == "draft" and call.team == FIRST:
            which = next((f"#{n}" for n in range(self.runs) if f"number {n}." in call.prompt), "")
            with self._lock:
                first = which not in self._seen
                self._seen.add(which)
            if first:
                self.arrived.release()
                assert self.go.wait(timeout=120), "the test never let the model go on"
        return always_good(call)


def feed_kinds(factory: Factory, run_id: str, kind: str) -> list[dict]:
    return [e.body for e in factory.feed.since(run_id) if e.kind == kind]


def test_the_emergency_stop_halts_two_running_runs_within_one_step_and_refuses_new_ones(
    pg_settings: Settings, tmp_path: Path
) -> None:
    settings = pg_settings.with_overrides(memory_enabled=False)
    script = Blocking(runs=2)
    models = ScriptedModels(script)
    with Factory(settings, models=models) as factory:
        ids = [
            factory.submit(StartRequest(f"{TODO}, number {n}.", out_dir=tmp_path / str(n))).run_id
            for n in range(2)
        ]
        workers = [Worker(factory), Worker(factory)]
        threads = [threading.Thread(target=w.step) for w in workers]
        for thread in threads:
            thread.start()
        for _ in ids:  # both runs are inside their first stage, at its model call
            assert script.arrived.acquire(timeout=120)
        with pytest.raises(OperationsRefusedError, match="needs admin"):
            factory.switchboard.stop(by="olly", role="operator", reason="no")
        held, made = factory.switchboard.stop(by="ann", role="admin", reason="a model went rogue")
        assert made and held.by == "ann (admin)"
        script.go.set()  # the stage under way finishes its step
        for thread in threads:
            thread.join(timeout=180)
            assert not thread.is_alive()
        assert sorted(w.driven[0] for w in workers) == sorted(ids)
        for run_id in ids:
            row = factory.get(run_id)
            # back in the queue with its checkpoint: not ended, not lost
            assert row.queued and row.status not in ("COMPLETED", "FAILED", "CANCELLED")
            started = {b["team"] for b in feed_kinds(factory, run_id, "stage_started")}
            finished = {b["record"]["team"] for b in feed_kinds(factory, run_id, "stage_finished")}
            assert started == finished == {FIRST}  # the step under way ended; no next one began
            said = [b["message"] for b in feed_kinds(factory, run_id, "error")]
            assert any("held: the emergency stop held by ann (admin)" in m for m in said), said
        # nothing new starts, and workers claim nothing, until it is released
        with pytest.raises(HaltedError, match="a model went rogue"):
            factory.submit(StartRequest(f"{TODO}, number 9.", out_dir=tmp_path / "9"))
        with pytest.raises(HaltedError, match="the factory is stopped"):
            factory.start(StartRequest(f"{TODO}, number 8.", out_dir=tmp_path / "8"))
        assert factory.queue.claim(new_driver(), 60) is None
        assert factory.switchboard.stop(by="bob", role="admin", reason="again")[1] is False

        assert factory.switchboard.release(by="ann", role="admin", note="fixed") is not None
        later = factory.submit(StartRequest(f"{TODO}, number 2.", out_dir=tmp_path / "2"))
        assert later.queued
        assert Worker(factory).run(idle_exit_s=0) == 3
        for run_id in [*ids, later.run_id]:
            assert factory.get(run_id).status == "COMPLETED"
        kinds = [(e.kind, e.actor) for e in factory.audit.events("factory:operations")]
    assert kinds == [("emergency_stop", "ann (admin)"), ("emergency_release", "ann (admin)")]
    # the stage each halted run finished was not worked again when it went on
    assert models.chat.count(FIRST, "report") == 3


def test_a_paused_project_s_new_run_waits_in_the_queue_until_the_project_is_resumed(
    pg_settings: Settings, tmp_path: Path
) -> None:
    settings = pg_settings.with_overrides(memory_enabled=False)
    with Factory(settings, models=ScriptedModels()) as factory:
        ops = factory.switchboard
        with pytest.raises(OperationsRefusedError):
            ops.pause_project("shop", by="olly", role="operator")
        assert ops.pause_project("shop", by="ann", role="admin", reason="audit") is not None
        with pytest.raises(HaltedError, match="waits in the queue") as refused:
            factory.start(
                StartRequest(TODO, project="shop", out_dir=tmp_path / "a", run_id="r-shop")
            )
        assert "project shop held by ann (admin): audit" in str(refused.value)
        row = factory.get("r-shop")
        assert row.queued and row.inbox and "start" in row.inbox  # nothing ran, nothing lost
        with pytest.raises(HaltedError, match="project shop is on hold"):
            factory.resume("r-shop")
        assert Worker(factory).run(idle_exit_s=0) == 0  # not claimed while it is held
        assert ops.resume_project("shop", by="ann", role="admin") is not None
        assert Worker(factory).run(idle_exit_s=0) == 1
        assert factory.get("r-shop").status == "COMPLETED"
        kinds = [e.kind for e in factory.audit.events("project:shop")]
    assert kinds == ["project_paused", "project_resumed"]
