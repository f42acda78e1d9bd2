"""Markdown for the chat: a stage's step, a pause, a run's summary (no Chainlit here)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from devfactory.artifacts import check_line
from devfactory.contracts import CheckRun
from devfactory.control.hitl import HELP, Pause
from devfactory.findings import check_fact, claim_line, claims_of, instructions_of
from devfactory.teams.registry import TeamRegistry

ACTION_LABELS = {
    "approve": "Approve",
    "reject": "Reject",
    "modify": "Modify the requirement",
    "answer": "Answer",
    "revise": "Request changes",
}


def _mark(check: CheckRun) -> str:
    return "➖" if not check.ran else "✅" if check.ok else "❌"  # never ran: neither


def _list(title: str, items: list[str]) -> list[str]:
    return [f"**{title}**\n\n" + "\n".join(f"- {i}" for i in items)] if items else []


def _code(text: str) -> str:
    return f"`{text}`" if "`" not in text else text


def stage_markdown(record: dict[str, Any], teams: TeamRegistry) -> str:
    """Render a finished stage: team, model, status, confidence, its checks and its claims.

    What the checks that ran found is listed as verified; what the team's
    report asserts or assumes is listed once, as claims (lines copied from its
    instructions left out).
    """
    spec = teams.get(record["team"])
    result = record.get("result") or {}
    usage = record.get("usage") or {}
    blocks = [
        f"**{spec.name if spec else record['team']}** · {record['outcome']}"
        + (f" · confidence {result['confidence']:.2f}" if result else ""),
        f"model `{record.get('model') or '-'}` · {record.get('attempts', 0)} attempt(s) · "
        f"{usage.get('input_tokens', 0)}/{usage.get('output_tokens', 0)} tokens · "
        f"{record.get('seconds', 0.0):.1f} s",
    ]
    if record.get("reason"):
        blocks.append(f"> {record['reason']}")
    checks = [CheckRun.model_validate(c) for c in record.get("checks") or []]
    blocks += _list("Verified by checks", [check_fact(c) for c in checks if c.ran])
    claims, _ = claims_of(
        record["team"],
        result.get("verified_facts") or [],
        result.get("assumptions_made") or [],
        instructions_of(spec) if spec else "",
    )
    blocks += _list("Claims (not verified)", [claim_line(c) for c in claims])
    blocks += _list("Artifacts", [f"`{a['path']}`" for a in result.get("artifacts") or []])
    blocks += _list("Checks", [f"{_mark(c)} {_code(check_line(c))}" for c in checks])
    if record.get("recalled"):
        blocks.append(f"_recalled {len(record['recalled'])} memories before it worked_")
    return "\n\n".join(blocks)


def pause_markdown(run_id: str, pause: Pause, role: str) -> str:
    """Render a pending question, and whether ``role`` may answer it."""
    lines = [f"**{pause.title}** (run `{run_id}`)", "", pause.question, ""]
    lines.append(f"Priority **{pause.priority}** · rule `{pause.rule or 'default'}`")
    lines.extend(f"{label.capitalize()}: {text}" for label, text in pause.facts())
    for alt in pause.alternatives:
        cost = "" if alt.estimated_cost_usd is None else f" (~${alt.estimated_cost_usd:.4f})"
        pros = "".join(f"\n  - pro: {p}" for p in alt.pros)
        cons = "".join(f"\n  - con: {c}" for c in alt.cons)
        lines.append(f"- Alternative `{alt.id}`: {alt.title}{cost}{pros}{cons}")
    lines += ["", HELP[pause.kind]]
    if pause.error:
        lines.append(f"\n_Last answer refused: {pause.error}_")
    if role not in pause.roles:
        lines.append(
            f"\nYou are signed in as **{role}**; this needs one of: {', '.join(pause.roles)}."
        )
    return "\n".join(lines)


def summary_markdown(
    run_id: str, status: str, reason: str, records: list[dict[str, Any]], out_dir: Path
) -> str:
    """Render how a run ended (or why it waits)."""
    passed = sum(1 for r in records if r["outcome"] == "PASSED")
    lines = [
        f"### Run `{run_id}`: {status}",
        f"{passed} of {len(records)} stages passed. Artifacts: `{out_dir}`.",
    ]
    if reason:
        lines.append(f"> {reason}")
    return "\n\n".join(lines)


def artifact_files(out_dir: Path, records: list[dict[str, Any]]) -> list[tuple[str, Path]]:
    """Return ``(path, file)`` for every published artifact of the run that exists."""
    found = []
    for record in records:
        if record["outcome"] != "PASSED":
            continue
        for artifact in (record.get("result") or {}).get("artifacts") or []:
            file = out_dir / artifact["path"]
            if file.is_file():
                found.append((artifact["path"], file))
    for extra in ("SUMMARY.md", "run.json"):
        if (out_dir / extra).is_file():
            found.append((extra, out_dir / extra))
    return found
