"""A finished run's detail is served as the API process rendered it, until its change is heard.

Real Postgres, the app's own lifespan (its LISTEN connection), a scripted model. The
change is written by another connection, as a worker, the CLI or plain SQL would:
the trigger announces it at commit and the next read is a fresh one.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from devfactory.api.app import create_app
from devfactory.api.finished import FinishedRuns
from devfactory.factory.facade import Factory
from devfactory.factory.intake import StartRequest
from devfactory.settings import Settings
from devfactory.users import UserStore
from tests.fakes import ScriptedModels

TODO = "A command-line tool that counts the words in a text file"
WAIT_S = 20.0


class Served:
    def __init__(self, factory: Factory, http: TestClient, finished: FinishedRuns) -> None:
        self.factory, self.http, self.finished = factory, http, finished
        self.reads: list[str] = []

    def count_reads(self, monkeypatch: pytest.MonkeyPatch) -> None:
        real = self.factory.detail

        def counted(run_id: str) -> Any:
            self.reads.append(run_id)
            return real(run_id)

        monkeypatch.setattr(self.factory, "detail", counted)

    def write(self, sql: str, *args: object) -> None:
        """Write through a connection of the factory's pool (not the API's listener)."""
        with self.factory.pool.connection() as conn:
            conn.execute(sql, args)


def until(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not check():
        assert time.monotonic() < deadline, f"not within {WAIT_S} s: {what}"
        time.sleep(0.05)


@pytest.fixture
def served(pg_settings: Settings) -> Iterator[Served]:
    store = UserStore.of(pg_settings)
    key = store.create_key("ann", "admin")[1]
    with Factory(pg_settings, models=ScriptedModels()) as factory:
        app = create_app(pg_settings, factory=factory)
        with TestClient(app, headers={"Authorization": f"Bearer {key}"}) as http:
            finished: FinishedRuns = app.state.finished
            until(lambda: finished.live, "the API's listener hears changes")
            yield Served(factory, http, finished)


def completed(served: Served, tmp_path: Path) -> str:
    run = served.factory.start(StartRequest(TODO, out_dir=tmp_path / "out"))
    assert run.status == "COMPLETED"
    return run.run_id


def kept(served: Served, run_id: str) -> None:
    """Read the run's detail until the API keeps it rendered.

    The run's own last writes are heard a moment after it returns, and each drops
    what was kept of it: a detail read before they arrive is forgotten again.
    """
    until(
        lambda: (
            served.http.get(f"/runs/{run_id}").status_code == 200
            and served.finished.get(run_id) is not None
        ),
        "the finished run's detail is kept",
    )


def test_a_finished_runs_detail_is_read_once_then_served_as_rendered(
    served: Served, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_id = completed(served, tmp_path)
    served.count_reads(monkeypatch)
    first = served.http.get(f"/runs/{run_id}")
    second = served.http.get(f"/runs/{run_id}")
    assert first.status_code == second.status_code == 200
    assert second.headers["content-type"] == "application/json"
    assert first.json() == second.json()
    assert first.json()["status"] == "COMPLETED" and len(first.json()["stages"]) >= 1
    assert served.reads == [run_id]


@pytest.mark.parametrize(
    ("table", "sql"),
    [
        (
            "devfactory_runs",
            "UPDATE devfactory_runs SET reason = 'changed elsewhere' WHERE run_id = %s",
        ),
        ("devfactory_run_views", "UPDATE devfactory_run_views SET next = '{}' WHERE run_id = %s"),
        (
            "devfactory_transitions",
            "UPDATE devfactory_transitions SET actor = actor WHERE run_id = %s",
        ),
    ],
)
def test_a_change_written_by_another_connection_is_read_again(
    served: Served, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, table: str, sql: str
) -> None:
    run_id = completed(served, tmp_path)
    served.count_reads(monkeypatch)
    served.http.get(f"/runs/{run_id}")
    served.http.get(f"/runs/{run_id}")
    assert served.reads == [run_id]
    served.write(sql, run_id)
    until(lambda: served.finished.get(run_id) is None, f"a change of {table} is heard")
    shown = served.http.get(f"/runs/{run_id}").json()
    assert served.reads == [run_id, run_id]
    if table == "devfactory_runs":
        assert shown["reason"] == "changed elsewhere"


def test_a_running_run_is_read_every_time(
    pg_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    review = pg_settings.with_overrides(review_required=True)
    key = UserStore.of(review).create_key("ann", "admin")[1]
    with Factory(review, models=ScriptedModels()) as factory:
        run_id = factory.start(StartRequest(TODO, out_dir=tmp_path / "out")).run_id
        assert factory.get(run_id).status == "PAUSED"
        app = create_app(review, factory=factory)
        with TestClient(app, headers={"Authorization": f"Bearer {key}"}) as http:
            served = Served(factory, http, app.state.finished)
            until(lambda: served.finished.live, "the API's listener hears changes")
            served.count_reads(monkeypatch)
            assert http.get(f"/runs/{run_id}").json()["status"] == "PAUSED"
            assert http.get(f"/runs/{run_id}").json()["status"] == "PAUSED"
            assert served.reads == [run_id, run_id]


def test_a_change_made_while_the_listener_was_lost_is_never_served_stale(
    served: Served, tmp_path: Path
) -> None:
    run_id = completed(served, tmp_path)
    kept(served, run_id)
    epoch = served.finished.epoch
    served.write(  # the listener's connection is cut, as a restarted or overloaded server would
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
        " WHERE datname = current_database() AND query = %s",
        "LISTEN devfactory_runs",
    )
    served.write("UPDATE devfactory_runs SET reason = 'while deaf' WHERE run_id = %s", run_id)
    # lost (everything forgotten), then back (forgotten again): two moves at least
    until(lambda: served.finished.live and served.finished.epoch >= epoch + 2, "it hears again")
    assert served.http.get(f"/runs/{run_id}").json()["reason"] == "while deaf"


def test_a_kept_detail_is_still_shown_only_to_whom_may_see_the_run(
    served: Served, pg_settings: Settings, tmp_path: Path
) -> None:
    run_id = completed(served, tmp_path)  # owned by nobody in particular: the CLI's run
    kept(served, run_id)  # by an admin
    viewer = UserStore.of(pg_settings).create_key("vic", "viewer")[1]
    refused = served.http.get(f"/runs/{run_id}", headers={"Authorization": f"Bearer {viewer}"})
    assert refused.status_code == 404
    assert refused.json()["error"]["message"] == f"no run with id {run_id!r}"
