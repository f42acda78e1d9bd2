"""Where the sign-in throttle keeps its counts: ``devfactory_signin_failures``.

One transaction per settlement locks the rows of the keys it reads, so two
chat processes counting the same name at once never lose a failure.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, cast

from psycopg_pool import ConnectionPool

from devfactory.control.signin_throttle import Counts, SignInThrottle
from devfactory.settings import Settings
from devfactory.store.rows import execute, fetch_one


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
                "SELECT key, failures, locked_until, strikes FROM devfactory_signin_failures"
                " WHERE key = ANY(%s) ORDER BY key FOR UPDATE",
                (list(keys),),
            ).fetchall()
            found = {
                r["key"]: Counts(list(r["failures"]), float(r["locked_until"]), int(r["strikes"]))
                for r in (cast(dict[str, Any], row) for row in rows)
            }
            yield found
            for key, counts in found.items():
                conn.execute(
                    "UPDATE devfactory_signin_failures SET failures = %s, locked_until = %s,"
                    " strikes = %s WHERE key = %s",
                    (counts.failures, counts.locked_until, counts.strikes, key),
                )

    def expire(self, now: float, window_s: float, quiet_s: float) -> int:
        """Delete the rows with no failure in the window and no lock for ``quiet_s``."""
        return execute(
            self.pool,
            "DELETE FROM devfactory_signin_failures WHERE locked_until <= %s"
            " AND NOT EXISTS (SELECT 1 FROM unnest(failures) AS f WHERE f > %s)",
            (now - quiet_s, now - window_s),
        )

    def forget(self, keys: Sequence[str], prefixes: Sequence[str]) -> int:
        """Delete ``keys`` and the rows whose key starts with one of ``prefixes``."""
        return execute(
            self.pool,
            "DELETE FROM devfactory_signin_failures WHERE key = ANY(%s)"
            " OR EXISTS (SELECT 1 FROM unnest(%s::text[]) AS p WHERE starts_with(key, p))",
            (list(keys), list(prefixes)),
        )

    def size(self) -> int:
        """Return how many names and addresses are remembered."""
        row = fetch_one(self.pool, "SELECT count(*) AS n FROM devfactory_signin_failures")
        return int(cast(dict[str, Any], row)["n"])


def throttle(settings: Settings, pool: ConnectionPool) -> SignInThrottle:
    """Return the sign-in throttle the settings describe, its counts in ``pool``'s database."""
    return SignInThrottle(
        max_failures=settings.service.chat_login_max_failures,
        flood_failures=settings.service.chat_login_flood_failures,
        window_s=settings.service.chat_login_window_s,
        lockout_s=settings.service.chat_login_lockout_s,
        max_lockout_s=settings.service.chat_login_lockout_max_s,
        store=SignInStore(pool),
    )
