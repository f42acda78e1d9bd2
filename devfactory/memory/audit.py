"""Immutable audit memory: an append-only, hash-chained log of every run event.

Each row's ``hash`` is SHA-256 over the previous row's hash (of the same run)
and the row's own canonical content, so changing, removing or reordering any
row breaks the chain from that row on; ``verify`` names the first broken link.
The database refuses UPDATE, DELETE and TRUNCATE (a trigger), and full-text
search runs over every event (``search``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from psycopg_pool import ConnectionPool

GENESIS = "0" * 64


def canonical(payload: Mapping[str, Any]) -> str:
    """Serialise ``payload`` the one way the chain hashes it."""
    return json.dumps(
        payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    )


def link_hash(
    prev_hash: str, run_id: str, seq: int, kind: str, actor: str, at: datetime, body: str
) -> str:
    """Return the hash of one link: the previous hash and this row's content."""
    material = "\n".join(
        (prev_hash, run_id, str(seq), kind, actor, at.astimezone(UTC).isoformat(), body)
    )
    return hashlib.sha256(material.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class AuditEvent:
    """One row of the audit log."""

    run_id: str
    seq: int
    key: str
    kind: str
    actor: str
    at: datetime
    body: str
    prev_hash: str
    hash: str

    @property
    def payload(self) -> dict[str, Any]:
        """The event's content."""
        return cast(dict[str, Any], json.loads(self.body))


@dataclass(frozen=True)
class Verification:
    """The result of re-computing a run's chain."""

    run_id: str
    rows: int
    broken_at: int | None = None  # seq of the first bad row
    problem: str = ""

    @property
    def ok(self) -> bool:
        """Say whether every link holds."""
        return self.broken_at is None


@dataclass(frozen=True)
class SearchHit:
    """One event matching a full-text query."""

    run_id: str
    seq: int
    kind: str
    actor: str
    at: datetime
    snippet: str


class AuditLog:
    """Append, read, verify and search the audit log."""

    def __init__(self, pool: ConnectionPool) -> None:
        self.pool = pool

    def append(
        self, run_id: str, kind: str, payload: Mapping[str, Any], *, actor: str, key: str = ""
    ) -> AuditEvent | None:
        """Append one event to ``run_id``'s chain; None when ``key`` was recorded already.

        ``key`` makes appending idempotent for events a re-run node emits again
        (default: the hash of the content, so an identical event is kept once).
        """
        body = canonical(payload)
        key = key or f"{kind}:{hashlib.sha256(body.encode()).hexdigest()[:32]}"
        at = datetime.now(UTC)
        with self.pool.connection() as conn, conn.transaction():
            # one writer per run at a time: the chain is a sequence
            conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (run_id,))
            if conn.execute(
                "SELECT 1 FROM devfactory_audit WHERE run_id = %s AND key = %s", (run_id, key)
            ).fetchone():
                return None
            last = conn.execute(
                "SELECT seq, hash FROM devfactory_audit WHERE run_id = %s ORDER BY seq DESC"
                " LIMIT 1",
                (run_id,),
            ).fetchone()
            head: dict[str, Any] = (
                cast(dict[str, Any], last) if last else {"seq": 0, "hash": GENESIS}
            )
            seq, prev_hash = int(head["seq"]) + 1, str(head["hash"])
            digest = link_hash(prev_hash, run_id, seq, kind, actor, at, body)
            conn.execute(
                "INSERT INTO devfactory_audit (run_id, seq, key, kind, actor, at, body,"
                " prev_hash, hash) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (run_id, seq, key, kind, actor, at, body, prev_hash, digest),
            )
        return AuditEvent(run_id, seq, key, kind, actor, at, body, prev_hash, digest)

    def events(self, run_id: str) -> list[AuditEvent]:
        """Return ``run_id``'s events in chain order."""
        return list(self._rows(run_id))

    def _rows(self, run_id: str) -> Iterator[AuditEvent]:
        with self.pool.connection() as conn:
            rows = conn.execute(
                "SELECT run_id, seq, key, kind, actor, at, body, prev_hash, hash"
                " FROM devfactory_audit WHERE run_id = %s ORDER BY seq",
                (run_id,),
            ).fetchall()
        for row in rows:
            yield AuditEvent(**cast(dict[str, Any], row))

    def verify(self, run_id: str) -> Verification:
        """Recompute ``run_id``'s chain and name the first row that does not hold."""
        prev, count = GENESIS, 0
        for count, event in enumerate(self._rows(run_id), start=1):
            if event.seq != count:
                return Verification(
                    run_id,
                    count,
                    count,
                    f"a row is missing: event {count} is gone (the next has seq {event.seq})",
                )
            if event.prev_hash != prev:
                return Verification(
                    run_id, count, event.seq, "prev_hash does not match the previous row's hash"
                )
            expected = link_hash(
                prev, event.run_id, event.seq, event.kind, event.actor, event.at, event.body
            )
            if expected != event.hash:
                return Verification(
                    run_id, count, event.seq, "content does not match its hash (row altered)"
                )
            prev = event.hash
        return Verification(run_id, count)

    def search(self, query: str, *, run_id: str | None = None, limit: int = 20) -> list[SearchHit]:
        """Full-text search over every event (web-search syntax: words, "phrases", -not)."""
        with self.pool.connection() as conn:
            rows = conn.execute(
                "SELECT run_id, seq, kind, actor, at, ts_headline('english', body, q,"
                " 'MaxWords=18, MinWords=6, StartSel=«, StopSel=»') AS snippet"
                " FROM devfactory_audit, websearch_to_tsquery('english', %s) AS q"
                " WHERE search @@ q AND (%s::text IS NULL OR run_id = %s)"
                " ORDER BY ts_rank(search, q) DESC, at DESC LIMIT %s",
                (query, run_id, run_id, limit),
            ).fetchall()
        return [SearchHit(**cast(dict[str, Any], r)) for r in rows]
