"""Budgets: price table, spend ledger and cap checks.

Spend is metered per team (tokens, cost, seconds of model work) and summed
per run and per project. Caps are checked before every model attempt: at
``warn_at`` of a cap the run pauses for a budget-override approval, at 100 %
it stops FAILED. Per-team soft caps (the run cap times the team's budget
share) only warn.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from fnmatch import fnmatchcase
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from devfactory.config import load_config
from devfactory.control.ceilings import MAX_COST_USD, MAX_SECONDS, MAX_TOKENS

Metric = Literal["tokens", "cost_usd", "seconds"]
METRICS: tuple[Metric, ...] = ("tokens", "cost_usd", "seconds")


class Price(BaseModel):
    """USD per million input and output tokens."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    input: float = Field(ge=0)
    output: float = Field(ge=0)


class PriceEntry(Price):
    """A price for models whose label matches ``match`` (fnmatch)."""

    match: str


class PriceTable(BaseModel):
    """The parsed price file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    prices: tuple[PriceEntry, ...] = ()
    default: Price

    def price(self, model: str) -> Price:
        """Return the price of ``model`` (a provider:model label)."""
        for entry in self.prices:
            if fnmatchcase(model, entry.match):
                return entry
        return self.default

    def cost(self, model: str, input_tokens: int, output_tokens: int) -> float:
        """Return the USD cost of one usage of ``model``."""
        price = self.price(model)
        return (input_tokens * price.input + output_tokens * price.output) / 1_000_000


def load_prices(path: Path | None = None) -> PriceTable:
    """Read the price file at ``path`` or the packaged default."""
    return _packaged_prices() if path is None else load_config(PriceTable, path, "prices.yaml")


@lru_cache(maxsize=1)
def _packaged_prices() -> PriceTable:
    return load_config(PriceTable, None, "prices.yaml")


class Spend(BaseModel):
    """What some work consumed."""

    input_tokens: int = 0
    output_tokens: int = 0
    calls: int = 0
    cost_usd: float = 0.0
    seconds: float = 0.0

    @property
    def tokens(self) -> int:
        """Input plus output tokens."""
        return self.input_tokens + self.output_tokens

    def value(self, metric: Metric) -> float:
        """Return the amount of ``metric`` spent."""
        return float(getattr(self, metric))

    def __add__(self, other: Spend) -> Spend:
        """Sum two spends."""
        return Spend(
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            calls=self.calls + other.calls,
            cost_usd=round(self.cost_usd + other.cost_usd, 6),
            seconds=round(self.seconds + other.seconds, 3),
        )

    @classmethod
    def total(cls, spends: Iterable[Spend | Mapping[str, Any]]) -> Spend:
        """Sum many spends (dicts from graph state are accepted)."""
        out = cls()
        for s in spends:
            out = out + (s if isinstance(s, Spend) else cls.model_validate(s))
        return out


class SpendEntry(Spend):
    """One entry of a run's spend ledger: a team's spend under one key, and its latest model.

    The model is the one that served the entry's latest call (the costs page sums by it);
    an entry kept before models were recorded has none.
    """

    team: str = "?"
    model: str = ""


class Caps(BaseModel):
    """Upper limits on spend; None means no cap on that metric."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tokens: int | None = Field(default=None, ge=1, le=MAX_TOKENS)
    cost_usd: float | None = Field(default=None, gt=0, le=MAX_COST_USD)
    seconds: float | None = Field(default=None, gt=0, le=MAX_SECONDS)

    def limit(self, metric: Metric) -> float | None:
        """Return the cap on ``metric``."""
        value = getattr(self, metric)
        return None if value is None else float(value)


class Breach(BaseModel):
    """A cap that spend has reached a threshold of."""

    scope: Literal["run", "project", "team"]
    metric: Metric
    spent: float
    cap: float

    @property
    def fraction(self) -> float:
        """Spent over cap."""
        return self.spent / self.cap

    @property
    def key(self) -> str:
        """Identify the cap and its value, e.g. ``run.tokens@10000``.

        A raised cap has a new key, so its own warning line applies again.
        """
        return f"{self.scope}.{self.metric}@{self.cap:g}"

    def describe(self) -> str:
        """One line such as ``run tokens 9,100 of 10,000 (91%)``."""
        fmt = {"tokens": "{:,.0f}", "cost_usd": "${:,.4f}", "seconds": "{:,.1f}s"}[self.metric]
        return (
            f"{self.scope} {self.metric} {fmt.format(self.spent)} of {fmt.format(self.cap)} "
            f"({self.fraction:.0%})"
        )


def breaches(scope: Literal["run", "project", "team"], spend: Spend, caps: Caps, at: float):
    """List the caps in ``caps`` that ``spend`` has reached ``at`` (a fraction) of."""
    found = []
    for metric in METRICS:
        cap = caps.limit(metric)
        if cap is not None and spend.value(metric) >= at * cap:
            found.append(Breach(scope=scope, metric=metric, spent=spend.value(metric), cap=cap))
    return found


class BudgetCheck(BaseModel):
    """The budget's verdict before a model attempt."""

    exhausted: list[Breach] = Field(default_factory=list)
    near: list[Breach] = Field(default_factory=list)  # past the warning line, not acknowledged
    team_over: list[Breach] = Field(default_factory=list)  # soft caps: warn only


def check_budget(
    *,
    run_spend: Spend,
    project_spend: Spend,
    team_spend: Spend,
    run_caps: Caps,
    project_caps: Caps,
    team_caps: Caps,
    warn_at: float,
    acknowledged: Iterable[str] = (),
) -> BudgetCheck:
    """Check run and project caps (hard) and the team's soft cap."""
    acked = set(acknowledged)
    hard = [
        *breaches("run", run_spend, run_caps, 1.0),
        *breaches("project", project_spend, project_caps, 1.0),
    ]
    near = [
        b
        for b in (
            *breaches("run", run_spend, run_caps, warn_at),
            *breaches("project", project_spend, project_caps, warn_at),
        )
        if b.key not in acked and b.fraction < 1.0
    ]
    soft = breaches("team", team_spend, team_caps, 1.0)
    return BudgetCheck(exhausted=hard, near=near, team_over=soft)
