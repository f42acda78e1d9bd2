"""The secret that signs chat sign-ins, kept in the factory's database (``devfactory_secrets``).

Chainlit signs each sign-in token with ``CHAINLIT_AUTH_SECRET``. Unless the
operator sets that variable, the chat keeps the secret in a row of Postgres,
not in a file of the data directory: a run's folder is written by a model and
by whoever owns a repository given to ``--repo``, and a link planted there to
a file of the data directory once handed a signing secret to a reader that
followed it. Every reader of a run's files now goes through one way in that
follows no link; a row, which no path names, narrows what a reader that
slipped could reach. (The embedded Postgres keeps its pages under
``<data_dir>/pg``, in files named by numbers no run is told; with
``DATABASE_URL``, on another server.)

``devfactory users rotate-secret`` replaces the row (``rotate``). Each chat
process reads it again when its copy is older than ``chat_secret_recheck_s``,
at its next request (``refresh``): at most one small query per that many
seconds, and within them every token signed with the old secret is refused,
so everyone signs in again. A database that does not answer leaves the copy
in use (the warning is logged once), and it is tried again after as long.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import threading
import time
from collections.abc import Callable
from typing import Any

import psycopg

from devfactory.redact import register
from devfactory.settings import Settings

SECRET_ENV = "CHAINLIT_AUTH_SECRET"
MANAGED_ENV = "DEVFACTORY_CHAT_SECRET_MANAGED"  # set when the secret is the database's
NAME = "chat-signing"  # the secret's row in devfactory_secrets
LEGACY_FILE = "chat-secret"  # where earlier versions kept it, under the data directory
_WAIT_S = 2.0  # the longest a read may wait on the database (connect, statement, lock)
log = logging.getLogger(__name__)


def _connect(dsn: str) -> psycopg.Connection[Any]:
    return psycopg.connect(
        dsn,
        autocommit=True,
        connect_timeout=max(1, round(_WAIT_S)),
        options=f"-c statement_timeout={round(_WAIT_S * 1000)}",
    )


def _read_or_make(conn: psycopg.Connection[Any]) -> str:
    """Return the secret's row, made with a new random secret if there is none yet.

    Two chats starting at once make one: the second insert does nothing, and
    both read the first's.
    """
    conn.execute(
        "INSERT INTO devfactory_secrets (name, value) VALUES (%s, %s) ON CONFLICT DO NOTHING",
        (NAME, secrets.token_urlsafe(48)),
    )
    row = conn.execute("SELECT value FROM devfactory_secrets WHERE name = %s", (NAME,)).fetchone()
    if row is None:  # removed in between by hand: the next read makes it again
        raise psycopg.DataError("the chat's signing secret was removed while it was read")
    return str(row[0])


class SecretKeeper:
    """One process's copy of the signing secret, read again once it is ``recheck_s`` old."""

    def __init__(
        self,
        dsn: str,
        recheck_s: float,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.dsn, self.recheck_s, self.clock = dsn, recheck_s, clock
        self._conn: psycopg.Connection[Any] | None = None
        self._lock = threading.Lock()
        self._value = ""
        self._read_at = float("-inf")
        self._failing = False

    def read(self) -> str:
        """Read the secret now (made on first use); ``psycopg.Error`` if the database fails."""
        with self._lock:
            return self._read()

    def _read(self) -> str:
        if self._conn is None or self._conn.closed:
            self._conn = _connect(self.dsn)
        try:
            value = _read_or_make(self._conn)
        except psycopg.Error:
            self._drop_connection()
            raise
        self._value, self._read_at = value, self.clock()
        if self._failing:
            log.warning("the chat reads its signing secret from the database again")
        self._failing = False
        return value

    def current(self) -> str:
        """Return the secret, read again first when the copy is ``recheck_s`` old or older.

        A database that fails leaves the copy in use until the next try, one
        ``recheck_s`` later (logged once, not at every request).
        """
        if self.clock() - self._read_at < self.recheck_s:
            return self._value
        if not self._lock.acquire(timeout=_WAIT_S):  # another thread reads: its copy will do
            return self._value
        try:
            if self.clock() - self._read_at >= self.recheck_s:
                self._read()
        except psycopg.Error as exc:
            self._read_at = self.clock()
            if not self._failing:
                log.warning(
                    "the chat could not read its signing secret (%s); it keeps the one it has",
                    type(exc).__name__,
                )
            self._failing = True
        finally:
            self._lock.release()
        return self._value

    def _drop_connection(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(psycopg.Error):
                self._conn.close()
        self._conn = None

    def close(self) -> None:
        """Close the connection (a later read opens a new one)."""
        with self._lock:
            self._drop_connection()


_keeper: SecretKeeper | None = None


def _runtime_dsn(settings: Settings) -> str:
    """Return what the factory connects as, with its tables made (``store.db.prepare``)."""
    from devfactory.store.db import prepare

    return prepare(settings).dsn


def use(settings: Settings) -> None:
    """Sign the chat's tokens with the database's secret (made on first use), unless set by hand.

    A secret the operator put in ``CHAINLIT_AUTH_SECRET`` wins; rotating does not
    touch it. A file an earlier version kept the secret in is removed.

    Raises:
        devfactory.store.db.DatabaseError: the database cannot be prepared.
        psycopg.Error: the secret cannot be read.

    """
    global _keeper
    if os.environ.get(SECRET_ENV) and not os.environ.get(MANAGED_ENV):
        return
    keeper = SecretKeeper(_runtime_dsn(settings), settings.service.chat_secret_recheck_s)
    value = keeper.read()
    before, _keeper = _keeper, keeper
    if before is not None:
        before.close()
    os.environ[MANAGED_ENV] = "1"
    _set(value)
    (settings.storage.data_dir / LEGACY_FILE).unlink(missing_ok=True)


def _set(value: str) -> None:
    register([value])  # never stored, logged or sent to a model
    os.environ[SECRET_ENV] = value


def refresh() -> None:
    """Take the database's secret if it changed (a rotation), reading at most every recheck."""
    keeper = _keeper
    if keeper is None:
        return
    value = keeper.current()
    if value and value != os.environ.get(SECRET_ENV):
        _set(value)


def rotate(settings: Settings) -> str:
    """Replace the chat's signing secret with a new random one; say what was replaced.

    Without a database yet (no ``DATABASE_URL``, no embedded Postgres made under
    the data directory) no chat ever ran, so there is nothing to replace and no
    Postgres is started for it.
    """
    if not settings.storage.database_url and not (settings.storage.data_dir / "pg").exists():
        return "nothing (no chat has signed anyone in here yet)"
    with _connect(_runtime_dsn(settings)) as conn:
        conn.execute(
            "INSERT INTO devfactory_secrets (name, value) VALUES (%s, %s) ON CONFLICT (name)"
            " DO UPDATE SET value = EXCLUDED.value, changed_at = now()",
            (NAME, secrets.token_urlsafe(48)),
        )
    (settings.storage.data_dir / LEGACY_FILE).unlink(missing_ok=True)
    return "the chat's signing secret in the database"
