"""What a run's readers are shown, kept beside its row: the runs' projection.

``GET /runs/{id}``, ``GET /pending``, ``devfactory status`` and ``pending`` read
a run's stages, spend, build checks and the questions it waits on from here,
with one keyed query, instead of reading and decoding its latest checkpoint on
every request. The run's recorder keeps it (``factory/recorder.py``): the part of the
graph's state that is shown after every step of a drive, and all of it when a
drive stops. The questions a paused run waits on are written in the same
transaction as the run's ``pending`` ids (``store/runs_table.py``), so they appear
exactly when the run is PAUSED and go when an answer is taken or the run ends.

A run recorded before this table existed has no view: its readers build one
from its checkpoint once (``Queries.view``) and keep it with ``repair``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any, Final, cast

from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool
from pydantic_core import to_jsonable_python

from devfactory.store.rows import execute, fetch_all, fetch_one

HIDDEN: Final = frozenset({"prior", "kept_stages", "build_plan"})
"""Keys of a run's state its readers never show: copies of a round's files, and the plan
its teams build to. They stay in the checkpoint; every other key is kept in the view."""

_dumps = partial(json.dumps, default=str)  # a value JSON cannot hold never stops a drive


def shown(values: Mapping[str, Any]) -> dict[str, Any]:
    """Return the part of a run's state that its readers show (all but ``HIDDEN``).

    A key LangGraph adds to what it streams (``__interrupt__``) is not state: left out.
    The state's models are kept as their JSON dumps, as readers have always read them.
    """
    kept = {k: v for k, v in values.items() if k not in HIDDEN and not k.startswith("__")}
    return cast(dict[str, Any], to_jsonable_python(kept, by_alias=False, fallback=str))


def jsonb(value: Any) -> Jsonb:
    """Wrap ``value`` for a jsonb column (what JSON cannot hold is kept as its text)."""
    return Jsonb(value, dumps=_dumps)


@dataclass(frozen=True)
class RunView:
    """One run as its readers see it.

    ``values``: the shown part of its state (all but ``HIDDEN``). ``pending``: the
    questions it waits on, each ``{"id": <interrupt id>, "pause": <Pause>}``.
    ``next``: the graph's next nodes when its last drive stopped.
    """

    values: dict[str, Any] = field(default_factory=dict)
    pending: list[dict[str, Any]] = field(default_factory=list)
    next: list[str] = field(default_factory=list)


Detail = tuple[dict[str, Any], RunView | None, list[dict[str, Any]]]
"""A run's row (``RunRow``'s fields), its view (None: it has none yet) and its transitions."""

_VIEW_COLUMNS: Final = ("view_kept", "view_state", "view_pending", "view_next")


class RunViews:
    """Read and write the runs' projection (``devfactory_run_views``)."""

    def __init__(self, pool: ConnectionPool) -> None:
        self.pool = pool

    def get(self, run_id: str) -> RunView | None:
        """Return the run's view, or None when it has none (recorded before views existed)."""
        row = fetch_one(
            self.pool,
            "SELECT state, pending, next FROM devfactory_run_views WHERE run_id = %s",
            (run_id,),
        )
        if row is None:
            return None
        return RunView(row["state"], row["pending"], list(row["next"]))

    def read(self, run_id: str) -> Detail | None:
        """Return a run's row, its view and its transitions in one query (None: no such run).

        What ``GET /runs/{id}`` shows, read at once: the row as ``store.runs_table.ROW_QUERY``
        gives it, the view (None when the run has none yet) and the transitions in order.
        """
        found = fetch_one(
            self.pool,
            "SELECT r.*, (r.lease_until IS NOT NULL AND r.lease_until > now()) AS leased,"
            " v.run_id IS NOT NULL AS view_kept, v.state AS view_state,"
            " v.pending AS view_pending, v.next AS view_next, (SELECT coalesce(json_agg("
            "json_build_object('seq', t.id, 'from_phase', t.from_phase, 'to_phase',"
            " t.to_phase, 'actor', t.actor, 'reason', t.reason, 'at', t.at) ORDER BY t.id),"
            " '[]') FROM devfactory_transitions t WHERE t.run_id = r.run_id) AS view_moves"
            " FROM devfactory_runs r LEFT JOIN devfactory_run_views v USING (run_id)"
            " WHERE r.run_id = %s",
            (run_id,),
        )
        if found is None:
            return None
        row = dict(cast(dict[str, Any], found))
        kept, state, pending, nxt = (row.pop(k) for k in _VIEW_COLUMNS)
        moves = row.pop("view_moves")
        view = RunView(state, pending, list(nxt)) if kept else None
        return row, view, moves

    def show(self, run_id: str, values: Mapping[str, Any]) -> None:
        """Keep the shown part of the run's state (``values`` is that part already)."""
        execute(
            self.pool,
            "INSERT INTO devfactory_run_views (run_id, state) VALUES (%s, %s)"
            " ON CONFLICT (run_id) DO UPDATE SET state = EXCLUDED.state, updated_at = now()",
            (run_id, jsonb(dict(values))),
        )

    def next(self, run_id: str, nodes: Sequence[str]) -> None:
        """Keep the nodes the run's graph runs now: where a resume would start."""
        execute(
            self.pool,
            "UPDATE devfactory_run_views SET next = %s, updated_at = now() WHERE run_id = %s",
            (list(nodes), run_id),
        )

    def repair(self, run_id: str, view: RunView) -> None:
        """Keep a view built from the run's checkpoint, unless its recorder wrote one first."""
        execute(
            self.pool,
            "INSERT INTO devfactory_run_views (run_id, state, pending, next)"
            " SELECT %s, %s, %s, %s WHERE EXISTS"
            " (SELECT 1 FROM devfactory_runs WHERE run_id = %s)"
            " ON CONFLICT (run_id) DO NOTHING",
            (run_id, jsonb(view.values), jsonb(view.pending), list(view.next), run_id),
        )

    def waiting(self, limit: int) -> list[tuple[str, list[dict[str, Any]] | None]]:
        """Return the paused runs, newest first, each with its questions (None: it has no view)."""
        return [(run_id, asked) for run_id, asked, _ in self.waiting_since(limit)]

    def waiting_since(
        self, limit: int
    ) -> list[tuple[str, list[dict[str, Any]] | None, datetime | None]]:
        """Return ``waiting``'s runs, each also with when it paused (its requests' deadlines)."""
        rows = fetch_all(
            self.pool,
            "SELECT r.run_id, v.pending, (SELECT max(t.at) FROM devfactory_transitions t"
            " WHERE t.run_id = r.run_id AND t.to_phase = 'PAUSED') AS paused_at"
            " FROM devfactory_runs r LEFT JOIN devfactory_run_views v USING (run_id)"
            " WHERE r.status = 'PAUSED' ORDER BY r.created_at DESC LIMIT %s",
            (limit,),
        )
        return [
            (r["run_id"], r["pending"], r["paused_at"]) for r in cast(list[dict[str, Any]], rows)
        ]


def create(conn: Any, run_id: str) -> None:
    """Give a new run its (empty) view, inside the transaction that creates its row."""
    conn.execute("INSERT INTO devfactory_run_views (run_id) VALUES (%s)", (run_id,))


def ask(conn: Any, run_id: str, questions: Sequence[Mapping[str, Any]]) -> None:
    """Keep the questions the run waits on, inside the transaction that sets its ids."""
    conn.execute(
        "INSERT INTO devfactory_run_views (run_id, pending) VALUES (%s, %s)"
        " ON CONFLICT (run_id) DO UPDATE SET pending = EXCLUDED.pending, updated_at = now()",
        (run_id, jsonb([dict(q) for q in questions])),
    )


def stopped(conn: Any, run_id: str, view: RunView) -> None:
    """Keep the whole view where a drive stopped, inside the transaction that releases the run."""
    conn.execute(
        "INSERT INTO devfactory_run_views (run_id, state, pending, next) VALUES (%s, %s, %s, %s)"
        " ON CONFLICT (run_id) DO UPDATE SET state = EXCLUDED.state, pending = EXCLUDED.pending,"
        " next = EXCLUDED.next, updated_at = now()",
        (run_id, jsonb(view.values), jsonb(view.pending), list(view.next)),
    )


def forget(conn: Any, run_id: str) -> None:
    """Empty a purged run's view: its checkpoints are gone, so is what they showed."""
    conn.execute(
        "UPDATE devfactory_run_views SET state = '{}', pending = '[]', next = '{}',"
        " updated_at = now() WHERE run_id = %s",
        (run_id,),
    )
