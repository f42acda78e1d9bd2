"""Approval rules applied to a request for a person: which rule, auto-approval, alternatives.

A request is a pause that needs a person (``control/hitl.Pause``); the graph
gathers its facts (``graph/oversight/requests.py``: the estimated cost to finish, the
confidence behind it, its risk factors, the final checks) and this module
decides, from the policy file's ``approval_rules`` alone: which rule matches
(first match wins; each kind has a default), whether that rule approves it
without a person, which of the asking team's alternatives the rule allows,
and what the watchdog does once the request is past its deadline. Pure:
nothing here reads the graph, the clock or the database.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

from pydantic import BaseModel, ConfigDict, Field

from devfactory.control.policy import (
    ACTION_OF,
    PRIORITIES,
    ActionKind,
    AlternativeKind,
    ApprovalRule,
    Policy,
    Priority,
    Risk,
)

RULE_PREFIX: Final = "policy:rule:"
"""How an auto-approval is signed: ``policy:rule:<the rule's name>``."""

# What a kind no rule matches gets: nobody approves it but a person, it never jumps the
# queue, and the pause_expiry_s setting is its deadline.
DEFAULT_PRIORITY: Final[dict[ActionKind, Priority]] = {
    "governance": "MEDIUM",
    "stage_gate": "MEDIUM",
    "budget": "HIGH",
    "review": "MEDIUM",
    "merge": "HIGH",
    "hold": "CRITICAL",
}


class Alternative(BaseModel):
    """Another course a person may pick instead of the one asked about.

    ``id`` names it in an answer: the kind, and for ``drop_stage`` the stage
    (``drop_stage:documentation``). Costs are estimates of what finishing the
    run would cost on this course (None: no estimate).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1, max_length=120)
    kind: AlternativeKind
    title: str = Field(max_length=200)
    pros: tuple[str, ...] = ()
    cons: tuple[str, ...] = ()
    estimated_cost_usd: float | None = Field(default=None, ge=0)
    estimated_tokens: int | None = Field(default=None, ge=0)
    stage: str = Field(default="", max_length=60)  # the stage a drop_stage drops


def alternative_id(kind: AlternativeKind, stage: str = "") -> str:
    """Return the id of an alternative of ``kind`` (on ``stage`` for a drop)."""
    return f"{kind}:{stage}" if stage else kind


@dataclass(frozen=True)
class Facts:
    """What a rule's thresholds and checks are measured against, gathered by the graph.

    ``None`` means unknown; an unknown fact never satisfies a threshold.
    """

    cost_to_finish_usd: float | None = None
    tokens_to_finish: int | None = None
    confidence: float | None = None
    new_risk_factors: tuple[str, ...] = ()
    final_checks_passed: bool | None = None
    blocked_stages: tuple[str, ...] = ()
    budget_breaches: tuple[str, ...] = ()  # caps at or past the warning line


def default_rule(action: ActionKind) -> ApprovalRule:
    """Return the rule of a request no rule in the file matches."""
    return ApprovalRule(
        name=f"default-{action.replace('_', '-')}",
        action=action,
        priority=DEFAULT_PRIORITY[action],
        on_expiry="wait" if action == "hold" else "unattended",
    )


def rule_for(policy: Policy, kind: str, team: str | None, risk: Risk | None) -> ApprovalRule:
    """Return the first rule of ``policy`` about a ``kind`` pause of ``team`` at ``risk``."""
    action = ACTION_OF[kind]
    for rule in policy.approval_rules:
        if rule.matches(action, team, risk):
            return rule
    return default_rule(action)


def named_rule(policy: Policy, name: str, kind: str) -> ApprovalRule:
    """Return the rule called ``name`` (a pause names its rule), else its kind's default."""
    found = next((r for r in policy.approval_rules if r.name == name), None)
    return found if found is not None else default_rule(ACTION_OF[kind])


def roles_for(policy: Policy, rule: ApprovalRule, kind: str) -> tuple[str, ...]:
    """Return who may answer: the rule's roles, else the policy's for the pause kind."""
    return rule.roles or policy.roles[kind]  # type: ignore[index]


def auto_approves(rule: ApprovalRule, facts: Facts) -> tuple[bool, list[str]]:
    """Say whether ``rule`` approves a request with ``facts`` without a person, and why.

    Every threshold and named check must hold; an unknown fact fails its
    threshold, so a request the graph could not measure goes to a person.
    The reasons say what held (approved) or what did not (asked).
    """
    if not rule.auto_approve or rule.action in ("stage_gate", "hold"):
        return False, [f"rule {rule.name} leaves it to a person"]
    held: list[str] = []
    failed: list[str] = []

    def check(ok: bool, yes: str, no: str) -> None:
        (held if ok else failed).append(yes if ok else no)

    if rule.max_cost_usd is not None:
        cost = facts.cost_to_finish_usd
        check(
            cost is not None and cost <= rule.max_cost_usd,
            f"estimated cost to finish ${cost or 0:.4f} <= ${rule.max_cost_usd:.4f}",
            f"estimated cost to finish {_usd(cost)} is not within ${rule.max_cost_usd:.4f}",
        )
    if rule.max_tokens is not None:
        tokens = facts.tokens_to_finish
        check(
            tokens is not None and tokens <= rule.max_tokens,
            f"estimated tokens to finish {tokens or 0:,} <= {rule.max_tokens:,}",
            f"estimated tokens to finish {_count(tokens)} is not within {rule.max_tokens:,}",
        )
    if rule.min_confidence is not None:
        conf = facts.confidence
        check(
            conf is not None and conf >= rule.min_confidence,
            f"confidence {conf or 0:.2f} >= {rule.min_confidence:.2f}",
            f"confidence {_ratio(conf)} is below {rule.min_confidence:.2f}",
        )
    for name in rule.checks:
        ok, yes, no = _CHECKS[name](facts)
        check(ok, yes, no)
    if failed:
        return False, failed
    return True, held or [f"rule {rule.name} approves without conditions"]


def _usd(value: float | None) -> str:
    return "unknown" if value is None else f"${value:.4f}"


def _count(value: int | None) -> str:
    return "unknown" if value is None else f"{value:,}"


def _ratio(value: float | None) -> str:
    return "unknown" if value is None else f"{value:.2f}"


def _final_checks(facts: Facts) -> tuple[bool, str, str]:
    return (
        facts.final_checks_passed is True,
        "the final checks passed",
        "the final checks did not pass"
        if facts.final_checks_passed is False
        else "no final checks ran",
    )


def _no_new_factors(facts: Facts) -> tuple[bool, str, str]:
    return (
        not facts.new_risk_factors,
        "no new risk factors",
        "new risk factors: " + "; ".join(facts.new_risk_factors[:3]),
    )


def _no_blocked(facts: Facts) -> tuple[bool, str, str]:
    return (
        not facts.blocked_stages,
        "no stage is blocked",
        "blocked stages: " + ", ".join(facts.blocked_stages[:5]),
    )


def _within_budget(facts: Facts) -> tuple[bool, str, str]:
    return (
        not facts.budget_breaches,
        "every budget is below its warning line",
        "at the warning line: " + "; ".join(facts.budget_breaches[:3]),
    )


_CHECKS = {
    "final_checks_passed": _final_checks,
    "no_new_risk_factors": _no_new_factors,
    "no_blocked_stages": _no_blocked,
    "within_budget": _within_budget,
}


@dataclass(frozen=True)
class Screened:
    """The alternatives a rule lets a person pick, and why it removed the others."""

    kept: tuple[Alternative, ...] = ()
    removed: tuple[str, ...] = field(default_factory=tuple)


def screen_alternatives(
    rule: ApprovalRule,
    proposed: Sequence[Alternative],
    *,
    needs: Mapping[str, Collection[str]],
    done: Collection[str],
) -> Screened:
    """Keep the proposed alternatives the rule allows and the pipeline can bear.

    Args:
        rule: the matched rule (its ``alternatives`` are the kinds it allows).
        proposed: what the asking team proposed.
        needs: each stage of the pipeline and the stages it reads.
        done: stages that already have a record this round.

    A drop is removed when its stage already ran or another stage still to run
    reads it; a kind the rule does not list is removed; so is a second
    alternative with the same id.

    """
    kept: list[Alternative] = []
    removed: list[str] = []
    for alt in proposed:
        if alt.kind not in rule.alternatives:
            removed.append(f"{alt.id}: rule {rule.name} does not allow {alt.kind}")
        elif any(k.id == alt.id for k in kept):
            continue
        elif alt.kind == "drop_stage":
            why = _undroppable(alt.stage, needs, done)
            if why:
                removed.append(f"{alt.id}: {why}")
            else:
                kept.append(alt)
        else:
            kept.append(alt)
    return Screened(tuple(kept), tuple(removed))


def _undroppable(stage: str, needs: Mapping[str, Collection[str]], done: Collection[str]) -> str:
    """Say why ``stage`` may not be dropped ("" when it may)."""
    if stage not in needs:
        return f"{stage or 'no stage'} is not a stage of this pipeline"
    if stage in done:
        return f"{stage} already ran"
    readers = sorted(s for s, reads in needs.items() if stage in reads and s not in done)
    if readers:
        return f"{', '.join(readers)} need {stage}'s results"
    return ""


def priority_rank(priority: str) -> int:
    """Rank a priority, CRITICAL highest (an unknown one ranks as MEDIUM)."""
    return PRIORITIES.index(priority) if priority in PRIORITIES else 1


@dataclass(frozen=True)
class Expiry:
    """What the watchdog does with an expired request.

    ``action``: "unattended" (the kind's unattended rule), "approve", "reject",
    "wait" or "alternative"; ``alternative`` the offered alternative it picks.
    """

    action: str
    alternative: Alternative | None = None


def on_expiry(rule: ApprovalRule, kind: str, offered: Sequence[Alternative]) -> Expiry:
    """Return what ``rule`` does with an expired ``kind`` request offering ``offered``.

    A hold never expires. ``alternative:<kind>`` picks the first offered
    alternative of that kind; when none was offered, the kind's unattended
    rule applies instead.
    """
    if kind == "hold" or rule.on_expiry == "wait":
        return Expiry("wait")
    if rule.on_expiry.startswith("alternative:"):
        wanted = rule.on_expiry.removeprefix("alternative:")
        pick = next((a for a in offered if a.kind == wanted), None)
        return Expiry("alternative", pick) if pick is not None else Expiry("unattended")
    return Expiry(rule.on_expiry)
