"""Move a run between lifecycle phases from inside a graph node.

The node validates the move against the state machine and emits a
``transition`` event, which the run's recorder keeps in Postgres before the
node's writes are saved (``graph/emit.py``). The event's key is
the node's task namespace plus the move's index, which is the same when
LangGraph re-runs the node (after an interrupt or a crash), so a replayed move
is recorded once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from langgraph.config import get_config
from langgraph.runtime import Runtime

from devfactory.contracts import RunOutcome
from devfactory.control.lifecycle import Phase, check
from devfactory.events import PhaseChanged
from devfactory.graph.emit import emit
from devfactory.graph.state import RunUpdate


def task_key() -> str:
    """Return the running node's task namespace: stable across its re-runs."""
    return str(get_config().get("configurable", {}).get("checkpoint_ns", ""))


class Mover:
    """Record consecutive moves made by one node execution."""

    def __init__(self, state: Mapping[str, Any], runtime: Runtime[Any]) -> None:
        self.phase = Phase(state.get("phase") or Phase.DRAFT)
        self._runtime = runtime
        self._task = task_key()
        self._n = 0

    def to(self, target: Phase, *, reason: str = "", actor: str = "factory") -> RunUpdate:
        """Move to ``target``; return the state update. Illegal moves raise."""
        check(self.phase, target)
        emit(
            self._runtime,
            PhaseChanged(
                key=f"{self._task}#{self._n}",
                from_phase=self.phase.value,
                to_phase=target.value,
                actor=actor,
                reason=reason[:2000],
            ),
        )
        self._n += 1
        self.phase = target
        return {"phase": target.value}

    def end(
        self, outcome: RunOutcome, *, reason: str | None = None, actor: str = "factory"
    ) -> RunUpdate:
        """Move to the phase ``outcome`` ends in; return the update that stores it too.

        The move's ``reason`` is the outcome's unless given (a decision's summary,
        a rule's name).
        """
        moved = self.to(
            Phase(outcome.status), actor=actor, reason=outcome.reason if reason is None else reason
        )
        return {**moved, "outcome": outcome}
