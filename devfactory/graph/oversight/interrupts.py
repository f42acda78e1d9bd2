"""Pause the run for a person with LangGraph ``interrupt()`` and read the decision.

Nodes that call ``ask_person`` do nothing with side effects before it: on
resume LangGraph runs the node again from its start. Nodes call ``decide``,
which first lets the unattended preset answer (``control/unattended.py``)
when the run was started unattended, and asks a person otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from langgraph.runtime import Runtime
from langgraph.types import interrupt

from devfactory.control import unattended
from devfactory.control.hitl import Decision, DecisionError, Pause, check_decision
from devfactory.events import DecisionRecorded
from devfactory.graph.context import Context
from devfactory.graph.emit import emit
from devfactory.graph.oversight.phases import task_key
from devfactory.graph.oversight.requests import auto_decision, enrich

# node metadata naming what a node may stop the run for a person to give; the
# graph views draw such nodes as waiting for a person (``factory/drawing.py``), Studio shows it
WAITS_FOR = "waits_for"


def waits_for(what: str) -> dict[str, str]:
    """Return the metadata of a node that may pause the run until a person gives ``what``."""
    return {WAITS_FOR: what}


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


def decide(
    pause: Pause,
    state: Mapping[str, Any],
    runtime: Runtime[Context],
    *,
    rule: unattended.Rule | None = None,
) -> Decision:
    """Answer ``pause`` by an approval rule or the unattended policy, else ask a person.

    The pause is first filled in as a request (``graph/oversight/requests.py``: its rule,
    roles, sources, estimate, risk factors, confidence, priority, deadline and
    alternatives). A rule that auto-approves it decides, signed
    ``policy:rule:<name>``; an unattended run's rule decides next. Either
    decision is emitted as a ``DecisionRecorded`` (the runner appends it to the
    audit log under the policy's name) and returned to the node, which records
    it in ``decisions`` and its transitions as it would a person's. Otherwise
    the run interrupts as usual. ``requests.course_update`` reads the filled-in
    pause's alternatives when applying the decision.

    Args:
        pause: what the run would ask.
        state: the run's (or stage's) state: its ``unattended`` flag and project.
        runtime: the node's runtime (policy, the project's pre-approval).
        rule: the rule that answers, when not the pause's kind ("scope").

    """
    scope = rule == "scope"
    pause = enrich(pause, state, runtime, scope=scope)  # the same on every run of the node
    decision = auto_decision(pause, state, runtime, scope=scope)
    name = pause.rule
    if decision is None and state.get("unattended") and pause.kind != "hold":
        decision = unattended.answer(
            pause,
            runtime.context.get_policy(),
            rule=rule,
            project=state.get("project") or "default",
            pre_approval=runtime.context.pre_approval,
        )
        name = unattended.rule_of(pause, rule)
    if decision is None:
        return ask_person(pause)
    emit(
        runtime,
        DecisionRecorded(
            key=f"{task_key()}:{name}",
            pause=pause.kind,
            team=pause.team,
            question=pause.title,
            interrupts=[],
            **decision.model_dump(mode="json"),
        ),
    )
    return decision
