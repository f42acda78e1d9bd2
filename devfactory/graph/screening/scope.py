"""Screen text that reaches the teams after governance: revisions, guidance, answers.

A person's words can change what a run builds as much as the requirement can,
so before any team reads them they pass the same deterministic rules, the
independent check and the injection detector the requirement passed. Text
that stays within what was approved goes on; risk the policy would not pass
waits in a governance pause (approve, reject, or modify and screen again).

``vet`` runs inside the node that received the text, after that node's own
interrupt: it does nothing with side effects, so LangGraph can re-run it on
resume. The node emits ``events`` and records ``decisions`` afterwards.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from langgraph.runtime import Runtime

from devfactory.control.hitl import DecisionRecord, make_pause
from devfactory.control.policy import Risk, ScopeChange
from devfactory.control.run_records import NoticeEntry
from devfactory.events import GovernanceAssessed, Notice
from devfactory.graph.context import Context
from devfactory.graph.emit import emit
from devfactory.graph.oversight.interrupts import decide
from devfactory.graph.screening.check import screen
from devfactory.graph.state import notice_entry

GOVERNANCE = "governance"


@dataclass(frozen=True)
class Vetted:
    """What became of a text: the version the teams get, or the approver's rejection.

    Attributes:
        key: the calling node's key (its task namespace).
        text: the text to pass on (an approver's modified version, if any).
        decisions: the governance decisions taken on it, by key, for ``decisions``.
        rejected: the rejection's summary when an approver stopped the run, else "".
        actor: who rejected it.
        events: what to emit once the node goes on (assessments, a notification).

    """

    key: str
    text: str
    decisions: dict[str, DecisionRecord] = field(default_factory=dict)
    rejected: str = ""
    actor: str = ""
    events: tuple[GovernanceAssessed | Notice, ...] = ()

    def publish(self, runtime: Runtime[Context]) -> dict[str, NoticeEntry]:
        """Emit the events; return the ``notices`` update for a notification among them."""
        notices = {}
        for event in self.events:
            emit(runtime, event)
            if isinstance(event, Notice):
                notices[f"{self.key}:scope"] = notice_entry(event)
        return notices


def approved_scope(state: Mapping[str, Any]) -> tuple[Risk, set[str]]:
    """Return the highest risk approved for the run so far, and the factors approved with it.

    That is the governance decision on the requirement, plus every scope
    change a person approved in a governance pause since.
    """
    gov = state.get("governance")
    risk = gov.risk if gov is not None else Risk.LOW
    factors = set(gov.risk_factors if gov is not None else [])
    for decision in (state.get("decisions") or {}).values():
        scope = decision.scope
        if decision.kind == GOVERNANCE and scope is not None and decision.action == "approve":
            risk = max(risk, scope.risk, key=lambda r: r.rank)
            factors.update(scope.risk_factors)
    return risk, factors


def vet(
    state: Mapping[str, Any],
    runtime: Runtime[Context],
    text: str,
    *,
    source: str,
    key: str,
    team: str | None = None,
) -> Vetted:
    """Screen ``text`` from ``source`` and, past the approved scope, ask an approver.

    Args:
        state: the run's (or stage's) state: its governance and decisions.
        runtime: the node's runtime.
        text: what a person wrote for the teams.
        source: who wrote it and where, for the pause ("review feedback from bob").
        key: a key unique to the calling node (its task namespace): decisions are
            recorded under ``<key>:scope<n>``.
        team: the team the text is for, when it is for one.

    Modifications are screened again, at most ``max_governance_rounds`` pauses
    in all; the last pause offers only approve or reject.

    """
    policy = runtime.context.get_policy()
    settings = runtime.context.settings
    approved, factors = approved_scope(state)
    gov = state.get("governance")
    decisions: dict[str, DecisionRecord] = {}
    events: list[GovernanceAssessed | Notice] = []
    for n in range(1, settings.runs.max_governance_rounds + 1):
        decision = policy.rescreen(
            text, screen(text, runtime.context), approved=approved, approved_factors=factors
        )
        if decision.action != "proceed" or decision.risk_factors:
            events.append(
                GovernanceAssessed(
                    risk=decision.risk.value,
                    action=decision.action,
                    reasons=[f"new text from {source}"[:200], *decision.reasons],
                    risk_factors=decision.risk_factors,
                    round=gov.round if gov is not None else 0,
                    model="",
                    problem="",
                )
            )
        if not decision.needs_approval:
            if decision.action == "notify":
                summary = f"risk {decision.risk} in {source}: " + "; ".join(decision.reasons)
                events.append(Notice(kind="notification", team=GOVERNANCE, message=summary[:1500]))
            return Vetted(key, text, decisions, events=tuple(events))
        pause = make_pause(
            policy,
            "governance",
            title=f"{decision.risk} risk in {source}: pass it to the teams?"[:200],
            question=(
                f"New text from {source} (not yet seen by any team):\n{text[:2000]}\n\n"
                f"Risk {decision.risk}; the run was approved at {approved}.\n"
                "Reasons: " + "; ".join(decision.reasons) + "\n"
                "Risk factors: " + ("; ".join(decision.risk_factors) or "none") + "\n"
                "Approve to pass it on, reject to stop the run, or modify it (screened again)."
            )[:4000],
            team=team,
            details={
                "source": source,
                "text": text[:2000],
                "risk": decision.risk.value,
                "approved_risk": approved.value,
                "reasons": decision.reasons,
                "risk_factors": decision.risk_factors,
            },
        )
        if n == settings.runs.max_governance_rounds:
            pause = pause.model_copy(update={"actions": ("approve", "reject")})
        answer = decide(pause, state, runtime, rule="scope")  # unattended: rejected
        scope = ScopeChange(source=source, text=text[:2000], **dict(decision))
        decisions[f"{key}:scope{n}"] = DecisionRecord.of(GOVERNANCE, answer, scope)
        actor = answer.actor
        if answer.action == "approve":
            return Vetted(key, text, decisions, events=tuple(events))
        if answer.action == "reject":
            return Vetted(key, text, decisions, answer.summary(), actor, tuple(events))
        text = answer.text.strip()
    raise AssertionError("unreachable: the last pause offers only approve or reject")
