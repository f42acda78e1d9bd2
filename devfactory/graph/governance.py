"""Governance before any team works: assess the requirement, apply the policy, ask a person.

The model rates the requirement and an independent check measures it against
known risky intents and text addressed to the reviewers (``screening/check.py``);
the policy (a file, never the requirement) decides what happens. ``govern``
does the assessment and the automatic outcomes; ``approval`` is the
interrupt-only node a HIGH-risk run waits in.
"""

from __future__ import annotations

import time
from typing import Literal

from langchain_core.messages import HumanMessage, SystemMessage
from langgraph.runtime import Runtime
from langgraph.types import Command

from devfactory.contracts import RunOutcome, Usage
from devfactory.control.budget import Caps
from devfactory.control.hitl import DecisionRecord, make_pause
from devfactory.control.lifecycle import Phase
from devfactory.control.policy import Assessment, GovernanceRecord
from devfactory.events import GovernanceAssessed, Notice
from devfactory.graph.context import Context
from devfactory.graph.emit import emit
from devfactory.graph.model_io.prompt_files import render_prompt
from devfactory.graph.oversight import metering
from devfactory.graph.oversight.interrupts import decide
from devfactory.graph.oversight.phases import Mover, task_key
from devfactory.graph.oversight.requests import course_update
from devfactory.graph.screening.check import screen
from devfactory.graph.state import RunState, RunUpdate, notice_entry
from devfactory.models.io import ask_structured, grammar_schema
from devfactory.models.router import ModelUnavailableError

GOVERNANCE_ALIAS = "factory/fast"
GOVERNANCE: Literal["governance"] = "governance"
APPROVAL: Literal["approval"] = "approval"
PLAN: Literal["plan"] = "plan"


def govern(state: RunState, runtime: Runtime[Context]) -> Command[Literal["approval", "plan"]]:
    """Assess the requirement's risk and let the policy decide whether it may proceed."""
    mover = Mover(state, runtime)
    update: RunUpdate = {}
    if mover.phase is Phase.DRAFT:
        update |= mover.to(Phase.GOVERNANCE_ANALYSIS, reason="requirement received")
    settings = runtime.context.settings
    started = time.perf_counter()
    messages = [
        SystemMessage(render_prompt("governance_system")),
        HumanMessage(render_prompt("governance_task", requirement=state["requirement"])),
    ]
    try:
        resolved = runtime.context.model_source().resolve(GOVERNANCE_ALIAS)
        answer = ask_structured(
            resolved.structured(grammar_schema(Assessment)),
            messages,
            Assessment,
            max_parse_retries=settings.generation.max_parse_retries,
            max_model_errors=settings.generation.max_model_errors,
        )
        assessment, problem, served = answer.value, answer.problem, answer.model or resolved.label
        usage = answer.usage
    except ModelUnavailableError as exc:  # no model: the policy fails closed (HIGH)
        assessment, problem, served, usage = None, str(exc), "", Usage()
    run_caps = (state.get("budget") or {}).get("run") or Caps()
    screened = screen(state["requirement"], runtime.context)
    decision = runtime.context.get_policy().decide(
        state["requirement"],
        assessment,
        screen=screened,
        budget_tokens=run_caps.tokens,
        budget_cost_usd=run_caps.cost_usd,
    )
    assessed = state.get("governance")
    rounds = (assessed.round if assessed is not None else 0) + 1
    key = metering.spend_key(state, GOVERNANCE, f":g{rounds}")
    seconds = time.perf_counter() - started
    update["spend"] = {
        key: metering.add_spend({}, key, GOVERNANCE, usage, served, runtime.context, seconds)
    }
    record = GovernanceRecord(
        **decision.model_dump(),
        round=rounds,
        model=served,
        problem=problem,
        confidence=assessment.confidence if assessment else None,
        screen=screened,
    )
    emit(runtime, GovernanceAssessed(**record.model_dump(mode="json", exclude={"screen"})))
    update["governance"] = record
    summary = f"risk {decision.risk}: " + "; ".join(decision.reasons)[:1500]
    if decision.needs_approval:
        return Command(goto=APPROVAL, update=update)
    if decision.action == "notify":
        notice = Notice(kind="notification", team=GOVERNANCE, message=summary)
        emit(runtime, notice)
        update["notices"] = {f"governance:{rounds}": notice_entry(notice)}
    update |= mover.to(Phase.APPROVED, actor="policy", reason=summary)
    return Command(goto=PLAN, update=update)


def approval(
    state: RunState, runtime: Runtime[Context]
) -> Command[Literal["governance", "plan", "__end__"]]:
    """Wait for a person to approve, reject or modify a run the policy would not pass.

    An unattended run waits too, unless an approver pre-approved its project.
    """
    settings = runtime.context.settings
    gov = state["governance"]  # the governance node assessed the requirement first
    pause = make_pause(
        runtime.context.get_policy(),
        "governance",
        title=f"{gov.risk} risk: approve this run?",
        question=(
            f"Requirement: {state['requirement']}\n"
            f"Risk {gov.risk} (model said {gov.model_risk or 'nothing valid'}).\n"
            "Reasons: " + "; ".join(gov.reasons) + "\n"
            "Risk factors: " + ("; ".join(gov.risk_factors) or "none")
        )[:4000],
        details=gov.model_dump(
            mode="json", include={"risk", "model_risk", "reasons", "risk_factors"}
        ),
    )
    if gov.round >= settings.runs.max_governance_rounds:  # no round left to screen a modify
        pause = pause.model_copy(update={"actions": ("approve", "reject")})
    decision = decide(pause, state, runtime)  # unattended: only on a project pre-approval
    mover = Mover(state, runtime)
    update: RunUpdate = {"decisions": {task_key(): DecisionRecord.of("governance", decision)}}
    actor = decision.actor
    course = course_update(pause, state, runtime, decision)
    narrowed = "scope" in course  # the narrowed text is screened again, as a modify is
    if course and not narrowed:
        update["course"] = course
    if decision.action == "approve" and not narrowed:
        update |= mover.to(Phase.APPROVED, actor=actor, reason=decision.summary())
        return Command(goto=PLAN, update=update)
    if decision.action == "reject":
        update |= mover.end(RunOutcome.rejected(decision.summary()), actor=actor)
        return Command(goto="__end__", update=update)
    how = "narrowed (alternative narrow_scope)" if narrowed else "modified"
    update |= mover.to(
        Phase.GOVERNANCE_ANALYSIS,
        actor=actor,
        reason=f"requirement {how}: {decision.text}"[:2000],
    )
    update["requirement"] = decision.text.strip()
    return Command(goto=GOVERNANCE, update=update)
