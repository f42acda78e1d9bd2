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


BLOCKED_DIR = "_blocked"


def stage_files(out_dir: Path, record: StageRecord) -> list[tuple[Path, str]]:
    """Say where each of a stage's artifacts belongs, with its content.

    A passed stage publishes its deliverables at their paths. A BLOCKED stage's
    drafts are kept for review under ``_blocked/<team>/``, never as deliverables.
    """
    if record.result is None or record.outcome is StageOutcome.SKIPPED:
        return []
    root = out_dir if record.outcome is StageOutcome.PASSED else out_dir / BLOCKED_DIR / record.team
    return [(_inside(root, a.path), a.content) for a in record.result.artifacts]


def write_stage_artifacts(out_dir: Path, record: StageRecord) -> list[Path]:
    """Write a stage's files (idempotent: same record, same files)."""
    written = []
    for path, content in stage_files(out_dir, record):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content if content.endswith("\n") else content + "\n")
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
    blocked = [r for r in records if r.outcome is StageOutcome.BLOCKED and r.result]
    if blocked:
        lines += ["", "## Drafts the gate rejected", ""]
        for r in blocked:
            arts = r.result.artifacts if r.result else []
            lines += [f"- `{BLOCKED_DIR}/{r.team}/{a.path}`" for a in arts]
        for r in blocked:
            lines += ["", f"### Gate feedback: {r.team}", ""]
            lines += [f"- {item}" for item in r.gate_feedback]
    lines += ["", "## Verified facts", ""]
    for r in records:
        if r.result:
            lines += [f"- **{r.team}:** {fact}" for fact in r.result.verified_facts]
    lines += ["", "## Assumptions", ""]
    for r in records:
        if r.result:
            lines += [f"- **{r.team}:** {a}" for a in r.result.assumptions_made]
    return "\n".join(lines) + "\n"
