"""The factory next to the single-call baseline: one table, per case and per split.

Each side is a results folder (``results.json``) of its own: a factory
evaluation and a ``--baseline single-call`` one, or the ``factory/`` and
``baseline/`` folders that ``--with-baseline`` writes. Cases are compared where
both sides measured them; the held-out split's total is the headline.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from eval.baseline import CUT_OFF
from eval.report import NOT_RUN, SPLIT_NAMES, CaseResult, Meta, commits_of, duration

COLUMNS = (
    "Case",
    "Split",
    "Kind",
    "Factory",
    "Baseline",
    "Ratio",
    "Factory tokens",
    "Baseline tokens",
    "Factory time",
    "Baseline time",
    "Factory run",
)
SPLIT_ORDER = ("holdout", "dev")


def load_results(
    folder: Path, splits: Mapping[str, str] | None = None
) -> tuple[Meta, list[CaseResult]]:
    """Read ``folder/results.json``; rows without a split get it from ``splits`` (by case).

    Raises:
        ValueError: the file is missing or unreadable.

    """
    path = folder / "results.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        meta = Meta.from_json(data["meta"])
        rows = [CaseResult.from_json(r) for r in data["cases"]]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"{path} cannot be read: {exc}") from exc
    splits = splits or {}
    return meta, [r if r.split else replace(r, split=splits.get(r.case, "")) for r in rows]


@dataclass(frozen=True)
class Side:
    """One side's totals over the compared cases."""

    passed: int = 0
    total: int = 0
    passing: int = 0
    tokens: int | None = None
    seconds: float = 0.0

    @classmethod
    def of(cls, rows: Sequence[CaseResult]) -> Side:
        """Total ``rows``."""
        tokens = [r.tokens for r in rows if r.tokens is not None]
        return cls(
            passed=sum(r.measured.acceptance_passed for r in rows if r.measured),
            total=sum(r.measured.acceptance_total for r in rows if r.measured),
            passing=sum(1 for r in rows if r.passed),
            tokens=sum(tokens) if tokens else None,
            seconds=round(sum(r.factory_seconds or 0 for r in rows), 1),
        )

    @property
    def score(self) -> str:
        """Tests passed of the cases' tests."""
        return f"{self.passed}/{self.total}"

    @property
    def rate(self) -> str:
        """Tests passed as a percentage."""
        return f"{self.passed / self.total:.0%}" if self.total else "–"


def ratio(factory: int, baseline: int) -> str:
    """Return the factory's passed tests over the baseline's ("–" when the baseline has none)."""
    return f"{factory / baseline:.2f}" if baseline else "–"


def _tokens(value: int | None) -> str:
    return "–" if value is None else f"{value:,}"


def _score(result: CaseResult | None) -> str:
    if result is None:
        return "–"
    if result.run == NOT_RUN:
        return "not run"
    m = result.measured
    score = f"{m.acceptance_passed}/{m.acceptance_total}" if m else "–"
    return f"{score} (cut off)" if result.run == CUT_OFF else score


def _compared(result: CaseResult | None) -> bool:
    return result is not None and result.run != NOT_RUN


def _time(result: CaseResult | None) -> str:
    if result is None or result.run == NOT_RUN:
        return "–"
    return duration(result.factory_seconds or 0)


def pairs(
    factory: Sequence[CaseResult], baseline: Sequence[CaseResult]
) -> list[tuple[str, str, str, CaseResult | None, CaseResult | None]]:
    """Pair the rows by case: ``(case, split, kind, factory row, baseline row)``, held-out first."""
    by_factory = {r.case: r for r in factory}
    by_baseline = {r.case: r for r in baseline}
    found = []
    for case in dict.fromkeys([*by_factory, *by_baseline]):
        row = by_factory.get(case) or by_baseline[case]
        found.append((case, row.split, row.kind, by_factory.get(case), by_baseline.get(case)))
    order = {split: n for n, split in enumerate(SPLIT_ORDER)}
    return sorted(found, key=lambda p: order.get(p[1], len(order)))


def totals(
    paired: Sequence[tuple[str, str, str, CaseResult | None, CaseResult | None]],
) -> tuple[Side, Side, int]:
    """Total both sides over the cases both measured; return them and that number of cases."""
    both = [(f, b) for *_, f, b in paired if _compared(f) and _compared(b)]
    return Side.of([f for f, _ in both if f]), Side.of([b for _, b in both if b]), len(both)


def _total_row(label: str, factory: Side, baseline: Side) -> str:
    cells = [
        f"**{label}**",
        "",
        "",
        f"**{factory.score}**",
        f"**{baseline.score}**",
        f"**{ratio(factory.passed, baseline.passed)}**",
        _tokens(factory.tokens),
        _tokens(baseline.tokens),
        duration(factory.seconds),
        duration(baseline.seconds),
        "",
    ]
    return "| " + " | ".join(cells) + " |"


def _cases(number: int, verb: str = "") -> str:
    if not verb:
        return f"{number} case{'' if number == 1 else 's'}"
    return f"{number} case{' ' + verb + 'es' if number == 1 else 's ' + verb}"


def _summary_line(label: str, factory: Side, baseline: Side, cases: int) -> str:
    return (
        f"{label}, {_cases(cases)}: factory {factory.score} acceptance tests ({factory.rate}, "
        f"{_cases(factory.passing, 'pass')} all), single-call baseline {baseline.score} "
        f"({baseline.rate}, {_cases(baseline.passing, 'pass')} all); ratio "
        f"{ratio(factory.passed, baseline.passed)}."
    )


def render_comparison(
    factory: Sequence[CaseResult],
    factory_meta: Meta,
    baseline: Sequence[CaseResult],
    baseline_meta: Meta,
) -> str:
    """Render the side-by-side table: a head, the headline per split, rows and totals."""
    paired = pairs(factory, baseline)
    head = (
        f"Factory: {factory_meta.what}, pipeline `{factory_meta.pipeline}`, "
        f"{commits_of(factory, factory_meta)}, {factory_meta.date}; command: "
        f"`{factory_meta.command}`. Baseline: {baseline_meta.what}, one call per case, "
        f"{commits_of(baseline, baseline_meta)}, {baseline_meta.date}; command: "
        f"`{baseline_meta.command}`. Code ran in: {factory_meta.executor}. Ratio: the "
        "factory's acceptance tests passed over the baseline's. Time: the build's wall time "
        "(the factory's run; the baseline's one call), not the measuring, the same for both."
    )
    splits = [s for s in SPLIT_ORDER if any(p[1] == s for p in paired)]
    groups = [(SPLIT_NAMES[s], [p for p in paired if p[1] == s]) for s in splits]
    if len(groups) != 1 or len(paired) != len(groups[0][1]):
        groups.append(("All", list(paired)))
    summaries = []
    for number, (label, members) in enumerate(groups):
        f_side, b_side, cases = totals(members)
        line = _summary_line(label, f_side, b_side, cases)
        summaries.append(f"- **{line}**" if number == 0 else f"- {line}")
    lines = [head, "", *summaries, ""]
    lines += ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for case, split, kind, f, b in paired:
        both = totals([(case, split, kind, f, b)])
        cells = [
            f"`{case}`",
            split or "–",
            kind,
            _score(f),
            _score(b),
            ratio(both[0].passed, both[1].passed) if both[2] else "–",
            _tokens(f.tokens) if f else "–",
            _tokens(b.tokens) if b else "–",
            _time(f),
            _time(b),
            f.run if f else "–",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    for label, members in groups:
        f_side, b_side, _ = totals(members)
        lines.append(_total_row("Total" if label == "All" else f"{label} total", f_side, b_side))
    return "\n".join(lines)
