"""The unattended preset: every pause answered by a recorded rule instead of a person.

A run started unattended carries the flag in its state; each node that would
pause asks ``answer`` first. The rules come from the policy file's
``unattended`` section (``UnattendedRules``), and each decision is a plain
``Decision`` by ``policy:unattended`` whose text names the rule, so it is
recorded in the run's decisions, its transitions and the audit log exactly
where a person's would be.

The policy does not bypass ``check_decision``: it acts in the least trusted
role the policy file allows for that pause (an operator for a clarification,
a reviewer for the review, an approver for a budget or scope pause). A rule
whose decision would be refused, or a rule set to "wait", leaves the pause to
a person. A governance approval never gets a decision of the policy's own:
it proceeds only on an approver's pre-approval of the run's project, made
before the run, and text aimed at the reviewers waits for a person even then.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

from devfactory.control.approval_rules import named_rule, on_expiry
from devfactory.control.hitl import (
    POLICY_PREFIX,
    Decision,
    DecisionAction,
    DecisionError,
    Pause,
    alternative_action,
    check_decision,
)
from devfactory.control.policy import ROLES, PauseKind, Policy

ACTOR = f"{POLICY_PREFIX}unattended"

# What a rule answers: each pause kind, and "scope" (a governance pause on text
# that reaches the teams after the requirement was approved).
Rule = Literal["governance", "scope", "budget", "review", "blocked", "clarification", "merge"]
RULES: tuple[Rule, ...] = get_args(Rule)

# What each rule's choice decides: the action, and the reason recorded with it.
OUTCOMES: dict[tuple[Rule, str], tuple[DecisionAction, str]] = {
    ("clarification", "decide"): (
        "reject",
        "no person answers an unattended run: decide it yourself and list the assumption "
        "under assumptions_made",
    ),
    ("blocked", "fail"): (
        "reject",
        "no person guides an unattended run: the stage ends BLOCKED and the run fails",
    ),
    ("review", "approve"): ("approve", "the unattended run's result is approved by policy"),
    ("review", "reject"): ("reject", "the unattended run's result is rejected by policy"),
    ("budget", "stop"): (
        "reject",
        "no budget override in an unattended run: the run stops at the warning line",
    ),
    ("merge", "approve"): ("approve", "the unattended run's branch is merged by policy"),
    ("scope", "reject"): (
        "reject",
        "text past the approved scope is rejected by policy in an unattended run",
    ),
}


class PreApproval(BaseModel):
    """An approver's standing approval of a project's runs at their governance pause."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    project: str = Field(min_length=1, max_length=200)
    by: str = Field(min_length=1, max_length=120)
    role: str = Field(min_length=1, max_length=60)
    note: str = Field(default="", max_length=2000)
    at: datetime


def rule_of(pause: Pause, rule: Rule | None = None) -> Rule:
    """Return the rule that answers ``pause``: ``rule`` when named, else its kind's."""
    kind: PauseKind = pause.kind
    if kind == "hold":
        raise ValueError("no unattended rule answers a hold")
    return rule or kind


def rules_table(policy: Policy) -> dict[Rule, str]:
    """Return each rule's choice in ``policy`` (what ``devfactory`` docs and tests list)."""
    return {name: getattr(policy.unattended, name) for name in RULES}


def check_pre_approver(policy: Policy, by: str, role: str) -> None:
    """Raise ``DecisionError`` unless ``by``, acting as ``role``, may pre-approve a project.

    Whoever may approve a governance pause may pre-approve; nobody may sign as
    the policy itself.
    """
    if by.startswith(POLICY_PREFIX):
        raise DecisionError(f"names starting with {POLICY_PREFIX!r} are the factory's own")
    allowed = policy.roles["governance"]
    if role not in allowed:
        raise DecisionError(
            f"role {role!r} may not pre-approve a project; allowed roles: {', '.join(allowed)}"
        )


def least_trusted(roles: tuple[str, ...]) -> str:
    """Return the least trusted of ``roles`` (in ``ROLES`` order): the one the policy acts in."""
    return next((r for r in ROLES if r in roles), roles[0])


def _pre_approved(
    pause: Pause, policy: Policy, project: str, pre_approval: PreApproval | None
) -> Decision | None:
    """Approve a governance pause on the project's pre-approval, if one covers it."""
    if pre_approval is None or pre_approval.project != project:
        return None
    if policy.injection.factor in (pause.details.get("risk_factors") or []):
        return None  # text aimed at the reviewers is never approved in advance
    text = (
        f"pre-approved for project {project} by {pre_approval.by} ({pre_approval.role}) on "
        f"{pre_approval.at:%Y-%m-%d %H:%M} UTC"
        + (f": {pre_approval.note}" if pre_approval.note else "")
        + " (unattended rule governance: pre_approved)"
    )
    # the approver's role, not one of the policy's own: the approval is theirs
    return Decision(action="approve", text=text[:8000], by=ACTOR, role=pre_approval.role)


def answer(
    pause: Pause,
    policy: Policy,
    *,
    rule: Rule | None = None,
    project: str = "default",
    pre_approval: PreApproval | None = None,
) -> Decision | None:
    """Return the unattended policy's decision on ``pause``, or None to wait for a person.

    Args:
        pause: what the run would ask a person.
        policy: the policy (its ``unattended`` rules and its roles).
        rule: the rule to apply, when not the pause's kind ("scope").
        project: the run's project.
        pre_approval: the project's standing pre-approval, if any.

    """
    if pause.kind == "hold":
        return None  # a stage an operator held waits for the operator
    name = rule_of(pause, rule)
    choice = getattr(policy.unattended, name)
    if choice == "wait" or not pause.roles:
        return None
    if name == "governance":
        decision = _pre_approved(pause, policy, project, pre_approval)
    else:
        action, reason = OUTCOMES[(name, choice)]
        text = f"{reason} (unattended rule {name}: {choice})"
        decision = Decision(action=action, text=text, by=ACTOR, role=least_trusted(pause.roles))
    if decision is None:
        return None
    try:
        check_decision(pause, decision)
    except DecisionError:
        return None  # the policy file no longer lets this rule answer: a person decides
    return decision


EXPIRY = f"{POLICY_PREFIX}expiry"


def expired(
    pause: Pause,
    policy: Policy,
    *,
    waited_s: float,
    deadline: str = "pause_expiry_s",
    project: str = "default",
    pre_approval: PreApproval | None = None,
) -> Decision | None:
    """Return the decision on a request past its deadline, by its rule's ``on_expiry``.

    The decision is signed ``policy:expiry`` and says how long the request
    waited and which rule decided. "unattended" answers as the kind's
    unattended rule would (what expiry did before rules had their own);
    ``deadline`` names where the deadline came from (the setting, or the rule).
    "wait", a hold, and a rule whose decision the pause would refuse leave it
    to a person (None).
    """
    rule = named_rule(policy, pause.rule, pause.kind)
    plan = on_expiry(rule, pause.kind, pause.alternatives)
    waited = (
        f"the pause waited {waited_s:g} s for a person ({deadline}) and EXPIRED (rule {rule.name}"
    )
    role = least_trusted(pause.roles) if pause.roles else ""
    if plan.action == "wait" or not role:
        return None
    if plan.action == "unattended":
        ruled = answer(pause, policy, project=project, pre_approval=pre_approval)
        if ruled is None:
            return None
        text = f"{waited}: on_expiry unattended); {ruled.text}"
        decision = ruled.model_copy(update={"by": EXPIRY, "text": text[:8000]})
    elif plan.action == "alternative" and plan.alternative is not None:
        text = f"{waited}: on_expiry picks {plan.alternative.title})"
        decision = Decision(
            action=alternative_action(pause),
            text=text[:8000],
            by=EXPIRY,
            role=role,
            alternative=plan.alternative.id,
        )
    else:
        verb = "approved" if plan.action == "approve" else "rejected"
        text = f"{waited}: on_expiry {plan.action}); {verb} by policy"
        decision = Decision(action=plan.action, text=text[:8000], by=EXPIRY, role=role)  # type: ignore[arg-type]
    try:
        check_decision(pause, decision)
    except DecisionError:
        return None
    return decision
