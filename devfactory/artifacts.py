"""Write a run's output folder: one file per artifact, ``run.json`` and ``SUMMARY.md``."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from devfactory.contracts import StageOutcome, StageRecord, Usage


def _inside(root: Path, relative: str) -> Path:
    target = (root / relative).resolve()
    if not target.is_relative_to(root.resolve()):
        raise ValueError(f"artifact path {relative!r} escapes the run folder")
    return target


def write_stage_artifacts(out_dir: Path, record: StageRecord) -> list[Path]:
    """Write a passed stage's artifacts (idempotent: same record, same files)."""
    if record.outcome is not StageOutcome.PASSED or record.result is None:
        return []
    written = []
    for art in record.result.artifacts:
        path = _inside(out_dir, art.path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(art.content if art.content.endswith("\n") else art.content + "\n")
        written.append(path)
    return written


def ordered_records(stages: Mapping[str, Any], order: Sequence[str]) -> list[StageRecord]:
    """Return stage records in pipeline order (stages never reached are left out)."""
    return [StageRecord.model_validate(stages[t]) for t in order if t in stages]


def write_run_files(
    out_dir: Path,
    *,
    run_id: str,
    requirement: str,
    pipeline: str,
    status: str,
    reason: str,
    records: Sequence[StageRecord],
) -> None:
    """Write every passed stage's artifacts, ``run.json`` and ``SUMMARY.md``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for record in records:
        write_stage_artifacts(out_dir, record)
    total = Usage()
    for record in records:
        total = total.add(record.usage)
    doc = {
        "run_id": run_id,
        "requirement": requirement,
        "pipeline": pipeline,
        "status": status,
        "reason": reason,
        "usage": {**total.model_dump(), "total_tokens": total.total_tokens},
        "seconds": round(sum(r.seconds for r in records), 3),
        "stages": [r.model_dump(mode="json") for r in records],
    }
    (out_dir / "run.json").write_text(json.dumps(doc, indent=2) + "\n")
    (out_dir / "SUMMARY.md").write_text(render_summary(doc, records))


def render_summary(doc: Mapping[str, Any], records: Sequence[StageRecord]) -> str:
    """Render the human-readable summary of a run."""
    lines = [
        f"# Run {doc['run_id']}: {doc['status']}",
        "",
        f"**Pipeline:** {doc['pipeline']}  ",
        f"**Requirement:** {doc['requirement']}",
        "",
    ]
    if doc["reason"]:
        lines += [f"**Why it stopped:** {doc['reason']}", ""]
    lines += [
        "| Stage | Outcome | Model | Confidence | Attempts | Tokens (in/out) | Seconds |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in records:
        conf = f"{r.result.confidence:.2f}" if r.result else "-"
        lines.append(
            f"| {r.team} | {r.outcome.value} | {r.model or '-'} | {conf} | {r.attempts} | "
            f"{r.usage.input_tokens}/{r.usage.output_tokens} | {r.seconds:.1f} |"
        )
    lines += ["", "## Artifacts", ""]
    for r in records:
        if r.outcome is StageOutcome.PASSED and r.result:
            lines += [f"- `{a.path}` ({a.kind.value}, by {r.team})" for a in r.result.artifacts]
    lines += ["", "## Verified facts", ""]
    for r in records:
        if r.result:
            lines += [f"- **{r.team}:** {fact}" for fact in r.result.verified_facts]
    lines += ["", "## Assumptions", ""]
    for r in records:
        if r.result:
            lines += [f"- **{r.team}:** {a}" for a in r.result.assumptions_made]
    return "\n".join(lines) + "\n"
