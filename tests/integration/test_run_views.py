"""A run's readers read its view, kept by its recorder, and the view tells the checkpoint's truth.

``GET /runs/{id}``, ``GET /runs``, ``GET /pending`` and the factory's ``report``,
``pending`` and ``usage`` (what ``devfactory status``, ``pending`` and ``usage``
print) read ``devfactory_run_views`` with keyed queries; the checkpointer is
not touched. The view must show what the checkpoint holds at every stop of a
run: the questions a paused run waits on appear with the pause and go with the
answer, and its stages, spend and next nodes are those of its latest checkpoint.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from devfactory.api.app import create_app
from devfactory.contracts import ordered_records
from devfactory.control.hitl import Decision
from devfactory.control.lifecycle import Phase
from devfactory.factory.facade import Factory
from devfactory.factory.intake import StartRequest
from devfactory.factory.reports import ShownRun, pending_of
from devfactory.graph.checkpoints import dumped
from devfactory.pipelines import load_pipeline
from devfactory.settings import Settings
from devfactory.store.views import HIDDEN, shown
from devfactory.users import UserStore
from tests.fakes import ScriptedModels, answer_pending

TODO = "A REST API for a personal todo list"


class Reads:
    """Count the checkpointer's reads (each is delegated to the real saver)."""

    def __init__(self, factory: Factory, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls: list[str] = []
        saver = factory.checkpointer
        for name in ("get_tuple", "list", "get"):
            real = getattr(saver, name)
            monkeypatch.setattr(saver, name, self._counted(name, real))

    def _counted(self, name: str, real: Any) -> Any:
        def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls.append(name)
            return real(*args, **kwargs)

        return counted


def person(action: str, text: str = "", *, role: str = "reviewer") -> Decision:
    return Decision(action=action, text=text, by="bob", role=role)


def assert_view_tells_the_checkpoint(factory: Factory, run_id: str) -> None:
    """The report, the pending list and the usage read from the view equal the checkpoint's."""
    row = factory.get(run_id)
    truth = factory.graphs.state(row.pipeline, run_id)
    values = dumped(truth.values or {})  # the checkpoint as the run's readers read it
    report = factory.report(run_id)
    waiting = pending_of(run_id, truth) if row.status == Phase.PAUSED else ()
    assert report.pending == waiting
    assert factory.pending(run_id) == list(waiting)
    assert report.records == ordered_records(
        values.get("stages", {}), load_pipeline(row.pipeline).teams
    )
    assert report.next_stages == tuple(truth.next)
    assert report.shown == ShownRun.of(shown(truth.values or {}))  # the checkpoint's models
    kept = factory.runs.views.get(run_id)
    assert kept is not None and kept.values == json.loads(json.dumps(shown(values), default=str))
    assert not HIDDEN & set(kept.values)  # a round's copies and the plan stay in the checkpoint
    usage = factory.usage(run_id)
    assert usage.total.tokens == sum(
        e["input_tokens"] + e["output_tokens"] for e in values.get("spend", {}).values()
    )


@pytest.fixture
def review(pg_settings: Settings) -> Settings:
    return pg_settings.with_overrides(review_required=True)


def test_the_view_follows_the_checkpoint_through_pause_revision_answer_and_end(
    review: Settings, tmp_path: Path
) -> None:
    with Factory(review, models=ScriptedModels()) as factory:
        run_id = factory.start(StartRequest(TODO, out_dir=tmp_path / "out")).run_id
        assert factory.get(run_id).status == Phase.PAUSED
        [question] = factory.pending(run_id)
        assert question.pause.kind == "review"
        assert_view_tells_the_checkpoint(factory, run_id)

        revised = answer_pending(factory, run_id, person("revise", "Add paging to every list"))
        assert revised.status == "PAUSED"
        [again] = factory.pending(run_id)
        assert again.interrupt_id != question.interrupt_id
        assert factory.report(run_id).shown.revision == 1
        assert_view_tells_the_checkpoint(factory, run_id)

        done = answer_pending(factory, run_id, person("approve"))
        assert done.status == "COMPLETED"
        assert factory.pending(run_id) == [] and factory.pending() == []
        assert factory.report(run_id).pending == ()
        assert len(factory.report(run_id).records) == len(load_pipeline("mvp").teams)
        assert_view_tells_the_checkpoint(factory, run_id)


def test_a_question_goes_with_its_answer_before_the_run_is_driven_on(
    review: Settings, tmp_path: Path
) -> None:
    with Factory(review, models=ScriptedModels()) as factory:
        run_id = factory.start(StartRequest(TODO, out_dir=tmp_path / "out")).run_id
        [question] = factory.pending()
        assert question.run_id == run_id
        factory.answer(run_id, person("approve"), interrupt_id=question.interrupt_id, queue=True)
        # queued for a worker: the checkpoint still holds the interrupt, the run waits no more
        truth = factory.graphs.state("mvp", run_id)
        assert [i.id for i in truth.interrupts] == [question.interrupt_id]
        assert factory.pending(run_id) == [] and factory.pending() == []
        assert factory.report(run_id).pending == ()


def test_a_cancelled_paused_run_waits_on_nothing(review: Settings, tmp_path: Path) -> None:
    with Factory(review, models=ScriptedModels()) as factory:
        run_id = factory.start(StartRequest(TODO, out_dir=tmp_path / "out")).run_id
        assert len(factory.pending()) == 1
        assert factory.cancel(run_id, by="ann", role="admin").status == Phase.CANCELLED
        assert factory.pending() == [] and factory.report(run_id).pending == ()


@pytest.fixture
def served(review: Settings, tmp_path: Path) -> Iterator[tuple[Factory, TestClient, str]]:
    key = UserStore.of(review).create_key("ann", "admin")[1]
    with Factory(review, models=ScriptedModels()) as factory:
        factory.start(StartRequest(TODO, out_dir=tmp_path / "out"))
        app = create_app(review, factory=factory)
        with TestClient(app, headers={"Authorization": f"Bearer {key}"}) as http:
            yield factory, http, key


def test_the_read_routes_never_touch_the_checkpointer(
    served: tuple[Factory, TestClient, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    factory, http, _ = served
    [row] = factory.list_runs()
    reads = Reads(factory, monkeypatch)
    shown_run = http.get(f"/runs/{row.run_id}")
    listed = http.get("/runs")
    waiting = http.get("/pending")
    assert shown_run.status_code == listed.status_code == waiting.status_code == 200
    assert reads.calls == []
    body = shown_run.json()
    assert body["status"] == "PAUSED" and len(body["stages"]) == len(load_pipeline("mvp").teams)
    assert body["usage"]["tokens"] > 0
    [question] = waiting.json()
    assert body["pending"] == [question] and question["kind"] == "review"
    assert [r["run_id"] for r in listed.json()["runs"]] == [row.run_id]
    moves = factory.transitions(row.run_id)
    assert body["transitions"] == [t.model_dump(mode="json") for t in moves]
    assert moves[-1].to_phase == Phase.PAUSED
    # the CLI's status, pending and usage read the same view
    assert factory.report(row.run_id).records and factory.pending()
    assert factory.usage(row.run_id).total.tokens == body["usage"]["tokens"]
    assert reads.calls == []


def test_a_run_recorded_before_views_gets_one_from_its_checkpoint_once(
    served: tuple[Factory, TestClient, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    factory, http, _ = served
    [row] = factory.list_runs()
    before = http.get(f"/runs/{row.run_id}").json()
    with factory.pool.connection() as conn:
        conn.execute("DELETE FROM devfactory_run_views WHERE run_id = %s", (row.run_id,))
    reads = Reads(factory, monkeypatch)
    assert http.get("/pending").json() == before["pending"]
    assert reads.calls  # built from the checkpoint
    reads.calls.clear()
    assert http.get(f"/runs/{row.run_id}").json() == before
    assert reads.calls == []
