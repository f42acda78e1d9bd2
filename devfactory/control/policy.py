"""Governance policy: risk floor, injection detection and the approval decision.

The decision is made here, in code, from the policy file and the assessment;
the model only contributes a rating that can raise the level. Text in the
requirement can therefore never approve itself: instructions aimed at the
assessor are detected and raise the risk, and a model fooled into answering
LOW is overruled by the deterministic floor. A second, independent check (a
trained classifier, measured outside this package in graph/screening/check.py) adds
risk factors by meaning; this module only compares its scores with their lines.

Why one module: it is the policy file's schema and the rules read from it
(risk floor, injection, roles, approval decision, screening thresholds, and
the schema of the approval rules that control/approval_rules.py applies); each
rule reads fields the others define, and splitting the model from its rules
would leave two halves of one file format.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from devfactory.config import load_config


class Risk(StrEnum):
    """Assessed risk of a requirement."""

    LOW = "LOW"
    MEDIUM = "MEDIUM"
    HIGH = "HIGH"

    @property
    def rank(self) -> int:
        """Order LOW < MEDIUM < HIGH."""
        return ("LOW", "MEDIUM", "HIGH").index(self.value)


PauseKind = Literal["governance", "budget", "review", "blocked", "clarification", "merge", "hold"]
Action = Literal["proceed", "notify", "approve"]

# What an approval rule is about: the pause kinds as the policy file groups them (a
# stage that is blocked or asks a question no team could answer is a stage gate).
ActionKind = Literal["governance", "stage_gate", "budget", "review", "merge", "hold"]
ACTION_OF: dict[str, ActionKind] = {
    "governance": "governance",
    "budget": "budget",
    "review": "review",
    "blocked": "stage_gate",
    "clarification": "stage_gate",
    "merge": "merge",
    "hold": "hold",
}
Priority = Literal["LOW", "MEDIUM", "HIGH", "CRITICAL"]
PRIORITIES: tuple[Priority, ...] = ("LOW", "MEDIUM", "HIGH", "CRITICAL")
# Other courses a person may pick instead of the asked one (their effect:
# graph/oversight/requests.py).
AlternativeKind = Literal["cheaper_model", "drop_stage", "narrow_scope"]
ALTERNATIVE_KINDS: tuple[AlternativeKind, ...] = ("cheaper_model", "drop_stage", "narrow_scope")
# The extra checks a rule may ask before it auto-approves (control/approval_rules.py runs them).
ExtraCheck = Literal[
    "final_checks_passed", "no_new_risk_factors", "no_blocked_stages", "within_budget"
]
# What the watchdog does with a request past its deadline: the unattended rule of its kind
# (what expiry did before rules had their own), approve, reject, wait for ever, or pick the
# offered alternative of a kind ("alternative:cheaper_model").
EXPIRY_CHOICES = ("unattended", "approve", "reject", "wait")
# Roles of the pause kinds added after policy files were written (an older file still loads).
LATER_KIND_ROLES: dict[str, list[str]] = {"merge": ["approver", "admin"], "hold": ["admin"]}

# The factor of a text the independent check could not vouch for (it fails closed).
UNCHECKED = "the independent risk check could not vouch for the text"

# The roles a person acts in, least trusted first: who may start runs, answer
# pauses or only look. The policy file says which roles may answer which pause.
ROLES = ("viewer", "operator", "reviewer", "approver", "admin")


class RiskRule(BaseModel):
    """A deterministic risk factor: any pattern match sets at least ``level``.

    With ``together_with``, a pattern counts only in a text where one of those
    occurs too: a cue ("so staff do not notice") with what it is about (a screen).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    factor: str
    level: Risk
    patterns: tuple[str, ...] = Field(min_length=1)
    together_with: tuple[str, ...] = ()

    @field_validator("patterns", "together_with")
    @classmethod
    def _compiles(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for pattern in value:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"pattern {pattern!r} does not compile: {exc}") from exc
        return value

    def matches(self, text: str) -> bool:
        """Say whether any pattern occurs in ``text`` (with one of ``together_with``)."""
        found = any(re.search(p, text, re.IGNORECASE) for p in self.patterns)
        if not found or not self.together_with:
            return found
        return any(re.search(p, text, re.IGNORECASE) for p in self.together_with)


class ApprovalRules(BaseModel):
    """Reasons to ask a person whatever the assessed risk."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    budget_tokens_over: int | None = Field(default=None, ge=0)
    budget_cost_over_usd: float | None = Field(default=None, ge=0)
    confidence_below: float = Field(default=0.0, ge=0.0, le=1.0)


class ApprovalRule(BaseModel):
    """One rule of ``approval_rules``: which requests it matches and how they are decided.

    A rule matches a request by team (or "any"), action kind and risk (or "any");
    the first match wins and each kind has a default (``control/approval_rules.py``).
    ``auto_approve`` lets the policy approve, signed ``policy:rule:<name>``, when
    the thresholds and ``checks`` all hold; otherwise a person in ``roles`` (the
    ``roles`` of the pause kind when empty) decides before ``deadline_s`` (None:
    the ``pause_expiry_s`` setting), after which ``on_expiry`` applies.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=60, pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    action: ActionKind
    team: str = Field(default="any", min_length=1, max_length=60)
    risk: Risk | Literal["any"] = "any"
    auto_approve: bool = False
    roles: tuple[str, ...] = ()
    max_cost_usd: float | None = Field(default=None, ge=0, le=1_000_000)
    max_tokens: int | None = Field(default=None, ge=0, le=10_000_000_000)
    min_confidence: float | None = Field(default=None, ge=0.0, le=1.0)
    checks: tuple[ExtraCheck, ...] = ()
    priority: Priority = "MEDIUM"
    deadline_s: float | None = Field(default=None, gt=0, le=365 * 86400)
    on_expiry: str = "unattended"
    alternatives: tuple[AlternativeKind, ...] = ALTERNATIVE_KINDS  # kinds it lets teams offer

    @field_validator("on_expiry")
    @classmethod
    def _known_expiry(cls, value: str) -> str:
        kind = value.removeprefix("alternative:")
        if value in EXPIRY_CHOICES or (kind != value and kind in ("cheaper_model", "drop_stage")):
            return value
        raise ValueError(
            f"on_expiry {value!r} is not one of {', '.join(EXPIRY_CHOICES)}, "
            "alternative:cheaper_model, alternative:drop_stage"
        )

    def model_post_init(self, __context: object) -> None:
        """Refuse a rule that could not act as written."""
        if self.auto_approve and self.action in ("stage_gate", "hold"):
            raise ValueError(
                f"rule {self.name}: a {self.action} request asks a person for guidance; "
                "it cannot be auto-approved"
            )
        if self.action == "hold" and self.on_expiry != "wait":
            raise ValueError(f"rule {self.name}: a hold never expires (on_expiry: wait)")
        unknown = sorted(set(self.roles) - set(ROLES))
        if unknown:
            raise ValueError(f"rule {self.name} names unknown roles {unknown}")

    def matches(self, action: ActionKind, team: str | None, risk: Risk | None) -> bool:
        """Say whether the rule is about a request of ``action`` by ``team`` at ``risk``."""
        return (
            self.action == action
            and (self.team == "any" or self.team == (team or ""))
            and (self.risk == "any" or self.risk == risk)
        )


# The similarity screen's per-embedder lines, replaced by the trained classifier's.
SIMILARITY_LINES = ("intent", "margin", "classifier", "classifier_floor", "classifier_margin")


class Calibration(BaseModel):
    """The injection detector's thresholds measured for one embedder.

    A part of a text is addressed to the reviewers when its cosine similarity
    to an injection phrasing reaches ``injection`` and exceeds its similarity
    to ordinary wording near one by ``injection_margin``. Listing an embedder
    here is what lets the check run with it; the risk classifier's own line
    comes with its trained model (``graph/screening/classifier.py``).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    injection: float = Field(gt=0.0, lt=1.0)
    injection_margin: float = Field(default=0.0, ge=0.0, lt=1.0)

    @model_validator(mode="before")
    @classmethod
    def _similarity_lines(cls, data: Any) -> Any:
        """Read a file written for the similarity screen: its intent lines no longer apply."""
        if isinstance(data, dict):
            data = {k: v for k, v in data.items() if k not in SIMILARITY_LINES}
        return data

    def injection_slack(self, score: float, benign: float) -> float:
        """Return how far a part is past the line for an injection (>= 0: it is one)."""
        return min(score - self.injection, score - benign - self.injection_margin)


class ScreeningRules(BaseModel):
    """The independent check: a trained risk classifier, and similarity to injections."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    intents_file: Path | None = None  # None: the packaged config/risky_intents.yaml
    model_file: Path | None = None  # None: the packaged config/screening_model.npz
    calibrated: dict[str, Calibration] = Field(min_length=1)  # by embedder name
    max_parts: int = Field(default=120, ge=1, le=1000)  # parts of a text scored; more fails
    min_part_words: int = Field(default=12, ge=1, le=20)  # must be the model's own


class Match(BaseModel):
    """The part of a text likeliest to be risky among those that show one intent.

    ``probability`` is the risk classifier's calibrated probability that the
    part states a risky intent; the intent is the one its intent model finds
    likeliest for that part.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    intent: str
    factor: str
    level: Risk
    probability: float = Field(ge=0.0, le=1.0)
    part: str = Field(max_length=300)


class Screen(BaseModel):
    """What the independent check measured on a text (measured in graph/screening/check.py)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    embedder: str = ""
    model: str = ""  # the start of the trained model's data SHA-256
    threshold: float = Field(default=1.0, ge=0.0, le=1.0)  # the model's line (cross-validated)
    intents: tuple[Match, ...] = ()  # the likeliest risky part of each intent, best first
    injection: float = -1.0  # the best similarity of a part to text addressed to reviewers
    injection_part: str = Field(default="", max_length=300)
    injection_benign: float = -1.0  # that part's similarity to ordinary requirement wording
    parts: int = 0  # parts of the text scored
    skipped: int = 0  # parts left unscored past ``max_parts``
    problem: str = ""  # why the check could not run ("" when it ran)


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


class GovernanceRecord(PolicyDecision):
    """A run's governance as its state keeps it: the policy's decision, and how it was reached.

    ``round`` counts the assessments (a modified requirement is assessed again);
    ``model`` served the last, ``problem`` says why it gave no valid assessment,
    ``confidence`` is its own, and ``screen`` what the independent check measured:
    a ``Screen``, or as an earlier version's check wrote it (its measures were
    others), kept as it was for the run's readers.
    """

    round: int = 1
    model: str = ""
    problem: str = ""
    confidence: float | None = None
    screen: Screen | dict[str, Any] | None = Field(default=None, union_mode="left_to_right")


class ScopeChange(PolicyDecision):
    """Text a person wrote for the teams after governance, as the policy screened it."""

    source: str  # who wrote it and where ("review feedback from bob")
    text: str


class UnattendedRules(BaseModel):
    """How an unattended run answers each pause (applied in control/unattended.py).

    "wait" leaves a kind to a person; a governance approval always waits unless
    an approver pre-approved the run's project.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    clarification: Literal["decide", "wait"] = "decide"  # the asking team decides, and says so
    blocked: Literal["fail", "wait"] = "fail"  # a stage at its attempt cap ends BLOCKED
    review: Literal["approve", "reject", "wait"] = "approve"
    budget: Literal["stop", "wait"] = "stop"  # no override at the warning line
    scope: Literal["reject", "wait"] = "reject"  # later text past the approved scope
    governance: Literal["pre_approved", "wait"] = "pre_approved"
    merge: Literal["approve", "wait"] = "wait"  # an unattended run never merges by itself


class Policy(BaseModel):
    """The parsed policy file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    risk_actions: dict[Risk, Action]
    # Reasons for a governance approval whatever the risk (the file's ``approval_triggers``;
    # a file that still calls this mapping ``approval_rules`` is read the same).
    approval_triggers: ApprovalRules = ApprovalRules()
    approval_rules: tuple[ApprovalRule, ...] = ()  # first match wins (control/approval_rules.py)
    roles: dict[PauseKind, tuple[str, ...]]
    # Roles that may see every run (stages, pauses, files); others see only their own.
    see_all_runs: tuple[str, ...] = ()
    # Named fragments the rules' patterns share, written "{NAME}" in a pattern (a fragment may
    # name others): a long shape (who is addressed, then what they are asked) is written once
    # and read by its parts.
    pattern_terms: dict[str, str] = {}
    risk_rules: tuple[RiskRule, ...] = ()
    injection: RiskRule
    screening: ScreeningRules
    unattended: UnattendedRules = UnattendedRules()

    @model_validator(mode="before")
    @classmethod
    def _expand_terms(cls, data: Any) -> Any:
        """Write each ``{NAME}`` of the rules' patterns out as its ``pattern_terms`` entry."""
        if not isinstance(data, dict):
            return data
        # always, so that a pattern naming a term the file does not define is refused
        written = {str(k): str(v) for k, v in dict(data.get("pattern_terms") or {}).items()}
        for name in written:
            if not _TERM.fullmatch(f"{{{name}}}"):
                raise ValueError(f"pattern_terms: {name!r} is not a NAME in capitals")
        terms = _terms_written_out(written)
        data = dict(data)
        if "injection" in data:
            data["injection"] = _rule_expanded(data["injection"], terms)
        if isinstance(data.get("risk_rules"), list):
            data["risk_rules"] = [_rule_expanded(r, terms) for r in data["risk_rules"]]
        return data

    @model_validator(mode="before")
    @classmethod
    def _older_files(cls, data: Any) -> Any:
        """Read a file written before approval rules were a list, or before merge and hold."""
        if not isinstance(data, dict):
            return data
        data = dict(data)
        if isinstance(data.get("approval_rules"), dict):
            data["approval_triggers"] = data.pop("approval_rules")
        if isinstance(data.get("roles"), dict):
            data["roles"] = {**LATER_KIND_ROLES, **data["roles"]}
        return data

    def model_post_init(self, __context: object) -> None:
        """Require an action for every level and roles for every pause kind."""
        missing = [r.value for r in Risk if r not in self.risk_actions]
        if missing:
            raise ValueError(f"policy has no risk_actions for {missing}")
        kinds = [k for k in PauseKind.__args__ if k not in self.roles]  # type: ignore[attr-defined]
        if kinds:
            raise ValueError(f"policy names no roles for pauses {kinds}")
        named = {r for roles in self.roles.values() for r in roles} | set(self.see_all_runs)
        unknown = sorted(named - set(ROLES))
        if unknown:
            raise ValueError(f"policy names unknown roles {unknown}; roles: {', '.join(ROLES)}")
        names = [r.name for r in self.approval_rules]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"approval_rules names {twice} more than once")

    def may_see_run(self, name: str, role: str, owner: str | None) -> bool:
        """Say whether ``name`` in ``role`` may see (and act on) a run ``owner`` started."""
        return bool(owner) and name == owner or role in self.see_all_runs

    def visible_owners(self, name: str, role: str) -> tuple[str, ...] | None:
        """Return whose runs' memories ``name`` in ``role`` may read (None: everyone's).

        The same rule as ``may_see_run``: one's own, or every run for a role in
        ``see_all_runs``; a person without a name sees nobody's.
        """
        if role in self.see_all_runs:
            return None
        return (name,) if name else ()

    def floor(self, requirement: str) -> tuple[Risk, list[str]]:
        """Return the lowest risk the rules allow for ``requirement`` and the factors found."""
        level, factors = Risk.LOW, []
        for rule in (*self.risk_rules, self.injection):
            if rule.matches(requirement):
                if rule.factor not in factors:  # two shapes of one factor name it once
                    factors.append(rule.factor)
                level = max(level, rule.level, key=lambda r: r.rank)
        return level, factors

    def screened(self, screen: Screen) -> tuple[Risk, list[str], list[str]]:
        """Return the level, risk factors and reasons the independent check found.

        A part counts for an intent when the risk classifier's probability
        reaches the model's line. A check that could not run, ran with an
        embedder that has no thresholds here, or left parts of the text unscored
        cannot vouch for it: HIGH.
        """
        calibration = self.screening.calibrated.get(screen.embedder)
        if screen.problem or calibration is None:
            why = screen.problem or f"no thresholds for the embedder {screen.embedder!r}"
            return (
                Risk.HIGH,
                [UNCHECKED],
                [f"independent check unavailable ({why}); failing closed"],
            )
        level, factors, reasons = Risk.LOW, [], []
        if screen.skipped:
            level = Risk.HIGH
            factors.append(UNCHECKED)
            reasons.append(
                f"the text has {screen.parts + screen.skipped} parts; the independent check "
                f"scores at most {self.screening.max_parts}"
            )
        for match in screen.intents:
            if match.probability < screen.threshold or match.factor in factors:
                continue
            level = max(level, match.level, key=lambda r: r.rank)
            factors.append(match.factor)
            reasons.append(
                f"independent check: {match.intent}: {match.factor} (risk classifier "
                f"{match.probability:.2f} >= {screen.threshold:.2f} in {match.part[:120]!r})"
            )
        if calibration.injection_slack(screen.injection, screen.injection_benign) >= 0:
            level = max(level, self.injection.level, key=lambda r: r.rank)
            factors.append(self.injection.factor)
            reasons.append(
                f"independent check: text addressed to the reviewers (similarity "
                f"{screen.injection:.2f} >= {calibration.injection:.2f} in "
                f"{screen.injection_part[:120]!r})"
            )
        return level, factors, reasons[:4]

    def decide(
        self,
        requirement: str,
        assessment: Assessment | None,
        *,
        screen: Screen | None = None,
        budget_tokens: int | None = None,
        budget_cost_usd: float | None = None,
    ) -> PolicyDecision:
        """Combine the rule floor, the independent check, the assessment and the approval rules.

        Rules and check can only raise the model's rating. A missing assessment,
        an assessor unsure of itself, or a check that cannot vouch: HIGH.
        """
        floor, factors = self.floor(requirement)
        checked, found, why = (Risk.LOW, [], []) if screen is None else self.screened(screen)
        factors = [*factors, *(f for f in found if f not in factors)]
        reasons: list[str] = []
        if assessment is None:
            risk = Risk.HIGH
            reasons.append("no valid risk assessment could be produced; failing closed")
            model_risk = None
        else:
            model_risk = assessment.risk
            risk = max(floor, checked, assessment.risk, key=lambda r: r.rank)
            reasons.extend(assessment.reasons)
            factors = [*factors, *(f for f in assessment.risk_factors if f not in factors)]
            if floor.rank > assessment.risk.rank:
                reasons.append(
                    f"policy rules raise the assessed {assessment.risk} to {floor}: "
                    + "; ".join(f for f in factors[:3])
                )
            if checked.rank > assessment.risk.rank:
                reasons.append(
                    f"the independent check disagrees with the assessed {assessment.risk}: "
                    f"{checked}"
                )
        reasons.extend(why)
        action = self.risk_actions[risk]
        rules = self.approval_triggers
        if action != "approve":
            if assessment is not None and assessment.confidence < rules.confidence_below:
                risk, action = Risk.HIGH, "approve"
                reasons.append(
                    f"assessment confidence {assessment.confidence:.2f} is below "
                    f"{rules.confidence_below:.2f}"
                )
            for budget, over, said in (
                (budget_tokens, rules.budget_tokens_over, "token budget {:,} exceeds {:,}"),
                (
                    budget_cost_usd,
                    rules.budget_cost_over_usd,
                    "cost budget ${:.2f} exceeds ${:.2f}",
                ),
            ):
                if over is not None and budget is not None and budget > over:
                    action = "approve"
                    reasons.append(said.format(budget, over))
        return PolicyDecision(
            risk=risk,
            action=action,
            reasons=reasons[:10],
            risk_factors=factors[:12],
            model_risk=model_risk,
        )

    def rescreen(
        self, text: str, screen: Screen, *, approved: Risk, approved_factors: Collection[str]
    ) -> PolicyDecision:
        """Decide on text that reaches the teams of an approved run (a revision, guidance).

        Text within what was approved goes on. A higher level or a risk factor
        not approved before is judged as a requirement would be: the level's
        action applies, so a HIGH finding waits for an approver.
        """
        floor, factors = self.floor(text)
        checked, found, reasons = self.screened(screen)
        factors = [*factors, *(f for f in found if f not in factors)]
        risk = max(floor, checked, key=lambda r: r.rank)
        new = [f for f in factors if f not in approved_factors]
        action: Action = "proceed"
        if new or risk.rank > approved.rank:
            action = self.risk_actions[risk]
            if new:
                reasons.insert(0, "risk factors not approved before: " + "; ".join(new[:4]))
            if risk.rank > approved.rank:
                reasons.insert(0, f"risk {risk} is above the approved {approved}")
        return PolicyDecision(
            risk=risk, action=action, reasons=reasons[:10], risk_factors=factors[:12]
        )


_TERM = re.compile(r"\{([A-Z][A-Z0-9_]*)\}")


def expand_terms(pattern: str, terms: dict[str, str]) -> str:
    """Return ``pattern`` with each ``{NAME}`` replaced by ``terms[NAME]``.

    Quantifiers (``{0,3}``) hold digits, never capitals, so they are left alone.

    Raises:
        ValueError: the pattern names a term that ``terms`` does not define.

    """

    def term(found: re.Match[str]) -> str:
        name = found.group(1)
        if name not in terms:
            raise ValueError(f"pattern {pattern[:80]!r} names an unknown term {{{name}}}")
        return terms[name]

    return _TERM.sub(term, pattern)


def _terms_written_out(written: dict[str, str]) -> dict[str, str]:
    """Return each term with the terms it names written out, in any order of the file.

    Raises:
        ValueError: a term names itself through others, or a term that is not defined.

    """
    done: dict[str, str] = {}

    def out(name: str, seen: tuple[str, ...]) -> str:
        if name in seen:
            raise ValueError(f"pattern_terms: {' -> '.join((*seen, name))} is a cycle")
        if name not in done:
            used = {m.group(1) for m in _TERM.finditer(written[name])} & set(written)
            known = {n: out(n, (*seen, name)) for n in used}
            done[name] = expand_terms(written[name], known)
        return done[name]

    for name in written:
        out(name, ())
    return done


def _rule_expanded(rule: Any, terms: dict[str, str]) -> Any:
    """Return a rule as the file gives it with its patterns' terms written out."""
    if not isinstance(rule, dict):
        return rule
    lists = {k: rule[k] for k in ("patterns", "together_with") if isinstance(rule.get(k), list)}
    return {**rule, **{k: [expand_terms(str(p), terms) for p in v] for k, v in lists.items()}}


def load_policy(path: Path | None = None) -> Policy:
    """Read the policy file at ``path`` or the packaged default."""
    return _packaged_policy() if path is None else load_config(Policy, path, "policy.yaml")


@lru_cache(maxsize=1)
def _packaged_policy() -> Policy:
    return load_config(Policy, None, "policy.yaml")
