"""The operator's controls in Postgres: the emergency stop, held teams and projects, thresholds.

A row of ``devfactory_controls`` exists while it holds; releasing deletes it
(the audit log keeps the history, ``factory/switchboard.py`` appends to it). Every
driving process reads all of it in one small query at each step boundary;
``CachedControls`` lets a process reuse what it read for under a second.
"""

from __future__ import annotations

import threading
import time
from typing import Any, cast

from psycopg_pool import ConnectionPool

from devfactory.control.overrides import Hold, HoldKind, Overrides
from devfactory.redact import redact
from devfactory.store.rows import fetch_all, fetch_one
from devfactory.store.runs_table import RunBusyError

_READ = (
    "SELECT kind, target, held_by, reason, incident, at, NULL::double precision AS confidence"
    " FROM devfactory_controls UNION ALL SELECT 'threshold', team, set_by, '', NULL, at,"
    " confidence FROM devfactory_thresholds"
)


class HaltedError(RunBusyError):
    """The emergency stop, or a hold on the run's project, refuses this now (with why)."""


def _hold(row: dict[str, Any]) -> Hold:
    return Hold(
        kind=row["kind"],
        target=row["target"],
        by=row["held_by"],
        reason=row["reason"],
        at=row["at"],
        incident=row["incident"],
    )


class Controls:
    """Read and change ``devfactory_controls`` and ``devfactory_thresholds``."""

    def __init__(self, pool: ConnectionPool) -> None:
        self.pool = pool

    def read(self) -> Overrides:
        """Return every control that holds now and every threshold set, in one query."""
        rows = fetch_all(self.pool, _READ)
        stop: Hold | None = None
        teams: dict[str, Hold] = {}
        projects: dict[str, Hold] = {}
        thresholds: dict[str, float] = {}
        for row in rows:
            if row["kind"] == "threshold":
                thresholds[row["target"]] = float(row["confidence"])
            elif row["kind"] == "stop":
                stop = _hold(row)
            elif row["kind"] == "team":
                teams[row["target"]] = _hold(row)
            else:
                projects[row["target"]] = _hold(row)
        return Overrides(stop, teams, projects, thresholds)

    def hold(
        self, kind: HoldKind, target: str, *, by: str, reason: str, incident: int | None = None
    ) -> Hold | None:
        """Hold ``target`` (the stop: ""); None when it was held already (the first hold stays)."""
        row = fetch_one(
            self.pool,
            "INSERT INTO devfactory_controls (kind, target, held_by, reason, incident)"
            " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (kind, target) DO NOTHING"
            " RETURNING kind, target, held_by, reason, incident, at",
            (kind, target, by, redact(reason)[:2000], incident),
        )
        return _hold(row) if row else None

    def release(self, kind: HoldKind, target: str, *, only_incident: bool = False) -> Hold | None:
        """Stop holding ``target``; return what held (None: nothing did).

        With ``only_incident``, only a hold an incident set is released: a project
        an admin paused by hand stays paused when its incidents are decided.
        """
        row = fetch_one(
            self.pool,
            "DELETE FROM devfactory_controls WHERE kind = %s AND target = %s AND"
            " (NOT %s OR incident IS NOT NULL)"
            " RETURNING kind, target, held_by, reason, incident, at",
            (kind, target, only_incident),
        )
        return _hold(row) if row else None

    def set_threshold(self, team: str, confidence: float | None, *, by: str) -> float | None:
        """Set ``team``'s confidence threshold (None: back to its team.yaml's); return the old."""
        with self.pool.connection() as conn, conn.transaction():
            old = conn.execute(
                "SELECT confidence FROM devfactory_thresholds WHERE team = %s FOR UPDATE", (team,)
            ).fetchone()
            if confidence is None:
                conn.execute("DELETE FROM devfactory_thresholds WHERE team = %s", (team,))
            else:
                conn.execute(
                    "INSERT INTO devfactory_thresholds (team, confidence, set_by) VALUES"
                    " (%s, %s, %s) ON CONFLICT (team) DO UPDATE SET confidence ="
                    " excluded.confidence, set_by = excluded.set_by, at = now()",
                    (team, confidence, by),
                )
        return float(cast(dict[str, Any], old)["confidence"]) if old else None


class CachedControls:
    """``Controls.read`` kept for ``ttl_s`` seconds: one query per step boundary at most.

    Shared by the drives of one process; 0 reads every time.
    """

    def __init__(self, controls: Controls, ttl_s: float) -> None:
        self.controls, self.ttl_s = controls, ttl_s
        self._lock = threading.Lock()
        self._kept: tuple[float, Overrides] | None = None

    def __call__(self) -> Overrides:
        """Return the controls, read again when the kept copy is older than ``ttl_s``."""
        with self._lock:
            now = time.monotonic()
            if self._kept is not None and now - self._kept[0] < self.ttl_s:
                return self._kept[1]
        read = self.controls.read()
        with self._lock:
            self._kept = (time.monotonic(), read)
        return read

    def forget(self) -> None:
        """Drop the kept copy (this process just changed a control)."""
        with self._lock:
            self._kept = None
