"""``devfactory list``, ``status`` and ``pending`` read the runs table and views: no graph.

Each command runs in a process of its own against a real Postgres holding a run
paused at its final review, and reports which modules it loaded: none of
LangChain, LangGraph, the models, memory or the graph may be among them. A run
recorded before views existed still shows: its view is built from its
checkpoint once (then the machinery is loaded, for that run alone).
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from devfactory.factory.facade import Factory
from devfactory.factory.intake import StartRequest
from devfactory.settings import Settings
from tests.cli_probe import MACHINERY, among, loaded
from tests.fakes import ScriptedModels
from tests.integration.cli import cli_env

TODO = "A REST API for a personal todo list"


def devfactory(env: dict[str, str], *args: str) -> tuple[int, str, list[str]]:
    return loaded(*args, env=env)


def machinery(modules: list[str]) -> list[str]:
    return among(modules, MACHINERY)


@pytest.fixture
def paused(pg_settings: Settings, tmp_path: Path) -> str:
    review = pg_settings.with_overrides(review_required=True)
    with Factory(review, models=ScriptedModels()) as factory:
        run_id = factory.start(StartRequest(TODO, out_dir=tmp_path / "out")).run_id
        assert factory.get(run_id).status == "PAUSED"
    return run_id


def test_list_status_and_pending_load_none_of_the_runs_machinery(
    paused: str, database_url: str, tmp_path: Path
) -> None:
    env = cli_env(database_url, tmp_path)
    code, out, modules = devfactory(env, "list")
    assert code == 0, out
    assert paused in out and "PAUSED" in out
    assert machinery(modules) == []

    code, out, modules = devfactory(env, "status", paused)
    assert code == 0, out
    assert f"run {paused}: PAUSED" in out
    assert "business-analysis" in out and "backend-engineering" in out  # its stages
    assert "review" in out  # the question it waits on
    assert machinery(modules) == []

    code, out, modules = devfactory(env, "pending")
    assert code == 0, out
    assert paused in out and "review" in out
    assert machinery(modules) == []

    for read in (("list", "--json"), ("status", paused, "--json"), ("pending", "--json")):
        code, out, modules = devfactory(env, *read)
        assert code == 0, out
        assert paused in out
        assert machinery(modules) == []

    code, out, modules = devfactory(env, "status", "no-such-run")
    assert code == 3, out
    assert "no run with id 'no-such-run'" in out
    assert machinery(modules) == []


def test_a_run_recorded_before_views_gets_its_view_from_its_checkpoint_once(
    paused: str, database_url: str, tmp_path: Path
) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("DELETE FROM devfactory_run_views WHERE run_id = %s", (paused,))
    env = cli_env(database_url, tmp_path)
    code, out, modules = devfactory(env, "status", paused)
    assert code == 0, out
    assert f"run {paused}: PAUSED" in out and "review" in out
    assert "langgraph" in modules  # the checkpoint was read, by the factory
    with psycopg.connect(database_url, autocommit=True) as conn:
        kept = conn.execute(
            "SELECT count(*) FROM devfactory_run_views WHERE run_id = %s", (paused,)
        ).fetchone()
    assert kept == (1,)
    code, out, modules = devfactory(env, "pending")
    assert code == 0, out
    assert paused in out
    assert machinery(modules) == []  # kept: no checkpoint read again
