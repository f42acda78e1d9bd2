"""Two processes preparing one new database never deadlock, and a waiter gives up at its cap.

On a new database ``prepare`` sets up LangGraph's checkpoint tables, whose
``CREATE INDEX CONCURRENTLY`` waits for every older transaction. A process that
waited for the prepare lock inside ``pg_advisory_lock`` was such a transaction:
an API and a worker starting together on a new database deadlocked (seen in CI).
"""

from __future__ import annotations

import threading
from typing import Any

import psycopg
import pytest

from devfactory.settings import Settings
from devfactory.store.db import PREPARE_LOCK, DatabaseError, prepare


def hold_the_lock(database_url: str) -> psycopg.Connection[Any]:
    conn = psycopg.connect(database_url, autocommit=True)
    conn.execute("SELECT pg_advisory_lock(hashtext(%s))", (PREPARE_LOCK,))
    return conn


def test_a_process_waiting_to_prepare_lets_the_holder_build_an_index_concurrently(
    pg_settings: Settings, database_url: str
) -> None:
    holder = hold_the_lock(database_url)
    holder.execute("CREATE TABLE built_meanwhile (x int)")
    done: dict[str, Any] = {}

    def waiter() -> None:
        try:
            done["database"] = prepare(pg_settings)
        except Exception as exc:  # noqa: BLE001 - the test reads it
            done["error"] = exc

    thread = threading.Thread(target=waiter)
    thread.start()
    try:
        thread.join(timeout=1.0)
        assert thread.is_alive()  # it waits for the lock
        # as LangGraph's saver setup does while it holds the lock: this waits for every
        # older transaction, and a waiter blocked inside pg_advisory_lock is one
        holder.execute("CREATE INDEX CONCURRENTLY built_meanwhile_x ON built_meanwhile (x)")
    finally:
        holder.execute("SELECT pg_advisory_unlock(hashtext(%s))", (PREPARE_LOCK,))
        thread.join(timeout=120)
        holder.close()
    assert "error" not in done, done
    assert done["database"].dsn


def test_a_process_waits_for_the_prepare_lock_no_longer_than_its_cap(
    pg_settings: Settings, database_url: str
) -> None:
    holder = hold_the_lock(database_url)
    try:
        with pytest.raises(DatabaseError, match=r"prepare lock for over 1 s"):
            prepare(pg_settings.with_overrides(database_prepare_wait_s=1.0))
    finally:
        holder.close()
    assert prepare(pg_settings.with_overrides(database_prepare_wait_s=1.0)).dsn
