"""Model health snapshots shared between processes: ``devfactory_model_health``.

Workers, the chat and a CLI run call the models, and each keeps its own
``HealthBook``; the API and ``devfactory models`` call none. Each calling
process writes its snapshot here (one row per label, keyed by ``host:pid``), and
readers merge the fresh rows of every process, label by label: the worst
breaker and standing, the lowest score, the counts added up, the newest
latency and error. A process that stopped writing drops out after
``health_fresh_s``; its rows are deleted at ten times that.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from datetime import datetime
from typing import Any, cast

import psycopg
from psycopg_pool import ConnectionPool, PoolTimeout

from devfactory.models.health import HealthPublisher, ProviderHealth
from devfactory.redact import redact
from devfactory.settings import Settings

log = logging.getLogger(__name__)
_BREAKERS = ("closed", "half_open", "open")  # worst last
_STANDINGS = ("healthy", "degraded", "blocked")


def this_process() -> str:
    """Name the writing process: ``host:pid``."""
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass(frozen=True)
class ModelHealth:
    """One model's health merged over the processes that call it."""

    label: str
    breaker: str
    standing: str
    score: float
    calls: int
    errors: int
    timeouts: int
    failures: int
    p50_ms: int | None
    retry_in_s: float | None
    last_error: str
    processes: int
    at: datetime

    def as_dict(self) -> dict[str, Any]:
        """Return the values as JSON-ready data."""
        return {**asdict(self), "score": round(self.score, 4), "at": self.at.isoformat()}


# A snapshot's columns: what a merged health says but for what the merge adds
_COLUMNS = tuple(f.name for f in fields(ModelHealth) if f.name not in ("processes", "at"))


def _merge(label: str, rows: list[dict[str, Any]], now: datetime) -> ModelHealth:
    """Merge one label's rows (newest first) into what a reader is shown."""
    newest = rows[0]
    retries = [
        max(0.0, float(r["retry_in_s"]) - (now - r["at"]).total_seconds())
        for r in rows
        if r["breaker"] == "open" and r["retry_in_s"] is not None
    ]
    return ModelHealth(
        label=label,
        breaker=max((r["breaker"] for r in rows), key=_BREAKERS.index),
        standing=max((r["standing"] for r in rows), key=_STANDINGS.index),
        score=min(float(r["score"]) for r in rows),
        calls=sum(int(r["calls"]) for r in rows),
        errors=sum(int(r["errors"]) for r in rows),
        timeouts=sum(int(r["timeouts"]) for r in rows),
        failures=max(int(r["failures"]) for r in rows),
        p50_ms=next((int(r["p50_ms"]) for r in rows if r["p50_ms"] is not None), None),
        retry_in_s=round(max(retries), 1) if retries else None,
        last_error=next((str(r["last_error"]) for r in rows if r["last_error"]), ""),
        processes=len(rows),
        at=newest["at"],
    )


class HealthStore:
    """Write a process's model health and read every process's, in Postgres."""

    def __init__(self, pool: ConnectionPool, *, source: str | None = None) -> None:
        self.pool = pool
        self.source = source or this_process()

    def write(self, rows: Sequence[dict[str, Any]], keep_s: float) -> None:
        """Replace this process's snapshot with ``rows``; delete rows older than ``keep_s``.

        Each row carries ``_COLUMNS`` (``ProviderHealth.as_row``).
        """
        with self.pool.connection() as conn, conn.transaction():
            for row in rows:
                values = [row[c] for c in _COLUMNS]
                conn.execute(
                    "INSERT INTO devfactory_model_health (source, " + ", ".join(_COLUMNS) + ")"
                    " VALUES (%s" + ", %s" * len(_COLUMNS) + ")"
                    " ON CONFLICT (source, label) DO UPDATE SET "
                    + ", ".join(f"{c} = EXCLUDED.{c}" for c in _COLUMNS[1:])
                    + ", at = now()",
                    (self.source, *values),
                )
            conn.execute(
                "DELETE FROM devfactory_model_health WHERE at < now() - make_interval(secs => %s)",
                (keep_s,),
            )

    def read(self, fresh_s: float) -> dict[str, ModelHealth]:
        """Return each model's health merged over the snapshots written in the last ``fresh_s``."""
        with self.pool.connection() as conn:
            now = cast(dict[str, Any], conn.execute("SELECT now() AS now").fetchone())["now"]
            rows = conn.execute(
                "SELECT * FROM devfactory_model_health"
                " WHERE at >= now() - make_interval(secs => %s) ORDER BY label, at DESC",
                (fresh_s,),
            ).fetchall()
        by_label: dict[str, list[dict[str, Any]]] = {}
        for row in rows:
            data = cast(dict[str, Any], row)
            by_label.setdefault(str(data["label"]), []).append(data)
        return {label: _merge(label, group, now) for label, group in by_label.items()}


def publish_health(
    settings: Settings, models: object, pool: ConnectionPool
) -> HealthPublisher | None:
    """Write the router's health here from now on, throttled; None when no router serves.

    A scripted ``models_factory`` source makes no provider calls, so nothing is written.
    """
    from devfactory.models.router import ModelRouter  # here: the store stays light to import

    if not isinstance(models, ModelRouter):
        return None
    store = HealthStore(pool)
    keep_s = settings.serving.health_fresh_s * 10

    def sink(snapshot: list[ProviderHealth]) -> None:
        store.write([health.as_row() for health in snapshot], keep_s)

    return HealthPublisher(models.health, sink, settings.serving.health_snapshot_s)


def read_health(pool: ConnectionPool, fresh_s: float) -> dict[str, dict[str, Any]]:
    """Return each model's merged health as JSON-ready data; empty when the database fails.

    For pages that show health beside other things (the console's settings):
    a database that does not answer leaves the health out with a log line.
    """
    try:
        found = HealthStore(pool).read(fresh_s)
    except (psycopg.Error, PoolTimeout) as exc:
        log.warning("model health not read: %s", redact(str(exc))[:200])
        return {}
    return {label: health.as_dict() for label, health in found.items()}
