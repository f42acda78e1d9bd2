"""Model health shared through Postgres: written by the process that calls, read by the others.

A factory whose router serves fake providers (``tests/health_fakes.py``) makes
the calls and publishes its snapshot; ``devfactory models``, GET /models and the
console's settings read it from the database, as they do in a deployment where
only the workers call models.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from langchain_core.messages import HumanMessage
from typer.testing import CliRunner

from devfactory.api.app import create_app
from devfactory.factory.facade import Factory
from devfactory.models.io import invoke, served_by
from devfactory.settings import Settings
from devfactory.store.db import open_pool, prepare
from devfactory.store.health_snapshots import HealthStore
from devfactory.users import UserStore
from tests.health_fakes import fake_router

BIG, SMALL = "ollama:qwen2.5-coder:7b", "ollama:qwen2.5-coder:1.5b"  # as models.yaml names them


def row(label: str, **changes: Any) -> dict[str, Any]:
    """A snapshot row as ``ProviderHealth.as_row`` makes it."""
    base: dict[str, Any] = {
        "label": label,
        "breaker": "closed",
        "standing": "healthy",
        "score": 1.0,
        "calls": 1,
        "errors": 0,
        "timeouts": 0,
        "failures": 0,
        "p50_ms": 100,
        "retry_in_s": None,
        "last_error": "",
    }
    return {**base, **changes}


def test_snapshots_of_several_processes_merge_and_stale_ones_drop_out(
    pg_settings: Settings,
) -> None:
    database = prepare(pg_settings)
    pool = open_pool(database.dsn, max_size=2)
    try:
        one, two = HealthStore(pool, source="w1:1"), HealthStore(pool, source="w2:2")
        one.write([row(BIG, calls=10, p50_ms=900), row(SMALL)], keep_s=3600)
        two.write(
            [
                row(
                    BIG,
                    breaker="open",
                    standing="blocked",
                    score=0.0,
                    calls=4,
                    errors=1,
                    timeouts=3,
                    failures=4,
                    retry_in_s=60.0,
                    last_error="ReadTimeout: timed out",
                )
            ],
            keep_s=3600,
        )
        merged = one.read(fresh_s=600)
        big = merged[BIG]
        assert (big.breaker, big.standing, big.score) == ("open", "blocked", 0.0)
        assert (big.calls, big.errors, big.timeouts, big.failures) == (14, 1, 3, 4)
        assert big.processes == 2 and big.last_error == "ReadTimeout: timed out"
        assert big.retry_in_s is not None and 55 <= big.retry_in_s <= 60
        assert merged[SMALL].processes == 1 and merged[SMALL].breaker == "closed"
        one.write([row(SMALL, calls=2)], keep_s=3600)  # a process's row is replaced, not added
        assert one.read(fresh_s=600)[SMALL].calls == 2
        with psycopg.connect(database.dsn, autocommit=True) as conn:
            conn.execute(
                "UPDATE devfactory_model_health SET at = now() - interval '20 minutes'"
                " WHERE source = 'w2:2'"
            )
        assert one.read(fresh_s=600)[BIG].breaker == "closed"  # w2 stopped writing
        one.write([], keep_s=600)  # older than keep_s: deleted
        with psycopg.connect(database.dsn, autocommit=True) as conn:
            left = conn.execute("SELECT DISTINCT source FROM devfactory_model_health").fetchall()
        assert left == [("w1:1",)]
    finally:
        pool.close()


@pytest.fixture
def calling(pg_settings: Settings) -> Iterator[Factory]:
    """A factory whose router's primary model fails until its circuit opens."""
    router, fakes, _ = fake_router(pg_settings, [BIG, SMALL], failures_to_open=2)
    with Factory(pg_settings, models=router) as factory:
        assert factory.health is not None
        model = router.resolve("factory/coder").plain()
        fakes[BIG].mode = "fail"
        for _ in range(3):
            assert served_by(invoke(model, [HumanMessage("hi")], 1)) == SMALL
        assert factory.health.flush()
        yield factory


def test_the_calling_process_publishes_and_the_api_shows_the_scores(
    calling: Factory, pg_settings: Settings
) -> None:
    stored = HealthStore(calling.pool).read(pg_settings.serving.health_fresh_s)
    assert stored[BIG].breaker == "open" and stored[BIG].errors == 2
    assert stored[SMALL].calls == 3 and stored[SMALL].score > 0.9
    key = UserStore.of(pg_settings).create_key("ann", "viewer")[1]
    app = create_app(pg_settings, factory=calling)
    with TestClient(app, headers={"Authorization": f"Bearer {key}"}) as http:
        shown = http.get("/models")
        assert shown.status_code == 200, shown.text
        coder = {r["model"]: r for r in shown.json()["models"] if r["alias"] == "factory/coder"}
        assert coder[BIG]["health"]["breaker"] == "open"
        assert coder[BIG]["health"]["score"] == 0.0 and coder[BIG]["order"] is None
        assert coder[SMALL]["health"]["calls"] == 3
        assert http.get("/models", headers={"Authorization": "Bearer nope"}).status_code == 401
        settings_page = http.get("/console/api/settings")
        assert settings_page.status_code == 200, settings_page.text
        [routed] = [r for r in settings_page.json()["routing"] if r["alias"] == "factory/coder"]
        big = next(link for link in routed["chain"] if link["model"] == BIG)
        assert big["health"]["breaker"] == "open"


def test_devfactory_models_reads_the_scores_from_the_database(
    calling: Factory, pg_settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from devfactory import cli
    from devfactory.settings import get_settings

    monkeypatch.setenv("DATABASE_URL", str(pg_settings.storage.database_url))
    monkeypatch.setenv("DEVFACTORY_DATA_DIR", str(pg_settings.storage.data_dir))
    monkeypatch.setenv("OLLAMA_HOST", "http://127.0.0.1:9")
    monkeypatch.setenv("DEVFACTORY_PROBE_TIMEOUT_S", "0.2")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli.app, ["models", "--json"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["health_problem"] == ""
    coder = {r["model"]: r for r in doc["models"] if r["alias"] == "factory/coder"}
    assert coder[BIG]["health"]["breaker"] == "open" and coder[BIG]["health"]["errors"] == 2
    assert coder[SMALL]["health"]["calls"] == 3
    assert all(r["health"] is None for r in doc["models"] if r["model"].startswith("embedded"))


def test_devfactory_models_without_a_database_shows_the_routing_and_says_why(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from devfactory import cli
    from devfactory.settings import get_settings

    monkeypatch.setenv("DATABASE_URL", "postgresql://nobody@127.0.0.1:9/none")
    monkeypatch.setenv("DEVFACTORY_DATABASE_CONNECT_TIMEOUT_S", "1")
    monkeypatch.setenv("DEVFACTORY_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("OLLAMA_HOST", "http://127.0.0.1:9")
    monkeypatch.setenv("DEVFACTORY_PROBE_TIMEOUT_S", "0.2")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli.app, ["models", "--json"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["health_problem"].startswith("health not shown: could not connect to Postgres")
    assert {r["alias"] for r in doc["models"]} >= {"factory/coder", "factory/cheap"}
    assert all(r["health"] is None for r in doc["models"])
