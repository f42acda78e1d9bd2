"""The budget check a stage runs before every attempt, with its pause for an override.

At the warning line a person approves going on (optionally raising the run's
caps, or picking an alternative: the cheaper model, or dropping a later stage)
or stops the run; at the cap the stage stops. Nothing with side effects
happens before the interrupt, so a resumed node reaches it again unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from langgraph.runtime import Runtime

from devfactory.control.budget import Caps
from devfactory.control.hitl import DecisionRecord, make_pause
from devfactory.events import Notice
from devfactory.graph.context import Context
from devfactory.graph.emit import emit
from devfactory.graph.oversight import metering
from devfactory.graph.oversight.interrupts import decide
from devfactory.graph.oversight.phases import task_key
from devfactory.graph.oversight.requests import course_update
from devfactory.graph.state import StageUpdate, notice_entry
from devfactory.teams.spec import TeamSpec


@dataclass
class BudgetGate:
    """What the stage does next: stop (with why and who) or go on with ``update``."""

    update: StageUpdate = field(default_factory=lambda: StageUpdate())
    stop: str = ""  # the reason the stage must stop ("" to go on)
    stopped_by: str = ""  # "budget", "person" or "policy" (an unattended run's rule)


def _exhausted(breaches: list[Any]) -> str:
    return "budget exhausted: " + "; ".join(b.describe() for b in breaches)


def budget_gate(state: Mapping[str, Any], spec: TeamSpec, runtime: Runtime[Context]) -> BudgetGate:
    """Check the run's time cap, then its, its project's and the team's caps before an attempt.

    Past the time cap the stage stops as it does at a spent cap, stopped by the budget.
    """
    context = runtime.context
    late = context.out_of_time()
    if late:
        return BudgetGate(stop=late, stopped_by="budget")
    verdict = metering.check(state, spec.slug, context)
    if verdict.exhausted:
        return BudgetGate(stop=_exhausted(verdict.exhausted), stopped_by="budget")
    out = BudgetGate()
    if verdict.team_over:
        key = f"soft:{metering.spend_key(state, spec.slug)}"
        if key not in state.get("notices", {}):
            notice = Notice(
                kind="budget_warning",
                team=spec.slug,
                message=f"{spec.name} is over its soft cap: "
                + "; ".join(b.describe() for b in verdict.team_over),
            )
            emit(runtime, notice)
            out.update["notices"] = {key: notice_entry(notice)}
    if not verdict.near:
        return out
    lines = "; ".join(b.describe() for b in verdict.near)
    pause = make_pause(
        context.get_policy(),
        "budget",
        title=f"budget at {context.settings.runs.budget_warn_at:.0%}: {lines}"[:200],
        question=(
            f"The run has used {lines}. Approve to let {spec.name} and the stages after "
            "it go on (optionally with a higher cap), or reject to stop the run now."
        ),
        team=spec.slug,
        details={"near": [b.model_dump() for b in verdict.near]},
    )
    decision = decide(pause, state, runtime)  # unattended: no override, the run stops
    out.update["decisions"] = {task_key(): DecisionRecord.of("budget", decision)}
    course = course_update(pause, state, runtime, decision)
    if course:  # an alternative: the cheaper model, or a later stage dropped
        out.update["course"] = course
    if decision.action == "reject":
        out.stop, out.stopped_by = (
            f"budget override refused: {decision.summary()} ({lines})",
            "policy" if decision.by_policy else "person",
        )
        return out
    caps = dict(state.get("budget") or {})
    if decision.caps is not None:
        run = caps.get("run") or Caps()
        merged = run.model_copy(update=decision.caps.model_dump(exclude_none=True))
        caps["run"] = merged
        out.update["budget"] = {"run": merged}
    again = metering.check({**state, "budget": caps}, spec.slug, context)
    if again.exhausted:  # a "new" cap at or below what is already spent
        out.stop, out.stopped_by = _exhausted(again.exhausted), "budget"
        return out
    out.update["budget_ack"] = {b.key: decision.by for b in (*verdict.near, *again.near)}
    return out
