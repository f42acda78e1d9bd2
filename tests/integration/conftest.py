"""Real Postgres for integration tests: a fresh database per test.

With ``DATABASE_URL`` set, databases are created on that server; otherwise an
embedded pgserver (PG16 + pgvector) is started once for the session.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from devfactory.settings import Settings
from devfactory.store.reaper import start_reaper
from tests.integration.databases import fresh_database


@pytest.fixture(scope="session")
def server_dsn(pg_root: Path) -> Iterator[str]:
    if os.environ.get("DATABASE_URL"):
        yield os.environ["DATABASE_URL"]
        return
    import pgserver

    (pg_root / "pg").mkdir(exist_ok=True)
    server = pgserver.get_server(pg_root / "pg" / "data", cleanup_mode="stop")
    start_reaper(server.pgdata)  # stopped even if this session is killed before its teardown
    yield server.get_uri()
    server.cleanup()


@pytest.fixture
def database_url(server_dsn: str) -> Iterator[str]:
    with fresh_database(server_dsn) as database:
        yield database


@pytest.fixture
def pg_settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        ollama_host="http://127.0.0.1:9",
        probe_timeout_s=0.2,
        review_required=False,  # review has its own tests; most runs end at validation
        # mem0 fact extraction adds a model call per passed stage; its own tests turn it
        # on, so that the control-plane tests can count every other call exactly.
        fact_memory=False,
        run_code=False,  # scripted files are not run; test_build*.py run theirs
        # reading the facts a requirement leaves open is a model call before the stages;
        # its own tests (tests/unit/test_interface.py) turn it on
        prose_fact_calls=0,
    )
