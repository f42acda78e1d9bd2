"""The factory next to the single-call baseline: one table, per case, split and style.

Each side is a results folder (``results.json``) of its own: a factory
evaluation and a ``--baseline single-call`` one, or the ``factory/`` and
``baseline/`` folders that ``--with-baseline`` writes. Cases are compared where
both sides measured them; the held-out split's total is the headline, and where the
cases span both styles (marked, prose) each style is totalled within each split too.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import NamedTuple

from eval.baseline import CUT_OFF
from eval.report import NOT_RUN, SPLIT_ORDER, STYLE_ORDER, CaseResult, Meta, commits_of, duration
from eval.report import grouped as grouped_by

COLUMNS = (
    "Case",
    "Split",
    "Style",
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


def load_results(
    folder: Path, splits: Mapping[str, str] | None = None, styles: Mapping[str, str] | None = None
) -> tuple[Meta, list[CaseResult]]:
    """Read ``folder/results.json``; rows without a split or style get it by case.

    ``splits`` and ``styles`` map a case to its split and style (the catalog's),
    for rows written before results kept them.

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
    splits, styles = splits or {}, styles or {}
    return meta, [
        replace(
            r,
            split=r.split or splits.get(r.case, ""),
            style=r.style or styles.get(r.case, ""),
        )
        for r in rows
    ]


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

    @property
    def per_passed(self) -> str:
        """What one passed test cost: tokens (where counted) and wall time ("–": none passed)."""
        if not self.passed:
            return "–"
        spent = duration(self.seconds / self.passed)
        if self.tokens is None:
            return spent
        return f"{self.tokens / self.passed:,.0f} tokens and {spent}"


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


class Pair(NamedTuple):
    """One case's two rows, either absent where that side did not measure it."""

    case: str
    split: str
    style: str
    kind: str
    factory: CaseResult | None
    baseline: CaseResult | None


def pairs(factory: Sequence[CaseResult], baseline: Sequence[CaseResult]) -> list[Pair]:
    """Pair the rows by case, held-out first, then by style (marked first)."""
    by_factory = {r.case: r for r in factory}
    by_baseline = {r.case: r for r in baseline}
    found = []
    for case in dict.fromkeys([*by_factory, *by_baseline]):
        row = by_factory.get(case) or by_baseline[case]
        found.append(
            Pair(case, row.split, row.style, row.kind, by_factory.get(case), by_baseline.get(case))
        )

    def rank(pair: Pair) -> tuple[int, int]:
        split = SPLIT_ORDER.index(pair.split) if pair.split in SPLIT_ORDER else len(SPLIT_ORDER)
        style = STYLE_ORDER.index(pair.style) if pair.style in STYLE_ORDER else len(STYLE_ORDER)
        return split, style

    return sorted(found, key=rank)


def totals(paired: Sequence[Pair]) -> tuple[Side, Side, int]:
    """Total both sides over the cases both measured; return them and that number of cases."""
    both = [
        (p.factory, p.baseline) for p in paired if _compared(p.factory) and _compared(p.baseline)
    ]
    return Side.of([f for f, _ in both if f]), Side.of([b for _, b in both if b]), len(both)


def groups_of(paired: Sequence[Pair]) -> list[tuple[str, list[Pair]]]:
    """Group the pairs by split and style (``report.grouped``), and all of them when mixed."""
    groups = grouped_by(paired, lambda p: (p.split, p.style))
    if len({p.split for p in paired}) != 1 or not all(p.split for p in paired):
        groups.append(("All", list(paired)))
    return groups


def _total_row(label: str, factory: Side, baseline: Side) -> str:
    cells = [
        f"**{label}**",
        "",
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
        f"{ratio(factory.passed, baseline.passed)}; per passed test, factory "
        f"{factory.per_passed}, baseline {baseline.per_passed}."
    )


def render_comparison(
    factory: Sequence[CaseResult],
    factory_meta: Meta,
    baseline: Sequence[CaseResult],
    baseline_meta: Meta,
) -> str:
    """Render the side-by-side table: a head, the lines per split and style, rows and totals."""
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
    groups = groups_of(paired)
    summaries = []
    for number, (label, members) in enumerate(groups):
        f_side, b_side, cases = totals(members)
        line = _summary_line(label, f_side, b_side, cases)
        summaries.append(f"- **{line}**" if number == 0 else f"- {line}")
    lines = [head, "", *summaries, ""]
    lines += ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for pair in paired:
        f, b = pair.factory, pair.baseline
        both = totals([pair])
        cells = [
            f"`{pair.case}`",
            pair.split or "–",
            pair.style or "–",
            pair.kind,
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
