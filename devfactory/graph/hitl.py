"""Pause the run for a person with LangGraph ``interrupt()`` and read the decision.

Nodes that call ``ask_person`` do nothing with side effects before it: on
resume LangGraph runs the node again from its start.
"""

from __future__ import annotations

from typing import Any

from langgraph.types import interrupt

from devfactory.control.hitl import Decision, DecisionError, Pause, check_decision


def ask_person(pause: Pause) -> Decision:
    """Interrupt with ``pause`` until a valid decision comes back.

    The runner checks decisions before resuming; a value that still fails here
    (e.g. typed by hand in LangGraph Studio) is refused and asked again.
    """
    while True:
        value: Any = interrupt(pause.model_dump(mode="json"))
        try:
            decision = Decision.model_validate(value)
            check_decision(pause, decision)
        except (ValueError, DecisionError) as exc:
            pause = pause.model_copy(update={"error": str(exc)[:500]})
            continue
        return decision
