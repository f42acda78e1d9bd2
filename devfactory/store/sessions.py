"""Where the console's sign-ins live: ``devfactory_console_sessions``, one row per browser.

A console sign-in is a random token in the browser's cookie; the row keeps only
the token's SHA-256, so whoever reads the table (a backup, a replica, a leaked
dump) finds nothing that signs anyone in. The row is the whole truth about a
sign-in: signing out deletes it, ``devfactory users rotate-secret`` deletes
them all, removing a person deletes theirs, and a row past its expiry counts
for nothing. Expired rows are purged a bounded batch at a time, whenever
someone signs in, so the table never needs a sweeper of its own.

A person holds at most ``keep`` sign-ins: one more ends their oldest. Sign-ins
of one person are counted under a transaction-scoped advisory lock, so two
sign-ins at once never leave more than ``keep``.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final, cast

from psycopg_pool import ConnectionPool

PURGE_BATCH: Final = 100
"""The most expired rows one sign-in deletes: the purge's cost stays bounded, and the
table cannot grow past what sign-ins keep adding (people x their cap) plus one batch."""

_LOCK: Final = "devfactory:console-session"  # hashed into the advisory lock's first key


@dataclass(frozen=True)
class ConsoleSession:
    """One console sign-in: whose it is, and when it began, ends and was last used."""

    person: str
    created_at: datetime
    expires_at: datetime
    last_seen: datetime


class SessionStore:
    """Keep, find and end console sign-ins in Postgres, by the SHA-256 of their token.

    Args:
        pool: the database's connections.
        wait_s: the longest a call waits for a free connection (then ``PoolTimeout``).

    """

    def __init__(self, pool: ConnectionPool, *, wait_s: float = 10.0) -> None:
        self.pool = pool
        self.wait_s = wait_s  # the longest a call waits for a free connection

    def _connection(self) -> AbstractContextManager[Any]:
        return self.pool.connection(timeout=self.wait_s)

    def add(
        self, digest: str, person: str, *, now: datetime, lifetime: timedelta, keep: int
    ) -> int:
        """Record a sign-in of ``person`` until ``now + lifetime``; return how many others ended.

        Past ``keep`` sign-ins of the person, their oldest end. A batch of expired
        rows (anyone's) is purged in the same transaction.
        """
        if keep < 1:
            raise ValueError("keep must be at least 1")
        with self._connection() as conn, conn.transaction():
            conn.execute(
                "SELECT pg_advisory_xact_lock(hashtext(%s), hashtext(%s))", (_LOCK, person)
            )
            conn.execute(
                "INSERT INTO devfactory_console_sessions"
                " (token_sha256, person, created_at, expires_at, last_seen)"
                " VALUES (%s, %s, %s, %s, %s)",
                (digest, person, now, now + lifetime, now),
            )
            ended = conn.execute(
                "DELETE FROM devfactory_console_sessions WHERE id IN ("
                " SELECT id FROM devfactory_console_sessions WHERE person = %s"
                " ORDER BY created_at DESC, id DESC OFFSET %s)",
                (person, keep),
            ).rowcount
            self._purge(conn, now)
        return ended

    @staticmethod
    def _purge(conn: Any, now: datetime) -> int:
        return int(
            conn.execute(
                "DELETE FROM devfactory_console_sessions WHERE id IN ("
                " SELECT id FROM devfactory_console_sessions WHERE expires_at <= %s"
                " ORDER BY expires_at LIMIT %s)",
                (now, PURGE_BATCH),
            ).rowcount
        )

    def purge(self, now: datetime) -> int:
        """Delete up to ``PURGE_BATCH`` sign-ins that expired by ``now``; return how many."""
        with self._connection() as conn:
            return self._purge(conn, now)

    def find(self, digest: str, *, now: datetime, touch_after: timedelta) -> ConsoleSession | None:
        """Return the live sign-in whose token has SHA-256 ``digest`` (None: none, or expired).

        Its ``last_seen`` is moved to ``now`` when it is older than ``touch_after``:
        a busy console writes once a while, not on every request.
        """
        with self._connection() as conn:
            row = conn.execute(
                "SELECT person, created_at, expires_at, last_seen FROM devfactory_console_sessions"
                " WHERE token_sha256 = %s AND expires_at > %s",
                (digest, now),
            ).fetchone()
            if row is None:
                return None
            found = ConsoleSession(**cast(dict[str, Any], row))
            if now - found.last_seen >= touch_after:
                conn.execute(
                    "UPDATE devfactory_console_sessions SET last_seen = %s WHERE token_sha256 = %s",
                    (now, digest),
                )
                found = ConsoleSession(found.person, found.created_at, found.expires_at, now)
        return found

    def end(self, digest: str) -> bool:
        """End the sign-in whose token has SHA-256 ``digest``; return whether there was one."""
        with self._connection() as conn:
            cur = conn.execute(
                "DELETE FROM devfactory_console_sessions WHERE token_sha256 = %s", (digest,)
            )
        return cur.rowcount > 0

    def end_person(self, person: str) -> int:
        """End every sign-in of ``person``; return how many."""
        with self._connection() as conn:
            cur = conn.execute(
                "DELETE FROM devfactory_console_sessions WHERE person = %s", (person,)
            )
        return cur.rowcount

    def end_all(self) -> int:
        """End every console sign-in; return how many."""
        with self._connection() as conn:
            cur = conn.execute("DELETE FROM devfactory_console_sessions")
        return cur.rowcount

    def count(self, person: str | None = None) -> int:
        """Return how many sign-ins are kept (``person``'s only, when given), expired or not."""
        with self._connection() as conn:
            row = conn.execute(
                "SELECT count(*) AS n FROM devfactory_console_sessions"
                " WHERE %s::text IS NULL OR person = %s",
                (person, person),
            ).fetchone()
        return int(cast(dict[str, Any], row)["n"])
