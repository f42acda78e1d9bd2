"""Governance policy: risk floor, injection detection and the approval decision.

The decision is made here, in code, from the policy file and the assessment;
the model only contributes a rating that can raise the level. Text in the
requirement can therefore never approve itself: instructions aimed at the
assessor are detected and raise the risk, and a model fooled into answering
LOW is overruled by the deterministic floor.
"""

from __future__ import annotations

import re
from enum import StrEnum
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator


class Risk(StrEnum):
    """Assessed risk of a requirement."""

    LOW = "LOW"
    MEDIUM = "MEDIUM"
    HIGH = "HIGH"

    @property
    def rank(self) -> int:
        """Order LOW < MEDIUM < HIGH."""
        return ("LOW", "MEDIUM", "HIGH").index(self.value)


PauseKind = Literal["governance", "budget", "review", "blocked", "clarification"]
Action = Literal["proceed", "notify", "approve"]

# The roles a person acts in, least trusted first: who may start runs, answer
# pauses or only look. The policy file says which roles may answer which pause.
ROLES = ("viewer", "operator", "reviewer", "approver", "admin")


class RiskRule(BaseModel):
    """A deterministic risk factor: any pattern match sets at least ``level``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    factor: str
    level: Risk
    patterns: tuple[str, ...] = Field(min_length=1)

    @field_validator("patterns")
    @classmethod
    def _compiles(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for pattern in value:
            re.compile(pattern)
        return value

    def matches(self, text: str) -> bool:
        """Say whether any pattern occurs in ``text``."""
        return any(re.search(p, text, re.IGNORECASE) for p in self.patterns)


class ApprovalRules(BaseModel):
    """Reasons to ask a person whatever the assessed risk."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    budget_tokens_over: int | None = Field(default=None, ge=0)
    budget_cost_over_usd: float | None = Field(default=None, ge=0)
    confidence_below: float = Field(default=0.0, ge=0.0, le=1.0)


class Assessment(BaseModel):
    """A governance assessment of one requirement (its grammar is derived from this model).

    Reasons and risk factors come first, so a model reviews before it rates.
    """

    model_config = ConfigDict(extra="forbid")

    reasons: list[Annotated[str, Field(max_length=200)]] = Field(default_factory=list, max_length=4)
    risk_factors: list[Annotated[str, Field(max_length=120)]] = Field(
        default_factory=list, max_length=6
    )
    risk: Risk
    confidence: float = Field(ge=0.0, le=1.0)


class PolicyDecision(BaseModel):
    """What the policy says to do with an assessed requirement."""

    risk: Risk
    action: Action
    reasons: list[str]
    risk_factors: list[str]
    model_risk: Risk | None = None

    @property
    def needs_approval(self) -> bool:
        """Say whether a person must approve before any team works."""
        return self.action == "approve"


class Policy(BaseModel):
    """The parsed policy file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    risk_actions: dict[Risk, Action]
    approval_rules: ApprovalRules = ApprovalRules()
    roles: dict[PauseKind, tuple[str, ...]]
    risk_rules: tuple[RiskRule, ...] = ()
    injection: RiskRule

    def model_post_init(self, __context: object) -> None:
        """Require an action for every level and roles for every pause kind."""
        missing = [r.value for r in Risk if r not in self.risk_actions]
        if missing:
            raise ValueError(f"policy has no risk_actions for {missing}")
        kinds = [k for k in PauseKind.__args__ if k not in self.roles]  # type: ignore[attr-defined]
        if kinds:
            raise ValueError(f"policy names no roles for pauses {kinds}")
        unknown = sorted({r for roles in self.roles.values() for r in roles} - set(ROLES))
        if unknown:
            raise ValueError(f"policy names unknown roles {unknown}; roles: {', '.join(ROLES)}")

    def floor(self, requirement: str) -> tuple[Risk, list[str]]:
        """Return the lowest risk the rules allow for ``requirement`` and the factors found."""
        level, factors = Risk.LOW, []
        for rule in (*self.risk_rules, self.injection):
            if rule.matches(requirement):
                factors.append(rule.factor)
                level = max(level, rule.level, key=lambda r: r.rank)
        return level, factors

    def decide(
        self,
        requirement: str,
        assessment: Assessment | None,
        *,
        budget_tokens: int | None = None,
        budget_cost_usd: float | None = None,
    ) -> PolicyDecision:
        """Combine the rule floor, the model's assessment and the approval rules.

        A missing assessment (the model could not produce one) fails closed: HIGH.
        """
        floor, factors = self.floor(requirement)
        reasons: list[str] = []
        if assessment is None:
            risk = Risk.HIGH
            reasons.append("no valid risk assessment could be produced; failing closed")
            model_risk = None
        else:
            model_risk = assessment.risk
            risk = max(floor, assessment.risk, key=lambda r: r.rank)
            reasons.extend(assessment.reasons)
            factors = [*factors, *(f for f in assessment.risk_factors if f not in factors)]
            if floor.rank > assessment.risk.rank:
                reasons.append(
                    f"policy rules raise the assessed {assessment.risk} to {floor}: "
                    + "; ".join(f for f in factors[:3])
                )
        action = self.risk_actions[risk]
        rules = self.approval_rules
        if action != "approve":
            if assessment is not None and assessment.confidence < rules.confidence_below:
                action = "approve"
                reasons.append(
                    f"assessment confidence {assessment.confidence:.2f} is below "
                    f"{rules.confidence_below:.2f}"
                )
            if (
                rules.budget_tokens_over is not None
                and budget_tokens is not None
                and budget_tokens > rules.budget_tokens_over
            ):
                action = "approve"
                reasons.append(
                    f"token budget {budget_tokens:,} exceeds {rules.budget_tokens_over:,}"
                )
            if (
                rules.budget_cost_over_usd is not None
                and budget_cost_usd is not None
                and budget_cost_usd > rules.budget_cost_over_usd
            ):
                action = "approve"
                reasons.append(
                    f"cost budget ${budget_cost_usd:.2f} exceeds ${rules.budget_cost_over_usd:.2f}"
                )
        return PolicyDecision(
            risk=risk,
            action=action,
            reasons=reasons[:10],
            risk_factors=factors[:12],
            model_risk=model_risk,
        )


def load_policy(path: Path | None = None) -> Policy:
    """Read the policy file at ``path`` or the packaged default."""
    if path is None:
        return _packaged_policy()
    return Policy.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))


@lru_cache(maxsize=1)
def _packaged_policy() -> Policy:
    text = (files("devfactory.config") / "policy.yaml").read_text(encoding="utf-8")
    return Policy.model_validate(yaml.safe_load(text))
