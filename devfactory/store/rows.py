"""One statement on one of a pool's connections, and the rows it returns as dicts.

Most reads and writes of the stores are one statement on an autocommit connection
(``db.open_pool``): ``fetch_one``, ``fetch_all`` and ``execute`` (a write, and how
many rows it wrote) take a connection, run it and hand the connection back, so each
store says only its SQL and what it makes of the rows. Several statements, or a
transaction, open their own connection.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from psycopg_pool import ConnectionPool

Row = dict[str, Any]


def fetch_one(pool: ConnectionPool, query: str, params: Sequence[Any] | None = None) -> Row | None:
    """Run ``query`` with ``params``; return its first row (None: it returned none)."""
    with pool.connection() as conn:
        return cast(Row | None, conn.execute(query, params).fetchone())


def execute(pool: ConnectionPool, query: str, params: Sequence[Any] | None = None) -> int:
    """Run ``query`` with ``params``; return how many rows it inserted, changed or deleted."""
    with pool.connection() as conn:
        return conn.execute(query, params).rowcount


def fetch_all(pool: ConnectionPool, query: str, params: Sequence[Any] | None = None) -> list[Row]:
    """Run ``query`` with ``params``; return every row it returned."""
    with pool.connection() as conn:
        return cast(list[Row], conn.execute(query, params).fetchall())
