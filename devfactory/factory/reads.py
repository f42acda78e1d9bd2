"""What a run's readers are shown, from the runs table and the runs' views alone.

``RunReads`` answers ``list``, ``status`` and ``pending`` and the API's run
routes with a few keyed queries: a run's row, its view (``store/views.py``,
kept by its recorder) and its transitions. It loads no graph, no model and no
memory, so the CLI's read commands stay light (``cli/common.py`` ``reading``).
``Queries`` answers the same questions through it, and is what builds a view
from the checkpoint for a run recorded before views existed (``missing``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Unpack

from devfactory.control.lifecycle import Phase, Transition
from devfactory.store.runs_table import RunFilters, RunRow, RunStore
from devfactory.store.views import RunView

if TYPE_CHECKING:  # loaded by the reads that show a run, not by ``list``
    from devfactory.factory.reports import Pending, RunReport

# How many paused runs ``pending`` lists at most.
MAX_PAUSED = 1000


class RunNotFoundError(LookupError):
    """No run has that id."""


class ViewMissingError(LookupError):
    """A run recorded before views existed has none, and nothing here may build it."""


def _no_view(row: RunRow) -> RunView:
    raise ViewMissingError(f"run {row.run_id} has no view yet (recorded before views existed)")


class RunReads:
    """Read-only questions about runs, answered from their rows and views.

    ``missing`` builds the view of a run that has none (from its checkpoint, in
    ``Queries``); by default such a run raises ``ViewMissingError``.
    """

    def __init__(self, runs: RunStore, missing: Callable[[RunRow], RunView] = _no_view) -> None:
        self.runs, self.missing = runs, missing

    def get(self, run_id: str) -> RunRow:
        """Return a run's row or raise ``RunNotFoundError``."""
        row = self.runs.get(run_id)
        if row is None:
            raise RunNotFoundError(f"no run with id {run_id!r}")
        return row

    def list_runs(self, limit: int = 20, **only: Unpack[RunFilters]) -> list[RunRow]:
        """Return the newest runs first (only those in ``status``, of ``owner``, in ``project``)."""
        return self.runs.list(limit, **only)

    def transitions(self, run_id: str) -> list[Transition]:
        """Return the run's lifecycle transitions in order."""
        self.get(run_id)
        return self.runs.transitions(run_id)

    def view(self, row: RunRow) -> RunView:
        """Return the run's view (``missing`` builds one for a run that has none)."""
        found = self.runs.views.get(row.run_id)
        return found if found is not None else self.missing(row)

    def report(self, run_id: str) -> RunReport:
        """Describe a run from its row and its view.

        ``shown`` holds the shown part of the run's state (all but ``store.views.HIDDEN``).
        """
        row = self.get(run_id)
        return report_of(row, self.view(row))

    def detail(self, run_id: str) -> tuple[RunRow, RunReport, list[Transition]]:
        """Return a run's row, its report and its transitions, read in one query."""
        found = self.runs.views.read(run_id)
        if found is None:
            raise RunNotFoundError(f"no run with id {run_id!r}")
        kept, view, moves = found
        row = RunRow(**kept)
        report = report_of(row, view if view is not None else self.missing(row))
        return row, report, [Transition.model_validate(m) for m in moves]

    def pending(self, run_id: str | None = None) -> list[Pending]:
        """List what paused runs (or one run) wait on, the most urgent first.

        A run's questions are those its view keeps; they are set in the same
        transaction as the run's PAUSED status and cleared with the answer.
        The queue is sorted by priority (CRITICAL first), then deadline
        (soonest first), then the newest run (``reports.queue_order``).
        """
        from devfactory.factory.reports import queue_order

        if run_id:
            row = self.get(run_id)
            if row.status != Phase.PAUSED:
                return []
            paused = [t.at for t in self.runs.transitions(run_id) if t.to_phase == Phase.PAUSED]
            since = paused[-1] if paused else None
            return queue_order(questions(run_id, self.view(row).pending, since))
        found: list[Pending] = []
        for paused_run, asked, since in self.runs.views.waiting_since(MAX_PAUSED):
            if asked is None:  # recorded before views existed
                kept = self.runs.get(paused_run)
                asked = self.missing(kept).pending if kept is not None else []
            found.extend(questions(paused_run, asked, since))
        return queue_order(found)


def report_of(row: RunRow, view: RunView) -> RunReport:
    """Describe a run from its row and its view."""
    from devfactory.contracts import ordered_records
    from devfactory.factory.reports import RunReport, ShownRun
    from devfactory.pipelines import load_pipeline

    state = ShownRun.of(view.values)
    return RunReport(
        row.run_id,
        row.shown_status,
        row.reason,
        Path(row.out_dir),
        ordered_records(state.stages, load_pipeline(row.pipeline).teams),
        tuple(view.next),
        questions(row.run_id, view.pending),
        state,
    )


def questions(
    run_id: str, asked: list[dict[str, Any]], paused_at: datetime | None = None
) -> tuple[Pending, ...]:
    """Read the questions a run's view keeps (``paused_at``: when the run paused)."""
    from devfactory.control.hitl import Pause
    from devfactory.factory.reports import Pending

    return tuple(
        Pending(run_id, str(q["id"]), Pause.model_validate(q["pause"]), paused_at) for q in asked
    )
