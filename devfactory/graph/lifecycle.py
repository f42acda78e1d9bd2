"""Move a run between lifecycle phases from inside a graph node.

The node validates the move against the state machine and emits a
``transition`` event; the runner records it in Postgres. The event's key is
the node's task namespace plus the move's index, which is the same when
LangGraph re-runs the node (after an interrupt or a crash), so a replayed move
is recorded once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from langgraph.config import get_config, get_stream_writer

from devfactory.control.lifecycle import Phase, check


def task_key() -> str:
    """Return the running node's task namespace: stable across its re-runs."""
    return str(get_config().get("configurable", {}).get("checkpoint_ns", ""))


class Mover:
    """Record consecutive moves made by one node execution."""

    def __init__(self, state: Mapping[str, Any]) -> None:
        self.phase = Phase(state.get("phase") or Phase.DRAFT)
        self._task = task_key()
        self._n = 0

    def to(self, target: Phase, *, reason: str = "", actor: str = "factory") -> dict[str, str]:
        """Move to ``target``; return the state update. Illegal moves raise."""
        check(self.phase, target)
        get_stream_writer()(
            {
                "event": "transition",
                "key": f"{self._task}#{self._n}",
                "from": self.phase.value,
                "to": target.value,
                "actor": actor,
                "reason": reason[:2000],
            }
        )
        self._n += 1
        self.phase = target
        return {"phase": target.value}
