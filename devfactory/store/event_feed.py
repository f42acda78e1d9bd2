"""The run event feed: every event shown while a run was driven, kept in order.

The audit log keeps what must be proven (hash-chained, never changed); this
feed keeps what a watcher sees live (stage started, usage, notices, ...) so
that a client that connects late, or reconnects, misses nothing: the API's
Server-Sent Events replay it from the id the client last saw
(``Last-Event-ID``). Each insert is announced on ``CHANNEL`` with the run id,
so listeners wake at once instead of polling.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool

from devfactory.events import Event
from devfactory.store.rows import fetch_all

CHANNEL = "devfactory_events"


@dataclass(frozen=True)
class FedEvent:
    """One event of the feed: its id (the SSE id), its kind and its wire form."""

    id: int
    run_id: str
    kind: str
    body: dict[str, Any]
    at: datetime


class EventFeed:
    """Append run events and read them back in order."""

    def __init__(self, pool: ConnectionPool) -> None:
        self.pool = pool

    def append(self, run_id: str, event: Event) -> int:
        """Keep ``event`` for ``run_id`` and announce it; return its id."""
        body = event.model_dump(mode="json")
        with self.pool.connection() as conn, conn.transaction():
            row = conn.execute(
                "INSERT INTO devfactory_events (run_id, kind, body) VALUES (%s, %s, %s)"
                " RETURNING id",
                (run_id, event.event, Jsonb(body)),
            ).fetchone()
            conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, run_id))
        return int(cast(dict[str, Any], row)["id"])

    def since(self, run_id: str, after: int = 0, limit: int = 500) -> list[FedEvent]:
        """Return the run's events after id ``after``, oldest first (at most ``limit``)."""
        rows = fetch_all(
            self.pool,
            "SELECT id, run_id, kind, body, at FROM devfactory_events WHERE run_id = %s"
            " AND id > %s ORDER BY id LIMIT %s",
            (run_id, after, limit),
        )
        return [FedEvent(**r) for r in rows]
