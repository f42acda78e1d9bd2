"""Where the chat's sign-in throttle keeps its counts: ``devfactory_signin_failures``.

One transaction per settlement locks the rows of the keys it reads, so two
chat processes counting the same name at once never lose a failure.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, cast

from psycopg_pool import ConnectionPool

from devfactory.control.signin import Counts


class SignInStore:
    """Read and write failure counts per key, in Postgres."""

    def __init__(self, pool: ConnectionPool) -> None:
        self.pool = pool

    @contextmanager
    def counts(self, keys: Sequence[str]) -> Iterator[dict[str, Counts]]:
        """Yield the counts of ``keys``, locked; write back what the caller changed."""
        with self.pool.connection() as conn, conn.transaction():
            conn.execute(
                "INSERT INTO devfactory_signin_failures (key) SELECT unnest(%s::text[])"
                " ON CONFLICT DO NOTHING",
                (list(keys),),
            )
            rows = conn.execute(
                "SELECT key, failures, locked_until FROM devfactory_signin_failures"
                " WHERE key = ANY(%s) ORDER BY key FOR UPDATE",
                (list(keys),),
            ).fetchall()
            found = {
                r["key"]: Counts(list(r["failures"]), float(r["locked_until"]))
                for r in (cast(dict[str, Any], row) for row in rows)
            }
            yield found
            for key, counts in found.items():
                conn.execute(
                    "UPDATE devfactory_signin_failures SET failures = %s, locked_until = %s"
                    " WHERE key = %s",
                    (counts.failures, counts.locked_until, key),
                )

    def expire(self, now: float, window_s: float) -> int:
        """Delete the rows with no failure left in the window and no lock; return how many."""
        with self.pool.connection() as conn:
            cur = conn.execute(
                "DELETE FROM devfactory_signin_failures WHERE locked_until <= %s"
                " AND NOT EXISTS (SELECT 1 FROM unnest(failures) AS f WHERE f > %s)",
                (now, now - window_s),
            )
        return cur.rowcount

    def size(self) -> int:
        """Return how many names and addresses are remembered."""
        with self.pool.connection() as conn:
            row = conn.execute("SELECT count(*) AS n FROM devfactory_signin_failures").fetchone()
        return int(cast(dict[str, Any], row)["n"])
