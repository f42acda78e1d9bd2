"""The evaluation's results: one row per case, as JSON, as a markdown table, in the docs.

``docs/quality.md`` keeps the latest table between ``<!-- eval:begin -->`` and
``<!-- eval:end -->``; ``update_docs`` rewrites only that part.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, TypeVar

from eval.measure import Measured

BEGIN, END = "<!-- eval:begin -->", "<!-- eval:end -->"
COLUMNS = (
    "Case",
    "Kind",
    "Run",
    "Plan complete",
    "Installs",
    "Imports",
    "Own tests",
    "Acceptance",
    "Tokens",
    "Time",
    "Notes",
)


NOT_RUN = "NOT RUN"  # the run column of a case the evaluation's time budget left out


@dataclass
class CaseResult:
    """One case's row: how the run ended and what the evaluation measured."""

    case: str
    kind: str
    # the run's status (COMPLETED, FAILED, ...), REFERENCE, ERROR; for the baseline ANSWERED,
    # or CUT OFF when its reply stopped at the token limit (each row's Run cell says which)
    run: str
    measured: Measured | None = None  # None: nothing could be measured
    reason: str = ""
    run_id: str = ""
    out_dir: str = ""
    tokens: int | None = None
    factory_seconds: float | None = None  # the build's wall time: the run, or the one call
    eval_seconds: float = 0.0
    commit: str = ""  # the checkout it was measured on ("": the evaluation's own)
    split: str = ""  # the case's split (dev, holdout; "": rows written before splits)
    style: str = ""  # how its requirement is written (marked, prose; "": rows before styles)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CaseResult:
        """Read a row back from ``results.json``."""
        known = {f.name for f in fields(cls)}
        row = {k: v for k, v in data.items() if k in known}
        if isinstance(row.get("measured"), dict):
            measured = {f.name for f in fields(Measured)}
            row["measured"] = Measured(
                **{k: v for k, v in row["measured"].items() if k in measured}
            )
        return cls(**row)

    @property
    def passed(self) -> bool:
        """Whether the case passes every one of its acceptance tests."""
        return self.measured is not None and self.measured.acceptance_ok

    @property
    def notes(self) -> str:
        """The run's reason and the evaluation's notes, in one line."""
        parts = [self.reason, *(self.measured.notes if self.measured else [])]
        return "; ".join(" ".join(p.split()) for p in parts if p.strip())

    def line(self) -> str:
        """Summarise the row in one line of progress output."""
        m = self.measured
        score = f"{m.acceptance_passed}/{m.acceptance_total}" if m else "-"
        notes = f" ({self.notes})" if self.notes else ""
        return f"{self.case}: {self.run}, acceptance {score}{notes}"


@dataclass(frozen=True)
class Meta:
    """What the results were measured with."""

    mode: str  # "factory", "baseline" (one call per case) or "reference"
    model: str
    pipeline: str
    commit: str
    date: str
    executor: str
    command: str
    served_by: str = ""  # the baseline's model as resolved (embedded:qwen2.5-...)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Meta:
        """Read the metadata back from ``results.json``."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    @property
    def what(self) -> str:
        """Name what was measured, for a table's head."""
        if self.mode == "reference":
            return "Reference solutions (self-test)"
        if self.mode == "baseline":
            served = f" served by `{self.served_by}`" if self.served_by else ""
            return f"Single-call baseline, model `{self.model}`{served}"
        return f"Model `{self.model}`"


def summary(results: Sequence[CaseResult]) -> dict[str, Any]:
    """Total the rows: acceptance tests passed, cases passing, tokens and time.

    ``factory_seconds`` is the builds' wall time: the factory's runs, or the
    baseline's calls.
    """
    measured = [r.measured for r in results if r.measured is not None]
    passed = sum(m.acceptance_passed for m in measured)
    total = sum(m.acceptance_total for m in measured)
    tokens = [r.tokens for r in results if r.tokens is not None]
    return {
        "cases": len(results),
        "cases_not_run": sum(1 for r in results if r.run == NOT_RUN),
        "cases_passing": sum(1 for r in results if r.passed),
        "acceptance_passed": passed,
        "acceptance_total": total,
        "acceptance_rate": round(passed / total, 3) if total else 0.0,
        "tokens": sum(tokens) if tokens else None,
        "factory_seconds": round(sum(r.factory_seconds or 0 for r in results), 1),
        "eval_seconds": round(sum(r.eval_seconds for r in results), 1),
    }


def _flag(value: bool | None) -> str:
    return "–" if value is None else ("yes" if value else "**no**")


def _count(passed: int | None, total: int | None) -> str:
    return "–" if passed is None or total is None else f"{passed}/{total}"


def duration(value: float) -> str:
    """Write a duration as ``4.5 s`` or ``1m 01s``."""
    minutes, seconds = divmod(round(value), 60)
    return f"{minutes}m {seconds:02d}s" if minutes else f"{value:.1f} s"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def row(result: CaseResult) -> list[str]:
    """Return one case's cells, in ``COLUMNS`` order."""
    m = result.measured
    seconds = (result.factory_seconds or 0) + result.eval_seconds
    return [
        f"`{result.case}`",
        result.kind,
        result.run,
        _flag(m.complete if m else None),
        _flag(m.installs if m else None),
        _flag(m.imports if m else None),
        _count(m.own_passed, m.own_total) if m else "–",
        _count(m.acceptance_passed, m.acceptance_total) if m else "–",
        "–" if result.tokens is None else f"{result.tokens:,}",
        duration(seconds),
        _cell(result.notes[:200]),
    ]


def commits_of(results: Sequence[CaseResult], meta: Meta) -> str:
    """Name the commit the rows were measured on, or each commit and its number of cases."""
    commits = Counter(r.commit or meta.commit for r in results if r.run != NOT_RUN)
    if len(commits) > 1:
        return "commits " + ", ".join(
            f"`{c}` ({n} case{'' if n == 1 else 's'})" for c, n in commits.items()
        )
    return f"commit `{next(iter(commits), meta.commit)}`"


SPLIT_NAMES = {"holdout": "Held-out", "dev": "Dev"}
SPLIT_ORDER = ("holdout", "dev")  # the held-out split first: its figure is the one that counts
STYLE_ORDER = ("marked", "prose")

T = TypeVar("T")


def _ordered(values: set[str], order: Sequence[str]) -> list[str]:
    return sorted(values, key=lambda v: (order.index(v) if v in order else len(order), v))


def grouped(items: Sequence[T], key: Callable[[T], tuple[str, str]]) -> list[tuple[str, list[T]]]:
    """Group ``items`` by split and by style (``key`` gives an item's pair); label each group.

    Each split is a group (held-out first); where the items span both styles, each
    style within a split is one too ("Held-out (prose)"), and, across two splits,
    each style over both ("Prose (all splits)"). Items without a split or style are
    in no group of that kind: rows written before there were splits or styles.
    """
    splits = _ordered({key(i)[0] for i in items if key(i)[0]}, SPLIT_ORDER)
    styles = _ordered({key(i)[1] for i in items if key(i)[1]}, STYLE_ORDER)
    found: list[tuple[str, list[T]]] = []
    for split in splits:
        members = [i for i in items if key(i)[0] == split]
        found.append((SPLIT_NAMES.get(split, split), members))
        if len(styles) > 1:
            found += [
                (f"{SPLIT_NAMES.get(split, split)} ({style})", kept)
                for style in styles
                if (kept := [i for i in members if key(i)[1] == style])
            ]
    if len(styles) > 1:
        where = " (all splits)" if len(splits) > 1 else ""
        found += [
            (f"{style.capitalize()}{where}", [i for i in items if key(i)[1] == style])
            for style in styles
            if len(splits) != 1  # with one split, its style groups say it already
        ]
    return found


def split_and_style(result: CaseResult) -> tuple[str, str]:
    """Return a row's split and style, the keys it is grouped by."""
    return result.split, result.style


def group_lines(results: Sequence[CaseResult]) -> list[str]:
    """Return one acceptance line per split and style, held-out first, when there are two."""
    groups = grouped(results, split_and_style)
    if len(groups) < 2:
        return []
    lines = []
    for label, members in groups:
        totals = summary(members)
        lines.append(
            f"- {label}: {totals['acceptance_passed']}/"
            f"{totals['acceptance_total']} tests ({totals['acceptance_rate']:.0%}), "
            f"{totals['cases_passing']} of {totals['cases']} cases pass."
        )
    return ["", *lines]


def breakdown(results: Sequence[CaseResult]) -> dict[str, dict[str, dict[str, Any]]]:
    """Total the rows per split, per style and per split and style, for ``results.json``."""
    keys: dict[str, Callable[[CaseResult], str]] = {
        "by_split": lambda r: r.split,
        "by_style": lambda r: r.style,
        "by_split_and_style": lambda r: f"{r.split}/{r.style}" if r.split and r.style else "",
    }
    found: dict[str, dict[str, dict[str, Any]]] = {}
    for name, key in keys.items():
        values = sorted({key(r) for r in results if key(r)})
        found[name] = {v: summary([r for r in results if key(r) == v]) for v in values}
    return found


def render_markdown(results: Sequence[CaseResult], meta: Meta) -> str:
    """Render the results as a markdown paragraph, table and totals line."""
    head = (
        f"{meta.what}, pipeline `{meta.pipeline}`, {commits_of(results, meta)}, {meta.date}; "
        f"code ran in: {meta.executor}. Command: `{meta.command}`."
    )
    lines = [head, "", "| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(row(r)) + " |" for r in results]
    lines += group_lines(results)
    totals = summary(results)
    rate = f"{totals['acceptance_rate']:.0%}"
    tokens = "–" if totals["tokens"] is None else f"{totals['tokens']:,}"
    build = "Call time" if meta.mode == "baseline" else "Factory time"
    lines += [
        "",
        f"**Acceptance: {totals['acceptance_passed']}/{totals['acceptance_total']} tests "
        f"({rate}); {totals['cases_passing']} of {totals['cases']} cases pass all their "
        f"acceptance tests"
        + (f", {totals['cases_not_run']} not run" if totals["cases_not_run"] else "")
        + f".** Tokens: {tokens}. {build}: "
        f"{duration(totals['factory_seconds'])}; evaluation time: "
        f"{duration(totals['eval_seconds'])}.",
    ]
    return "\n".join(lines)


def write_results(folder: Path, results: Sequence[CaseResult], meta: Meta) -> tuple[Path, Path]:
    """Write ``results.json`` and ``results.md`` into ``folder``; return their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    data = {
        "meta": asdict(meta),
        "summary": summary(results),
        **breakdown(results),
        "cases": [{**asdict(r), "passed": r.passed, "notes": r.notes} for r in results],
    }
    as_json = folder / "results.json"
    as_json.write_text(json.dumps(data, indent=2, default=str) + "\n", encoding="utf-8")
    as_md = folder / "results.md"
    as_md.write_text(render_markdown(results, meta) + "\n", encoding="utf-8")
    return as_json, as_md


def replace_block(text: str, block: str) -> str:
    """Put ``block`` between the eval markers of ``text`` (appending them when absent).

    A marker counts only alone on its line, so prose that quotes one is left alone.
    """
    start = re.compile(rf"(?m)^{re.escape(BEGIN)}[ \t]*$").search(text)
    stop = re.compile(rf"(?m)^{re.escape(END)}[ \t]*$").search(text, start.end()) if start else None
    if start is None or stop is None:
        return f"{text.rstrip()}\n\n## Latest results\n\n{BEGIN}\n{block}\n{END}\n"
    return f"{text[: start.end()]}\n{block}\n{text[stop.start() :]}"


def update_docs(path: Path, block: str) -> None:
    """Rewrite the results between the eval markers of ``path``."""
    text = path.read_text(encoding="utf-8") if path.is_file() else "# Quality\n"
    path.write_text(replace_block(text, block), encoding="utf-8")
