"""Incident triggers: pure rules over the facts a project's runs leave behind.

A trigger is a fact far from what the project usually does: a stage that spends
many times the median of the same team's recent stages in the project (a budget
spike), model calls many times slower or dearer than that median (an anomaly;
teams serve different model aliases, so each is compared with itself; only once the
stage made ``min_calls`` calls and the stages it is compared with ``baseline_calls``, so
one slow call, or a model warming up, is never one), final tests that failed in
several runs in a row, or the sandbox stopping code that tried what it may not
(a fork bomb killed at the process limit, a denied network call). Each rule
here takes the facts and the thresholds and says whether it fires and why; the
recorder feeds them (``incident_watch.IncidentWatch``) and the factory acts.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from statistics import median
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict

TriggerKind = Literal[
    "budget_spike", "failing_tests", "sandbox_violation", "model_latency", "model_cost"
]
IncidentStatus = Literal["open", "resumed", "rolled_back", "closed"]
IncidentAction = Literal["resume", "rollback", "close"]

DECIDED: Final[dict[str, IncidentStatus]] = {
    "resume": "resumed",
    "rollback": "rolled_back",
    "close": "closed",
}
"""What each decision on an open incident makes of it."""

VIOLATIONS: Final = ("processes", "network")
"""The sandbox limits whose hit is a violation, not only a failure (``CommandResult.killed``)."""


class IncidentError(ValueError):
    """An incident that cannot be decided as asked (not open any more, an unknown action)."""


class IncidentNotFoundError(IncidentError):
    """No incident has that id."""


@dataclass(frozen=True)
class Thresholds:
    """How far from the project's usual a fact must be to fire (the ``incident_*`` settings)."""

    spend_multiple: float
    latency_multiple: float
    cost_multiple: float
    failing_runs: int
    min_samples: int
    min_calls: int
    baseline_calls: int


class StageFact(BaseModel):
    """What one finished stage spent: tokens, cost, model seconds and calls."""

    model_config = ConfigDict(frozen=True)

    team: str = ""
    tokens: int = 0
    cost_usd: float = 0.0
    seconds: float = 0.0
    calls: int = 0

    @property
    def per_call_seconds(self) -> float:
        """Model seconds per call (0 without calls)."""
        return self.seconds / self.calls if self.calls else 0.0

    @property
    def per_call_cost(self) -> float:
        """Cost per call in USD (0 without calls)."""
        return self.cost_usd / self.calls if self.calls else 0.0


@dataclass(frozen=True)
class Trigger:
    """A rule that fired, and in words why."""

    kind: TriggerKind
    summary: str


def _over(value: float, usual: Sequence[float], multiple: float) -> float | None:
    """Return the median of ``usual`` when ``value`` is over ``multiple`` times it, else None.

    A median of 0 (nothing was priced, no call took time) never fires.
    """
    base = median(usual) if usual else 0.0
    return base if base > 0 and value > multiple * base else None


def stage_triggers(
    fact: StageFact, history: Sequence[StageFact], rules: Thresholds
) -> list[Trigger]:
    """Compare a finished stage with the same team's recent stages in its project (``history``).

    ``history`` does not hold the stage itself. Nothing fires before there are
    ``min_samples`` stages to compare with. Latency and cost per call are compared
    only for a stage of ``min_calls`` calls or more, against stages that made
    ``baseline_calls`` calls in all: a per-call figure of a few calls is mostly
    the model loading or warming up, not how it serves.
    The spend compared is the cost where the project's stages are priced, else
    their tokens (local models cost nothing).
    """
    if len(history) < rules.min_samples:
        return []
    fired: list[Trigger] = []
    priced = any(h.cost_usd > 0 for h in history)
    spend, usual, unit = (
        (fact.cost_usd, [h.cost_usd for h in history], "USD")
        if priced
        else (float(fact.tokens), [float(h.tokens) for h in history], "tokens")
    )
    base = _over(spend, usual, rules.spend_multiple)
    if base is not None:
        fired.append(
            Trigger(
                "budget_spike",
                f"stage {fact.team} spent {spend:g} {unit}, over {rules.spend_multiple:g}x the "
                f"median of its {len(history)} recent stages in the project ({base:g} {unit})",
            )
        )
    baseline = sum(h.calls for h in history)
    if fact.calls >= max(1, rules.min_calls) and baseline >= rules.baseline_calls:
        kind: TriggerKind
        for kind, per_call, multiple, verb, unit, digits in (
            ("model_latency", "per_call_seconds", rules.latency_multiple, "took", "s", 2),
            ("model_cost", "per_call_cost", rules.cost_multiple, "cost", "USD", 6),
        ):
            value: float = getattr(fact, per_call)
            base = _over(value, [getattr(h, per_call) for h in history if h.calls], multiple)
            if base is not None:
                said = (
                    f"stage {fact.team}'s model calls {verb} {value:.{digits}f} {unit} each, over "
                    f"{multiple:g}x its median in the project ({base:.{digits}f} {unit})"
                )
                fired.append(Trigger(kind, said))
    return fired


def failing_streak(recent: Sequence[bool], rules: Thresholds) -> Trigger | None:
    """Fire when the newest ``failing_runs`` runs (newest first) all failed their tests."""
    streak = recent[: rules.failing_runs]
    if len(streak) < rules.failing_runs or not all(streak):
        return None
    return Trigger(
        "failing_tests",
        f"the final tests failed in the project's last {rules.failing_runs} runs in a row",
    )


def sandbox_violation(summaries: Iterable[tuple[str, str]]) -> Trigger | None:
    """Fire when a command was stopped for what the sandbox forbids.

    ``summaries`` are (check name, its one-line summary) pairs, as a stage's and
    the run's checks record them ("... processes limit reached ...").
    """
    for name, summary in summaries:
        for limit in VIOLATIONS:
            if f"{limit} limit reached" in summary:
                what = "a fork bomb" if limit == "processes" else "a network call"
                return Trigger(
                    "sandbox_violation",
                    f"the sandbox stopped {what} in check {name!r}: {summary[:300]}",
                )
    return None
