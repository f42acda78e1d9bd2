"""Immutable audit memory: an append-only, keyed hash chain of every run event.

Each row's ``hash`` is an HMAC-SHA256, under a key kept outside the database,
of the previous row's hash (of the same run) and the row's own canonical
content, so changing, removing or reordering any row breaks the chain from
that row on, and a chain rewritten whole with recomputed links does not verify
without the key. After every append the chain's head is anchored outside the
database (``anchors.py``), so rows cut off the end, or all of a run's rows, are
seen missing. ``verify`` names the first thing that does not hold.

An append is one statement when this process knows the run's head (it appended
the row before): the row goes in only if that head is still the run's last.
Otherwise, or when that fails, the run's head is read under a per-run lock.

In the database, the factory writes through a role that may only INSERT and
SELECT the table (``store/db.py``), and a trigger refuses UPDATE, DELETE and
TRUNCATE for anyone else. Full-text search runs over every event (``search``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from psycopg_pool import ConnectionPool

from devfactory.memory.anchors import Anchors, load_key
from devfactory.redact import redact_data
from devfactory.settings import Settings
from devfactory.store.rows import fetch_all

GENESIS = "0" * 64
_HEADS_KEPT = 1024  # the chain heads of this many runs are remembered (the latest appended)
# Append after a head this process saw: one statement, inserting nothing unless that head is
# still the run's last row (a newer row took the seq, or the key was kept: a unique conflict;
# the row is gone: no predecessor). Rows are never changed, so the head's hash is still right.
_APPEND_AFTER = (
    "INSERT INTO devfactory_audit (run_id, seq, key, kind, actor, at, body, prev_hash, hash)"
    " SELECT %(run)s, %(seq)s, %(key)s, %(kind)s, %(actor)s, %(at)s, %(body)s, %(prev)s,"
    " %(hash)s WHERE EXISTS (SELECT 1 FROM devfactory_audit WHERE run_id = %(run)s"
    " AND seq = %(prev_seq)s AND hash = %(prev)s) ON CONFLICT DO NOTHING RETURNING seq"
)


def canonical(payload: Mapping[str, Any]) -> str:
    """Serialise ``payload`` the one way the chain hashes it."""
    return json.dumps(
        payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    )


def link_hash(
    key: bytes,
    prev_hash: str,
    run_id: str,
    seq: int,
    kind: str,
    actor: str,
    at: datetime,
    body: str,
) -> str:
    """Return one link: the keyed hash of the previous link and this row's content."""
    material = "\n".join(
        (prev_hash, run_id, str(seq), kind, actor, at.astimezone(UTC).isoformat(), body)
    )
    return hmac.new(key, material.encode("utf-8"), hashlib.sha256).hexdigest()


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
    row_deleted: bool = False  # the run's row is gone from the runs table, its log is not

    @property
    def ok(self) -> bool:
        """Say whether every link holds and the run's row is still there."""
        return self.broken_at is None and not self.row_deleted


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
    """Append, read, verify and search the audit log.

    Args:
        pool: connections as the role that writes the log.
        key: the chain's HMAC key (kept outside the database).
        anchors: where chain heads are anchored outside the database.

    """

    def __init__(self, pool: ConnectionPool, *, key: bytes, anchors: Anchors) -> None:
        self.pool, self.key, self.anchors = pool, key, anchors
        # run -> (seq, hash) of the newest row this process appended or read: a hint only
        self._heads: OrderedDict[str, tuple[int, str]] = OrderedDict()
        self._heads_lock = threading.Lock()

    @classmethod
    def open(cls, settings: Settings, pool: ConnectionPool) -> AuditLog:
        """Open the log with the key and the anchors the settings name (under ``data_dir``)."""
        key_file = settings.storage.audit_key_file or settings.storage.data_dir / "audit.key"
        anchors = Anchors(settings.storage.audit_anchor_dir or settings.storage.data_dir / "audit")
        return cls(pool, key=load_key(key_file, settings.storage.audit_key), anchors=anchors)

    def append(
        self, run_id: str, kind: str, payload: Mapping[str, Any], *, actor: str, key: str = ""
    ) -> AuditEvent | None:
        """Append one event to ``run_id``'s chain; None when ``key`` was recorded already.

        ``key`` makes appending idempotent for events a re-run node emits again
        (default: the hash of the content, so an identical event is kept once).
        """
        body = canonical(redact_data(payload))
        key = key or f"{kind}:{hashlib.sha256(body.encode()).hexdigest()[:32]}"
        at = datetime.now(UTC)
        event = self._append_after_head(run_id, key, kind, actor, at, body)
        if event is None:
            event = self._append_locked(run_id, key, kind, actor, at, body)
            if event is None:
                return None
        self.anchors.record(run_id, event.seq, event.hash)  # after the commit: the head it reached
        self._saw(run_id, event.seq, event.hash)
        return event

    def _append_after_head(
        self, run_id: str, key: str, kind: str, actor: str, at: datetime, body: str
    ) -> AuditEvent | None:
        """Append in one statement after the head this process last saw; None: not appended.

        Not appended when the process knows no head for the run, or the head
        moved on, or ``key`` was kept already: ``_append_locked`` then decides.
        """
        with self._heads_lock:
            head = self._heads.get(run_id)
        if head is None:
            return None
        seq, prev_hash = head[0] + 1, head[1]
        digest = link_hash(self.key, prev_hash, run_id, seq, kind, actor, at, body)
        values = {
            "run": run_id,
            "seq": seq,
            "key": key,
            "kind": kind,
            "actor": actor,
            "at": at,
            "body": body,
            "prev": prev_hash,
            "hash": digest,
            "prev_seq": head[0],
        }
        with self.pool.connection() as conn:
            if conn.execute(_APPEND_AFTER, values).fetchone() is None:
                return None
        return AuditEvent(run_id, seq, key, kind, actor, at, body, prev_hash, digest)

    def _append_locked(
        self, run_id: str, key: str, kind: str, actor: str, at: datetime, body: str
    ) -> AuditEvent | None:
        """Append after the run's last row, read under the run's lock; None when ``key`` is kept."""
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
            digest = link_hash(self.key, prev_hash, run_id, seq, kind, actor, at, body)
            conn.execute(
                "INSERT INTO devfactory_audit (run_id, seq, key, kind, actor, at, body,"
                " prev_hash, hash) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (run_id, seq, key, kind, actor, at, body, prev_hash, digest),
            )
        return AuditEvent(run_id, seq, key, kind, actor, at, body, prev_hash, digest)

    def _saw(self, run_id: str, seq: int, link: str) -> None:
        """Remember ``(seq, link)``, just appended, as ``run_id``'s head.

        Another thread's append may have gone past it already; the next append
        after it then finds its seq taken and takes the locked way.
        """
        with self._heads_lock:
            self._heads[run_id] = (seq, link)
            self._heads.move_to_end(run_id)
            while len(self._heads) > _HEADS_KEPT:
                self._heads.popitem(last=False)

    def events(self, run_id: str) -> list[AuditEvent]:
        """Return ``run_id``'s events in chain order."""
        rows = fetch_all(
            self.pool,
            "SELECT run_id, seq, key, kind, actor, at, body, prev_hash, hash"
            " FROM devfactory_audit WHERE run_id = %s ORDER BY seq",
            (run_id,),
        )
        return [AuditEvent(**row) for row in rows]

    def verify(self, run_id: str) -> Verification:
        """Recompute ``run_id``'s chain, check it reaches its anchor; name what does not hold."""
        prev, count, links = GENESIS, 0, {}
        for count, event in enumerate(self.events(run_id), start=1):
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
                self.key,
                prev,
                event.run_id,
                event.seq,
                event.kind,
                event.actor,
                event.at,
                event.body,
            )
            if not hmac.compare_digest(expected, event.hash):
                return Verification(
                    run_id, count, event.seq, "content does not match its hash (row altered)"
                )
            prev, links[event.seq] = event.hash, event.hash
        anchor = self.anchors.head(run_id)
        if anchor is None:
            if count:
                return Verification(
                    run_id, count, 1, "the chain has no anchor outside the database"
                )
            return Verification(run_id, 0)
        if count < anchor.seq:
            return Verification(
                run_id,
                count,
                count + 1,
                f"events were removed: the log ends at event {count} but its anchor "
                f"records {anchor.seq}",
            )
        if links[anchor.seq] != anchor.hash:
            return Verification(
                run_id,
                count,
                anchor.seq,
                f"event {anchor.seq} differs from its anchor: the chain was rewritten",
            )
        return Verification(run_id, count)

    def search(self, query: str, *, run_id: str | None = None, limit: int = 20) -> list[SearchHit]:
        """Full-text search over every event (web-search syntax: words, "phrases", -not)."""
        rows = fetch_all(
            self.pool,
            "SELECT run_id, seq, kind, actor, at, ts_headline('english', body, q,"
            " 'MaxWords=18, MinWords=6, StartSel=«, StopSel=»') AS snippet"
            " FROM devfactory_audit, websearch_to_tsquery('english', %s) AS q"
            " WHERE search @@ q AND (%s::text IS NULL OR run_id = %s)"
            " ORDER BY ts_rank(search, q) DESC, at DESC LIMIT %s",
            (query, run_id, run_id, limit),
        )
        return [SearchHit(**cast(dict[str, Any], r)) for r in rows]
