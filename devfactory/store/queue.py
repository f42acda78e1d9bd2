"""The run queue: runs that wait for a worker, claimed with ``FOR UPDATE SKIP LOCKED``.

Why not a queue library (procrastinate, pgqueuer): a run is not a job that
runs once to an end. It pauses for people for days, is answered, resumed,
cancelled; who drives it is already a lease on its row (``store/lease.py``),
renewed while it works and taken over by compare-and-set. A library's job
row would be a second record of the same thing that could disagree with the
first. So the queue is three columns of ``devfactory_runs`` (``queued_at``,
``inbox``, ``crashes``) and one claim query; ``NOTIFY devfactory_queue`` wakes
idle workers at once, and they poll as well in case a notice is lost.

The watchdog (``worker.py``) runs in one worker at a time (a Postgres
advisory lock elects it) and calls ``sweep``: a worker-driven run whose lease
ran out is queued again, and one that crashed too often fails with the reason.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool
from pydantic import JsonValue

from devfactory.control.lifecycle import TERMINAL, Phase
from devfactory.redact import redact
from devfactory.store import views
from devfactory.store.controls import HaltedError
from devfactory.store.rows import execute, fetch_all, fetch_one
from devfactory.store.runs_table import ROW_QUERY, RunRow

CHANNEL = "devfactory_queue"
WATCHDOG_LOCK = "devfactory:watchdog"  # hashed into the advisory lock's key
_ENDED = [p.value for p in TERMINAL]


@dataclass(frozen=True)
class Swept:
    """What one watchdog sweep did: runs queued again, failed (with the reason), answered."""

    requeued: tuple[str, ...] = ()
    failed: tuple[tuple[str, str], ...] = ()
    expired: tuple[str, ...] = ()  # runs whose pause expired and was answered by policy
    archived: tuple[str, ...] = ()  # finished runs past retention_days


class RunQueue:
    """Queue runs for the workers, claim them, and requeue the ones whose driver died."""

    def __init__(self, pool: ConnectionPool) -> None:
        self.pool = pool

    def submit(
        self,
        run_id: str,
        requirement: str,
        pipeline: str,
        out_dir: str,
        project: str,
        owner: str,
        inbox: Mapping[str, JsonValue],
        *,
        hold: str,
        lease_s: float,
    ) -> None:
        """Insert a new DRAFT run for the workers, held by ``hold`` until ``publish``.

        The hold lets the submitter record the run's creation before any worker
        can take it, so a run's records always begin with its creation. While the
        emergency stop holds, the run is refused (``HaltedError``, with who and why).
        """
        with self.pool.connection() as conn, conn.transaction():
            stop = conn.execute(
                "SELECT held_by, reason FROM devfactory_controls WHERE kind = 'stop'"
            ).fetchone()
            if stop is not None:
                held = cast(dict[str, Any], stop)
                raise HaltedError(
                    f"the factory is stopped (the emergency stop held by {held['held_by']}: "
                    f"{held['reason']}); nothing new starts until an admin releases it "
                    "(devfactory release)"
                )
            conn.execute(
                "INSERT INTO devfactory_runs (run_id, requirement, pipeline, status, out_dir,"
                " project, owner, mode, inbox, driver, lease_until) VALUES (%s, %s, %s, %s, %s,"
                " %s, %s, 'worker', %s, %s, now() + make_interval(secs => %s))",
                (
                    run_id,
                    redact(requirement),
                    pipeline,
                    Phase.DRAFT,
                    out_dir,
                    project,
                    owner,
                    Jsonb(inbox),
                    hold,
                    lease_s,
                ),
            )
            views.create(conn, run_id)

    def publish(self, run_id: str, hold: str) -> bool:
        """Hand a run ``submit`` held to the workers, and wake them."""
        with self.pool.connection() as conn, conn.transaction():
            queued = conn.execute(
                "UPDATE devfactory_runs SET driver = NULL, lease_until = NULL, queued_at = now(),"
                " updated_at = now() WHERE run_id = %s AND driver = %s",
                (run_id, hold),
            ).rowcount
            conn.execute(f"NOTIFY {CHANNEL}")
        return queued == 1

    def enqueue(self, row: RunRow) -> bool:
        """Queue a working run whose driver is gone (``row`` as the caller saw it).

        One compare-and-set: False when the run moved on since (another process
        claimed, queued or ended it).
        """
        if not row.driver_gone or row.status in TERMINAL or row.status == Phase.PAUSED:
            return False
        return self._requeue(row, crashed=False)

    def _requeue(self, row: RunRow, *, crashed: bool) -> bool:
        """Queue ``row`` again for the workers if it is still as seen; count a crash or not."""
        return self._queue_again(
            "UPDATE devfactory_runs SET queued_at = now(), mode = 'worker', crashes ="
            " crashes + %s, driver = NULL, lease_until = NULL, pid = NULL, updated_at ="
            " now() WHERE run_id = %s AND driver IS NOT DISTINCT FROM %s AND queued_at IS"
            " NULL AND status = %s",
            (int(crashed), row.run_id, row.driver, row.status),
        )

    def _queue_again(self, update: str, params: tuple[Any, ...]) -> bool:
        """Run ``update``, a compare-and-set that queues one run; wake the workers if it did."""
        with self.pool.connection() as conn, conn.transaction():
            moved = conn.execute(update, params).rowcount
            if moved:
                conn.execute(f"NOTIFY {CHANNEL}")
        return moved == 1

    def claim(self, driver: str, lease_s: float) -> RunRow | None:
        """Take the oldest queued run nobody drives for ``driver``; None when none waits.

        ``SKIP LOCKED`` lets workers claim at once without waiting on each
        other's rows; the conditions are checked again under the row lock, so
        two workers never take the same run. Nothing is claimed while the
        emergency stop holds, nor a run whose project is on hold
        (``devfactory_controls``).
        """
        with self.pool.connection() as conn, conn.transaction():
            row = conn.execute(
                "UPDATE devfactory_runs SET driver = %s, lease_until = now() +"
                " make_interval(secs => %s), pid = %s, host = %s, queued_at = NULL,"
                " updated_at = now() WHERE run_id = (SELECT run_id FROM devfactory_runs"
                " WHERE queued_at IS NOT NULL AND queued_at <= now() AND status <> ALL(%s)"
                " AND status <> 'PAUSED'"
                " AND (driver IS NULL OR lease_until IS NULL OR lease_until < now())"
                " AND NOT EXISTS (SELECT 1 FROM devfactory_controls c WHERE c.kind = 'stop'"
                " OR (c.kind = 'project' AND c.target = devfactory_runs.project))"
                " ORDER BY queued_at, created_at FOR UPDATE SKIP LOCKED LIMIT 1)"
                " RETURNING run_id",
                (driver, lease_s, os.getpid(), socket.gethostname(), _ENDED),
            ).fetchone()
            if row is None:
                return None
            run_id = cast(dict[str, Any], row)["run_id"]
            got = conn.execute(f"{ROW_QUERY} WHERE run_id = %s", (run_id,)).fetchone()
        return RunRow(**cast(dict[str, Any], got))

    def depth(self) -> int:
        """Count the runs waiting for a worker."""
        row = fetch_one(
            self.pool,
            "SELECT count(*) AS n FROM devfactory_runs WHERE queued_at IS NOT NULL"
            " AND status <> ALL(%s) AND status <> 'PAUSED'",
            (_ENDED,),
        )
        return int(cast(dict[str, Any], row)["n"])

    def request_cancel(self, run_id: str, by: str) -> RunRow | None:
        """Mark a run to stop (its driver stops at the next step boundary); None if it ended."""
        with self.pool.connection() as conn:
            conn.execute(
                "UPDATE devfactory_runs SET cancel_by = coalesce(cancel_by, %s), updated_at ="
                " now() WHERE run_id = %s AND status <> ALL(%s)",
                (by, run_id, _ENDED),
            )
            got = conn.execute(f"{ROW_QUERY} WHERE run_id = %s", (run_id,)).fetchone()
        return RunRow(**cast(dict[str, Any], got)) if got else None

    def cancel_requested(self, run_id: str) -> str | None:
        """Return who asked the run to stop, or None."""
        row = fetch_one(
            self.pool, "SELECT cancel_by FROM devfactory_runs WHERE run_id = %s", (run_id,)
        )
        return row["cancel_by"] if row else None

    def orphans(self) -> list[RunRow]:
        """Return the worker-driven runs that are working but nobody drives or will (lease out)."""
        rows = fetch_all(
            self.pool,
            f"{ROW_QUERY} WHERE mode = 'worker' AND queued_at IS NULL AND status <> ALL(%s)"
            " AND status <> 'PAUSED' AND (driver IS NULL OR lease_until IS NULL OR"
            " lease_until < now()) ORDER BY updated_at",
            (_ENDED,),
        )
        return [RunRow(**r) for r in rows]

    def requeue_crashed(self, row: RunRow) -> bool:
        """Queue an orphaned run again, counting the crash; False if another process moved it."""
        return self._requeue(row, crashed=True)

    def requeue_mine(
        self,
        run_id: str,
        driver: str,
        *,
        inbox: Mapping[str, JsonValue] | None = None,
        wait_s: float = 0.0,
    ) -> bool:
        """Hand a run this process stops driving back to the queue (with ``inbox``, if given).

        A worker shutting down does, and a drive the operator's controls halt
        (the first input of a run that never took a step goes in its inbox).
        ``wait_s``: no worker claims it before that many seconds have passed (a
        run whose clone found every slot taken); the runs behind it go first.
        """
        return self._queue_again(
            "UPDATE devfactory_runs SET queued_at = now() + make_interval(secs => %s),"
            " driver = NULL, lease_until = NULL, pid = NULL, inbox = coalesce(%s, inbox),"
            " updated_at = now() WHERE run_id = %s AND driver = %s AND status <> ALL(%s)"
            " AND status <> 'PAUSED'",
            (wait_s, Jsonb(inbox) if inbox is not None else None, run_id, driver, _ENDED),
        )

    def cloned(self, run_id: str, driver: str, first_input: Mapping[str, JsonValue]) -> bool:
        """Replace a claimed run's clone order by its first input, now that its clone is made.

        A drive that dies after this starts from the clone already in the run's
        folder; one that died before it clones again. False: not this driver's run.
        """
        moved = execute(
            self.pool,
            "UPDATE devfactory_runs SET inbox = (coalesce(inbox, '{}'::jsonb) - 'clone')"
            " || jsonb_build_object('start', %s::jsonb), updated_at = now()"
            " WHERE run_id = %s AND driver = %s",
            (Jsonb(first_input), run_id, driver),
        )
        return moved == 1

    def expired_pauses(self, older_than_s: float) -> list[tuple[RunRow, datetime]]:
        """Return the paused runs that have waited longer than ``older_than_s``, and since when.

        Each request has its own deadline (its approval rule's, ``Pause.deadline_s``);
        ``older_than_s`` is the shortest one in force, and the watchdog compares each
        request's own with the time its run paused, given here.
        """
        rows = fetch_all(
            self.pool,
            f"SELECT * FROM ({ROW_QUERY} r WHERE status = 'PAUSED') r, LATERAL (SELECT"
            " max(at) AS paused_at FROM devfactory_transitions t WHERE t.run_id = r.run_id"
            " AND t.to_phase = 'PAUSED') p WHERE p.paused_at < now() -"
            " make_interval(secs => %s) ORDER BY r.updated_at",
            (older_than_s,),
        )
        found = []
        for r in rows:
            kept = dict(cast(dict[str, Any], r))
            paused_at = kept.pop("paused_at")
            found.append((RunRow(**kept), paused_at))
        return found

    def archive_finished(self, older_than_days: float) -> list[str]:
        """Archive the runs that ended more than ``older_than_days`` ago; return their ids."""
        rows = fetch_all(
            self.pool,
            "UPDATE devfactory_runs SET archived_at = now() WHERE archived_at IS NULL AND"
            " status = ANY(%s) AND updated_at < now() - make_interval(secs => %s)"
            " RETURNING run_id",
            (_ENDED, older_than_days * 86400),
        )
        return [r["run_id"] for r in rows]

    def mark_purged(self, run_id: str) -> bool:
        """Record that an archived run was purged; False if it was not archived (or purged)."""
        with self.pool.connection() as conn, conn.transaction():
            done = conn.execute(
                "UPDATE devfactory_runs SET purged_at = now() WHERE run_id = %s AND"
                " archived_at IS NOT NULL AND purged_at IS NULL",
                (run_id,),
            ).rowcount
            conn.execute("DELETE FROM devfactory_events WHERE run_id = %s", (run_id,))
            if done == 1:
                views.forget(conn, run_id)
        return done == 1
