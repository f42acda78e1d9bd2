"""Slots: at most N holders of something at once, across every process, by advisory locks.

A worker that clones a repository holds one of ``repo_max_clones`` slots for
the clone's length, so that clones stuck on hosts that never answer cannot
take every worker. A slot is a Postgres session advisory lock
``(hashtext(name), n)`` for n below the count, taken with
``pg_try_advisory_lock`` (never waited on) on a connection of the holder's
own: a holder that dies loses its connection, and the server frees its slot
with it, so no slot outlives its holder.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import psycopg


class Slots:
    """``count`` slots named ``name``, shared by every process on one database."""

    def __init__(self, conninfo: str, name: str, count: int, *, connect_timeout: float) -> None:
        self.conninfo, self.name, self.count = conninfo, name, count
        self.connect_timeout = connect_timeout

    @contextlib.contextmanager
    def hold(self) -> Iterator[int | None]:
        """Hold a free slot for the block and yield its number; None when every one is taken.

        Nothing waits: a caller that gets None decides what to do (a worker hands
        its run back to the queue for a while).
        """
        conn: psycopg.Connection[Any] = psycopg.connect(
            self.conninfo, autocommit=True, connect_timeout=max(1, round(self.connect_timeout))
        )
        try:
            slot = self._take(conn)
            try:
                yield slot
            finally:
                if slot is not None:
                    with contextlib.suppress(psycopg.Error):  # a lost connection freed it
                        conn.execute(
                            "SELECT pg_advisory_unlock(hashtext(%s), %s)", (self.name, slot)
                        )
        finally:
            conn.close()

    def _take(self, conn: psycopg.Connection[Any]) -> int | None:
        for slot in range(self.count):
            row = conn.execute(
                "SELECT pg_try_advisory_lock(hashtext(%s), %s)", (self.name, slot)
            ).fetchone()
            if row and row[0]:
                return slot
        return None

    def taken(self) -> int:
        """Count the slots held now, by any process."""
        with psycopg.connect(self.conninfo, autocommit=True) as conn:
            row = conn.execute(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid ="
                " hashtext(%s)::oid AND objsubid = 2 AND objid < %s AND granted",
                (self.name, self.count),
            ).fetchone()
        return int(row[0]) if row else 0
