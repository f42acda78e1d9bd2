"""A stage whose team an operator paused waits before it starts: the ``hold`` node.

The node runs first in every stage (before ``recall``). While the team is held
(``devfactory team pause``; ``Context.held`` reads the operator's controls) it
asks a ``hold`` pause: the run pauses there, while the other stages of the same
step go on and keep their work. Resuming the team answers every hold of that
team (``Interventions.resume_team``); an admin may also let one stage go on by
approving its hold. A team resumed meanwhile is simply not held when the
resumed node runs again, so the node asks nothing then.

It is a node of its own, not a check inside ``draft``: a node that may or may
not interrupt depending on a control that changes between its runs must hold
no other interrupt, or a later pause would take the hold's answer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from langgraph.runtime import Runtime

from devfactory.control.hitl import DecisionRecord, make_pause
from devfactory.graph.context import Context
from devfactory.graph.oversight.interrupts import decide
from devfactory.graph.oversight.phases import task_key
from devfactory.graph.state import StageState, StageUpdate

if TYPE_CHECKING:
    from devfactory.graph.stage.setup import StageSetup


def hold(state: StageState, runtime: Runtime[Context], setup: StageSetup) -> StageUpdate:
    """Wait for an operator while the team is held; record who let the stage go on."""
    spec = setup.spec
    held = runtime.context.held(spec.slug)
    if held is None:
        return {}
    pause = make_pause(
        runtime.context.get_policy(),
        "hold",
        title=f"{spec.name} is paused by an operator"[:200],
        question=(
            f"An operator paused {spec.name} in every run ({held.describe()}). This stage "
            "waits until the team is resumed (devfactory team resume), or an admin "
            "approves this hold to let it go on now."
        )[:4000],
        team=spec.slug,
        details={"held_by": held.by, "reason": held.reason, "since": held.at.isoformat()},
    )
    decision = decide(pause, state, runtime)  # never answered by unattended rules
    return {"decisions": {task_key(): DecisionRecord.of("hold", decision)}}
