"""One drive's incident triggers, fed by its recorder as the facts arrive.

The recorder hands ``IncidentWatch`` each finished stage and the run's end. The
watch keeps what the drive spent (``DriveSpend``), weighs each fact with the
pure rules of ``control/incidents.py`` against the project's recent history
(``store/incidents_table.py``), and hands every trigger that fires to its
``IncidentSink``, the one method of ``Switchboard`` it needs: the recorder and
the watch know nothing else of the operator's controls.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from devfactory.contracts import CheckRun, FinalChecks, StageOutcome, StageRecord
from devfactory.control.incidents import (
    StageFact,
    Thresholds,
    Trigger,
    failing_streak,
    sandbox_violation,
    stage_triggers,
)
from devfactory.control.lifecycle import TERMINAL, Phase
from devfactory.redact import redact
from devfactory.settings import Settings
from devfactory.store.incidents_table import IncidentStore
from devfactory.store.runs_table import RunRow

log = logging.getLogger(__name__)


class IncidentSink(Protocol):
    """Where a trigger that fired goes: whoever opens incidents (``Switchboard``)."""

    def open_incident(self, row: RunRow, trigger: Trigger, spend: dict[str, Any]) -> object:
        """Open an incident for ``row``'s project: hold it, record it, tell people."""
        ...


def thresholds(settings: Settings) -> Thresholds:
    """Return the incident triggers' thresholds (the ``incident_*`` settings)."""
    return Thresholds(
        spend_multiple=settings.operations.incident_spend_multiple,
        latency_multiple=settings.operations.incident_latency_multiple,
        cost_multiple=settings.operations.incident_cost_multiple,
        failing_runs=settings.operations.incident_failing_runs,
        min_samples=settings.operations.incident_min_samples,
        min_calls=settings.operations.incident_min_calls,
        baseline_calls=settings.operations.incident_baseline_calls,
    )


def _spend() -> dict[str, Any]:
    return {"tokens": 0, "cost_usd": 0.0, "seconds": 0.0}


@dataclass
class DriveSpend:
    """What the stages finished in one drive spent: since the last one that passed, and in all."""

    since_gate: dict[str, Any] = field(default_factory=_spend)
    run: dict[str, Any] = field(default_factory=_spend)

    def add(self, tokens: int, cost_usd: float, seconds: float) -> None:
        """Count a finished stage's spend in both totals."""
        for total in (self.since_gate, self.run):
            total["tokens"] += tokens
            total["cost_usd"] = round(total["cost_usd"] + cost_usd, 6)
            total["seconds"] = round(total["seconds"] + seconds, 3)

    def gate_passed(self) -> None:
        """Start the spend since the last gate again (a stage passed)."""
        self.since_gate = _spend()

    def shown(self) -> dict[str, Any]:
        """Return both totals as an incident keeps them."""
        return {"since_last_gate": dict(self.since_gate), "run": dict(self.run)}


class IncidentWatch:
    """One drive's incident triggers, fed by its recorder as the facts arrive.

    ``stage`` takes each finished stage (spend against the medians of the same
    team's recent stages in the project, the sandbox's verdicts); ``ended`` takes
    the run's end (its final tests, for the streak; the final checks' sandbox
    verdicts). The spend since the last gate is what the stages finished in this
    drive since the last one that passed spent.
    """

    def __init__(
        self, sink: IncidentSink, incidents: IncidentStore, settings: Settings, row: RunRow
    ) -> None:
        self.sink, self.incidents, self.settings, self.row = sink, incidents, settings, row
        self.spend = DriveSpend()

    def stage(self, record: StageRecord) -> None:
        """Weigh a finished stage; open an incident when a trigger fires."""
        settings = self.settings
        if not settings.operations.incidents_enabled:
            return
        tokens = record.usage.input_tokens + record.usage.output_tokens
        self.spend.add(tokens, record.cost_usd, record.seconds)
        fired: list[Trigger] = []
        if record.usage.calls:
            fact = StageFact(
                team=record.team,
                tokens=tokens,
                cost_usd=record.cost_usd,
                seconds=record.seconds,
                calls=record.usage.calls,
            )
            digest = hashlib.sha256(record.model_dump_json().encode()).hexdigest()[:24]
            key = f"{self.row.run_id}:{record.team}:{digest}"
            history = self.incidents.recent_stages(
                self.row.project, record.team, settings.operations.incident_window
            )
            if self.incidents.add_stage(self.row.project, self.row.run_id, fact, key=key):
                fired += stage_triggers(fact, history, thresholds(settings))
        self._open(fired, record.checks)
        if record.outcome is StageOutcome.PASSED:
            self.spend.gate_passed()

    def ended(self, status: str, checks: FinalChecks | None) -> None:
        """Weigh a run that ended: its final tests (the streak) and its final checks.

        ``checks``: the run's last final checks (``graph/state.final_checks_of``; None: none ran).
        """
        settings = self.settings
        if not settings.operations.incidents_enabled or status not in TERMINAL:
            return
        runs = checks.checks if checks is not None else []
        fired: list[Trigger] = []
        tests = [c for c in runs if c.name == "tests" and c.ran]
        if tests and status != Phase.REJECTED:
            failed = not all(c.ok for c in tests)
            if self.incidents.add_run(self.row.project, self.row.run_id, tests_failed=failed):
                recent = self.incidents.recent_runs(
                    self.row.project, settings.operations.incident_failing_runs
                )
                streak = failing_streak(recent, thresholds(settings))
                if streak is not None:
                    fired.append(streak)
        self._open(fired, runs)

    def _open(self, fired: list[Trigger], checks: Sequence[CheckRun]) -> None:
        """Open an incident per trigger fired, then for the sandbox's verdict on ``checks``."""
        violation = sandbox_violation([(c.name, c.summary) for c in checks])
        for trigger in fired if violation is None else [*fired, violation]:
            try:
                self.sink.open_incident(self.row, trigger, self.spend.shown())
            except Exception as exc:  # noqa: BLE001 - a record that fails must not fail the run
                log.error(
                    "run %s: incident %s not opened: %s",
                    self.row.run_id,
                    trigger.kind,
                    redact(str(exc)),
                    extra={"run_id": self.row.run_id},
                )
