"""Open Postgres: the embedded pgserver when ``DATABASE_URL`` is unset, else that server."""

from __future__ import annotations

import logging
import threading
from importlib.resources import files
from typing import Any

from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from devfactory.settings import Settings

log = logging.getLogger(__name__)
_EMBEDDED: dict[str, Any] = {}
_EMBEDDED_LOCK = threading.Lock()


class DatabaseError(RuntimeError):
    """The database could not be started or reached."""


def embedded_dsn(settings: Settings) -> str:
    """Start (or attach to) the embedded Postgres under ``data_dir/pg`` and return its DSN."""
    pgdata = settings.data_dir / "pg"
    with _EMBEDDED_LOCK:
        if str(pgdata) not in _EMBEDDED:
            import pgserver  # imported lazily: a DATABASE_URL deployment never needs it

            pgdata.parent.mkdir(parents=True, exist_ok=True)
            try:
                _EMBEDDED[str(pgdata)] = pgserver.get_server(pgdata, cleanup_mode="stop")
            except Exception as exc:
                raise DatabaseError(
                    f"could not start embedded Postgres in {pgdata}: {exc}"
                ) from exc
            log.info("embedded Postgres running in %s", pgdata)
        return str(_EMBEDDED[str(pgdata)].get_uri())


def resolve_dsn(settings: Settings) -> str:
    """Return the DSN the factory uses: ``DATABASE_URL`` or the embedded server."""
    return settings.database_url or embedded_dsn(settings)


def describe_database(settings: Settings) -> str:
    """Say in words which database serves, without secrets."""
    if settings.database_url:
        return "Postgres at DATABASE_URL"
    return f"embedded Postgres in {settings.data_dir / 'pg'}"


def open_pool(dsn: str, *, max_size: int = 8) -> ConnectionPool:
    """Open a pool with the connection settings LangGraph's saver requires."""
    pool = ConnectionPool(
        dsn,
        min_size=1,
        max_size=max_size,
        kwargs={"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row},
        open=False,
    )
    try:
        pool.open(wait=True, timeout=15)
    except Exception as exc:
        pool.close()
        raise DatabaseError(f"could not connect to Postgres: {exc}") from exc
    return pool


def migrate(pool: ConnectionPool) -> None:
    """Create the factory's own tables and the memory tables (idempotent).

    Memory needs the pgvector extension; a server without it is refused with
    the reason (the embedded Postgres ships it).
    """
    sql = (files("devfactory.store") / "schema.sql").read_text("utf-8")
    memory = (files("devfactory.memory") / "schema.sql").read_text("utf-8")
    with pool.connection() as conn:
        conn.execute(sql, prepare=False)
        try:
            conn.execute("CREATE EXTENSION IF NOT EXISTS vector", prepare=False)
        except Exception as exc:
            raise DatabaseError(
                f"the pgvector extension is not available on this Postgres ({exc}); install "
                "pgvector >= 0.5 or create the extension as a superuser"
            ) from exc
        conn.execute(memory, prepare=False)
