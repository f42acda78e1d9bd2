"""What a paused run asks a person, and what the person decides.

A ``Pause`` is the payload of a LangGraph ``interrupt()``; a ``Decision`` is
the value the run is resumed with. ``check_decision`` is the one place that
says whether a decision may answer a pause (action allowed, role permitted),
so the CLI, the API and the graph itself enforce the same rule.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    model_serializer,
)

from devfactory.control.approval_rules import Alternative
from devfactory.control.budget import Caps
from devfactory.control.ceilings import MAX_ANSWER_CHARS
from devfactory.control.error_line import error_line
from devfactory.control.policy import PauseKind, Policy, Priority, ScopeChange
from devfactory.shown import with_article

DecisionAction = Literal["approve", "reject", "modify", "answer", "revise"]

ACTIONS: dict[str, tuple[DecisionAction, ...]] = {
    "governance": ("approve", "reject", "modify"),
    "budget": ("approve", "reject"),
    "review": ("approve", "revise", "reject"),
    "blocked": ("answer", "reject"),
    "clarification": ("answer", "reject"),
    "merge": ("approve", "reject"),
    "hold": ("approve",),  # go on now: the operator's hold is lifted for this stage
}

# What a person types with an action, as the CLI and the chat ask for it.
TEXT_FOR: dict[str, str] = {
    "modify": "the new requirement",
    "answer": "your answer (the team reads it before its next attempt)",
    "revise": "what to change (the teams get it as review feedback)",
    "reject": "the reason",
}

HELP: dict[str, str] = {
    "governance": "approve to run it, reject to stop it, or modify the requirement",
    "budget": "approve to go on (optionally with a new cap), or reject to stop the run",
    "review": "approve the result, revise it with feedback, or reject it",
    "blocked": "answer with guidance and the team tries again, or reject to fail the run",
    "clarification": "answer the team's question, or reject and let it decide alone",
    "merge": "approve to merge the run's branch into its repository, or reject to keep it apart",
    "hold": "approve to let the held stage go on now",
}


# A name starting with this is one of the factory's own rules (``policy:unattended``), never
# a person: the runner refuses it in an answer.
POLICY_PREFIX = "policy:"


class Estimate(BaseModel):
    """The estimated cost to finish a run: what it spent, and the stages still to run.

    An estimate, and says so: the average spend per finished stage times the
    stages left (the spend so far stands for one stage when none finished).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    spent_tokens: int = Field(default=0, ge=0)
    spent_cost_usd: float = Field(default=0.0, ge=0)
    stages_done: int = Field(default=0, ge=0)
    stages_left: int = Field(default=0, ge=0)
    tokens_to_finish: int = Field(default=0, ge=0)
    cost_to_finish_usd: float = Field(default=0.0, ge=0)
    basis: str = Field(default="", max_length=300)


class Pause(BaseModel):
    """One question a run is waiting on, with what a person needs to decide it.

    The request's fields after ``details`` are filled by ``graph/oversight/requests.py``
    from the run's state and the matched approval rule; a pause recorded
    before they existed reads with their defaults.
    """

    model_config = ConfigDict(extra="forbid")

    kind: PauseKind
    title: str = Field(max_length=200)
    question: str = Field(max_length=4000)
    team: str | None = None
    actions: tuple[DecisionAction, ...]
    roles: tuple[str, ...]
    details: dict[str, Any] = Field(default_factory=dict)
    error: str = ""  # why the last answer to this pause was refused
    rule: str = Field(default="", max_length=60)  # the approval rule that decides it
    reasoning: str = Field(default="", max_length=4000)
    sources: tuple[str, ...] = Field(default=(), max_length=60)  # stage records, files
    estimate: Estimate | None = None
    risk_factors: tuple[str, ...] = Field(default=(), max_length=20)
    confidence: float | None = Field(default=None, ge=0.0, le=1.0)
    priority: Priority = "MEDIUM"
    deadline_s: float | None = Field(default=None, gt=0)  # after the run paused; None: never
    alternatives: tuple[Alternative, ...] = Field(default=(), max_length=10)
    refused_alternatives: tuple[str, ...] = Field(default=(), max_length=10)

    def alternative(self, ident: str) -> Alternative | None:
        """Return the offered alternative ``ident`` names (None: not offered)."""
        return next((a for a in self.alternatives if a.id == ident), None)

    def why(self) -> str:
        """Return the reasoning where it adds to the question ("" where the question says it).

        A blocked stage's reason and a review's files are the question's own text:
        shown once, not again under "why".
        """
        said = " ".join(self.question.split())
        reasoning = " ".join(self.reasoning.split())
        return "" if not reasoning or reasoning in said else self.reasoning

    def error_line(self) -> str:
        """Return the line of the question that says what went wrong ("" where none does)."""
        return error_line(self.question, problems=True)

    def facts(self) -> list[tuple[str, str]]:
        """Return what the request says beside its question, as ``(label, text)`` lines.

        The reasoning (where it adds to the question), the risk factors, the
        confidence and the estimated cost to finish: the CLI's panel and the
        chat's message render the same lines, each in its own style.
        """
        lines: list[tuple[str, str]] = []
        if self.why():
            lines.append(("why", self.reasoning))
        if self.risk_factors:
            lines.append(("risk factors", "; ".join(self.risk_factors)))
        if self.confidence is not None:
            lines.append(("confidence", f"{self.confidence:.2f}"))
        if (est := self.estimate) is not None:
            said = f"~${est.cost_to_finish_usd:.4f}, ~{est.tokens_to_finish:,} tokens ({est.basis})"
            lines.append(("cost to finish", said))
        return lines


class Decision(BaseModel):
    """A person's answer to a pause, with who gave it."""

    model_config = ConfigDict(extra="forbid")

    action: DecisionAction
    text: str = Field(default="", max_length=MAX_ANSWER_CHARS)
    by: str = Field(min_length=1, max_length=120)
    role: str = Field(min_length=1, max_length=60)
    caps: Caps | None = None  # budget override: the new run caps
    alternative: str | None = Field(default=None, max_length=120)  # the chosen one's id
    at: datetime = Field(default_factory=lambda: datetime.now(UTC))

    @property
    def by_policy(self) -> bool:
        """Say whether a rule of the policy decided, not a person."""
        return self.by.startswith(POLICY_PREFIX)

    @property
    def actor(self) -> str:
        """Who decided, as transitions name it: "alice (approver)", or the policy itself."""
        return self.by if self.by_policy else f"{self.by} ({self.role})"

    def summary(self) -> str:
        """One line for the audit trail."""
        text = f": {self.text}" if self.text else ""
        chose = f" (alternative {self.alternative})" if self.alternative else ""
        return f"{self.action}{chose} by {self.actor}{text}"[:2000]


class DecisionRecord(Decision):
    """A decision as the run's ``decisions`` ledger keeps it: what kind of pause it answered.

    ``scope``: the text past the approved scope that a governance pause asked about
    (``graph/screening/scope.py``); a record of any other decision has none, and shows none.
    """

    kind: str
    scope: ScopeChange | None = None

    @classmethod
    def of(cls, kind: str, decision: Decision, scope: ScopeChange | None = None) -> DecisionRecord:
        """Record ``decision``, the answer to a pause of ``kind``."""
        return cls(kind=kind, scope=scope, **dict(decision))

    @model_serializer(mode="wrap")
    def _no_empty_scope(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        if self.scope is None:
            data.pop("scope", None)
        return data


class DecisionError(ValueError):
    """A decision cannot answer the pause it was given for."""


class RoleRefusedError(DecisionError):
    """The decision's role may not answer that kind of pause (the policy's ``roles``)."""


def make_pause(policy: Policy, kind: PauseKind, **fields: Any) -> Pause:
    """Build a pause of ``kind`` with the actions it allows and the roles that may answer."""
    return Pause(kind=kind, actions=ACTIONS[kind], roles=policy.roles[kind], **fields)


def needs_text(kind: str, action: str) -> bool:
    """Say whether ``action`` must carry text on a ``kind`` pause (a reject's reason may not)."""
    if action == "reject":
        return kind in ("governance", "review", "budget")
    return action in TEXT_FOR


def check_decision(pause: Pause, decision: Decision) -> None:
    """Raise ``DecisionError`` unless ``decision`` may answer ``pause``."""
    if decision.action not in pause.actions:
        if decision.action == "revise" and pause.kind == "review":
            raise DecisionError("the revision cap is reached; approve or reject the result")
        raise DecisionError(
            f"{with_article(pause.kind)} pause takes {', '.join(pause.actions)}, "
            f"not {decision.action}"
        )
    if decision.role not in pause.roles:
        raise RoleRefusedError(
            f"role {decision.role!r} may not answer {with_article(pause.kind)} pause; "
            f"allowed roles: {', '.join(pause.roles)}"
        )
    if decision.alternative is not None:
        _check_alternative(pause, decision)
    elif needs_text(pause.kind, decision.action) and not decision.text.strip():
        if decision.action == "reject":
            raise DecisionError("reject needs a reason")
        raise DecisionError(f"{decision.action} needs text (the answer, feedback or requirement)")
    if decision.caps is not None and pause.kind != "budget":
        raise DecisionError("new budget caps can only answer a budget pause")


def alternative_action(pause: Pause) -> DecisionAction:
    """Return the action that picks an alternative on ``pause``: approve, else answer."""
    return "approve" if "approve" in pause.actions else "answer"


def _check_alternative(pause: Pause, decision: Decision) -> None:
    """Refuse an alternative the pause did not offer, or one picked with the wrong action."""
    chosen = pause.alternative(decision.alternative or "")
    if chosen is None:
        offered = ", ".join(a.id for a in pause.alternatives) or "none"
        raise DecisionError(
            f"this {pause.kind} pause offers no alternative {decision.alternative!r}; "
            f"offered: {offered}"
        )
    if decision.action != alternative_action(pause):
        raise DecisionError(
            f"an alternative is picked with {alternative_action(pause)}, not {decision.action}"
        )
    if chosen.kind == "narrow_scope" and not decision.text.strip():
        raise DecisionError("narrow_scope needs the narrowed requirement as text")
