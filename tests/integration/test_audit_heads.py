"""Appends after a remembered chain head: the chain is the same as if each read it afresh."""

from __future__ import annotations

import psycopg
import pytest

from devfactory.factory.facade import Factory
from devfactory.memory.audit import GENESIS, AuditEvent, AuditLog
from devfactory.settings import Settings


def linked(events: list[AuditEvent]) -> bool:
    """Say whether ``events`` are seq 1..n from the genesis, each pointing at the one before."""
    hashes = [GENESIS, *(e.hash for e in events)]
    return [(e.seq, e.prev_hash) for e in events] == list(enumerate(hashes[:-1], start=1))


def test_two_writers_interleaving_on_one_run_keep_one_chain(pg_settings: Settings) -> None:
    with Factory(pg_settings) as factory:
        ours = factory.audit
        theirs = AuditLog(ours.pool, key=ours.key, anchors=ours.anchors)  # another process
        appended = []
        for n in range(6):  # each writer's remembered head is behind after the other's turn
            writer = ours if n % 3 else theirs
            appended.append(writer.append("r-two", "note", {"n": n}, actor=f"w{n % 3}"))
        events = ours.events("r-two")
        verified = ours.verify("r-two")
    assert all(a is not None for a in appended)
    assert [e.payload["n"] for e in events] == list(range(6)) and linked(events)
    assert verified.ok and verified.rows == 6


def test_a_key_kept_is_not_appended_again_by_a_writer_that_knows_the_head(
    pg_settings: Settings,
) -> None:
    with Factory(pg_settings) as factory:
        log = factory.audit
        first = log.append("r-key", "note", {"n": 1}, actor="t", key="once")
        log.append("r-key", "note", {"n": 2}, actor="t")
        again = log.append("r-key", "note", {"n": 3}, actor="t", key="once")  # an older key
        same = log.append("r-key", "note", {"n": 2}, actor="t")  # the same content: its key
        events = log.events("r-key")
    assert first is not None and again is None and same is None
    assert [e.payload["n"] for e in events] == [1, 2] and linked(events)


@pytest.mark.parametrize(
    "sql",
    [
        "DELETE FROM devfactory_audit WHERE seq > 1",  # the remembered head is gone
        "UPDATE devfactory_audit SET hash = repeat('f', 64) WHERE seq = 2",  # it differs
    ],
)
def test_a_head_changed_behind_the_writers_back_is_read_again(
    pg_settings: Settings, database_url: str, sql: str
) -> None:
    with Factory(pg_settings) as factory:
        log = factory.audit
        log.append("r-cut", "note", {"n": 1}, actor="t")
        log.append("r-cut", "note", {"n": 2}, actor="t")
        with psycopg.connect(database_url, autocommit=True) as conn:  # only a superuser can
            conn.execute("ALTER TABLE devfactory_audit DISABLE TRIGGER USER")
            conn.execute(sql)
            conn.execute("ALTER TABLE devfactory_audit ENABLE TRIGGER USER")
        before = log.events("r-cut")
        after = log.append("r-cut", "note", {"n": 3}, actor="t")
    assert after is not None
    assert after.seq == before[-1].seq + 1 and after.prev_hash == before[-1].hash
