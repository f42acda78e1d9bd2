"""Incidents and the facts their triggers compare with, in Postgres.

``devfactory_incident_facts`` gets a row per finished stage (its spend, model
seconds and calls) and per finished run whose final tests ran (whether they
failed): the medians and the streak are read from the newest rows of the
project. ``devfactory_incidents`` holds each incident from its opening to the
decision that ended it; a decision is a compare-and-set on ``open``, so two
people never both decide one incident.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool
from pydantic import BaseModel

from devfactory.control.incidents import IncidentStatus, StageFact
from devfactory.redact import redact, redact_data
from devfactory.store.rows import execute, fetch_all, fetch_one


class Incident(BaseModel):
    """One incident: what fired, where, what it found, and the decision that ended it."""

    id: int
    project: str
    run_id: str
    trigger: str
    summary: str
    last_actions: list[dict[str, Any]]
    spend: dict[str, Any]
    status: IncidentStatus
    opened_at: datetime
    decided_by: str | None = None
    decision: str = ""
    decided_at: datetime | None = None


_COLUMNS = (
    "id, project, run_id, trigger, summary, last_actions, spend, status, opened_at,"
    " decided_by, decision, decided_at"
)


class IncidentStore:
    """Read and write incidents and their facts."""

    def __init__(self, pool: ConnectionPool) -> None:
        self.pool = pool

    def add_stage(self, project: str, run_id: str, fact: StageFact, *, key: str) -> bool:
        """Keep what a finished stage spent; False when ``key`` was kept already."""
        added = execute(
            self.pool,
            "INSERT INTO devfactory_incident_facts (project, run_id, kind, key, team,"
            " tokens, cost_usd, seconds, calls) VALUES (%s, %s, 'stage', %s, %s, %s, %s,"
            " %s, %s) ON CONFLICT (key) DO NOTHING",
            (project, run_id, key, fact.team, fact.tokens, fact.cost_usd, fact.seconds, fact.calls),
        )
        return added == 1

    def recent_stages(self, project: str, team: str, limit: int) -> list[StageFact]:
        """Return the newest ``limit`` stage facts of ``team`` in ``project``, newest first."""
        rows = fetch_all(
            self.pool,
            "SELECT team, tokens, cost_usd, seconds, calls FROM devfactory_incident_facts"
            " WHERE project = %s AND kind = 'stage' AND team = %s ORDER BY id DESC LIMIT %s",
            (project, team, limit),
        )
        return [StageFact.model_validate(r) for r in rows]

    def add_run(self, project: str, run_id: str, *, tests_failed: bool) -> bool:
        """Keep whether a finished run's final tests failed; False when it was kept already."""
        added = execute(
            self.pool,
            "INSERT INTO devfactory_incident_facts (project, run_id, kind, key, tests_failed)"
            " VALUES (%s, %s, 'run', %s, %s) ON CONFLICT (key) DO NOTHING",
            (project, run_id, f"run:{run_id}", tests_failed),
        )
        return added == 1

    def recent_runs(self, project: str, limit: int) -> list[bool]:
        """Return whether each of the project's newest ``limit`` runs failed its tests."""
        rows = fetch_all(
            self.pool,
            "SELECT tests_failed FROM devfactory_incident_facts WHERE project = %s AND"
            " kind = 'run' ORDER BY id DESC LIMIT %s",
            (project, limit),
        )
        return [bool(r["tests_failed"]) for r in rows]

    def open(
        self,
        project: str,
        run_id: str,
        trigger: str,
        summary: str,
        *,
        last_actions: list[dict[str, Any]],
        spend: dict[str, Any],
    ) -> Incident:
        """Record a new open incident and return it."""
        row = fetch_one(
            self.pool,
            "INSERT INTO devfactory_incidents (project, run_id, trigger, summary,"
            f" last_actions, spend) VALUES (%s, %s, %s, %s, %s, %s) RETURNING {_COLUMNS}",
            (
                project,
                run_id,
                trigger,
                redact(summary)[:2000],
                Jsonb(redact_data(last_actions)),
                Jsonb(spend),
            ),
        )
        return Incident.model_validate(dict(cast(dict[str, Any], row)))

    def open_for(self, project: str) -> list[Incident]:
        """Return the project's open incidents, oldest first."""
        rows = fetch_all(
            self.pool,
            f"SELECT {_COLUMNS} FROM devfactory_incidents WHERE project = %s AND"
            " status = 'open' ORDER BY id",
            (project,),
        )
        return [Incident.model_validate(r) for r in rows]

    def get(self, ident: int) -> Incident | None:
        """Return one incident, or None."""
        row = fetch_one(
            self.pool, f"SELECT {_COLUMNS} FROM devfactory_incidents WHERE id = %s", (ident,)
        )
        return Incident.model_validate(row) if row else None

    def every(
        self,
        *,
        status: IncidentStatus | None = None,
        limit: int = 50,
        owners: tuple[str, ...] | None = None,
    ) -> list[Incident]:
        """Return the newest incidents first (only those in ``status`` when given).

        ``owners``: only the incidents of runs these people started (None: every
        incident), filtered before the limit, so a page is never short of them.
        """
        seen = None if owners is None else list(owners)
        rows = fetch_all(
            self.pool,
            f"SELECT {_COLUMNS} FROM devfactory_incidents WHERE (%s::text IS NULL OR"
            " status = %s) AND (%s::text[] IS NULL OR run_id IN (SELECT run_id FROM"
            " devfactory_runs WHERE owner = ANY(%s::text[]))) ORDER BY id DESC LIMIT %s",
            (status, status, seen, seen or [], limit),
        )
        return [Incident.model_validate(r) for r in rows]

    def decide(
        self, ident: int, status: IncidentStatus, *, by: str, decision: str
    ) -> Incident | None:
        """End an open incident with ``status``; None when it was not open (any more)."""
        row = fetch_one(
            self.pool,
            "UPDATE devfactory_incidents SET status = %s, decided_by = %s, decision = %s,"
            f" decided_at = now() WHERE id = %s AND status = 'open' RETURNING {_COLUMNS}",
            (status, by, redact(decision)[:2000], ident),
        )
        return Incident.model_validate(row) if row else None
