"""Markdown for the chat: a stage's step, a pause, a run's summary (no Chainlit here).

A finished run's files are read here for the chat to attach: through
``runfiles``, as bytes, never as a path Chainlit would open itself. What a team,
a requirement or a path says is shown through ``inert_markdown``: no image of it loads.
"""

from __future__ import annotations

import errno
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devfactory.chat.inert import inert_markdown
from devfactory.contracts import CheckRun
from devfactory.control.hitl import HELP, Pause
from devfactory.factory.artifacts import check_line
from devfactory.factory.findings import check_fact, claim_line, claims_of, instructions_of
from devfactory.runfiles import RefusedFileError, read_file
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
    return inert_markdown("\n\n".join(blocks))


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
    return inert_markdown("\n".join(lines))


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
    return inert_markdown("\n\n".join(lines))


RUN_RECORDS = ("SUMMARY.md", "run.json")


@dataclass(frozen=True)
class RunFiles:
    """A finished run's files for the chat: those read, and those left out with the reason."""

    attached: list[tuple[str, bytes]] = field(default_factory=list)
    left_out: list[tuple[str, str]] = field(default_factory=list)


def artifact_files(
    out_dir: Path, records: list[dict[str, Any]], *, file_limit: int, total_limit: int
) -> RunFiles:
    """Read a finished run's published artifacts, ``SUMMARY.md`` and ``run.json`` to attach.

    Each is read through ``runfiles`` (no link followed, a regular file only, at
    most ``file_limit`` bytes), so a name the run's folder turned into a link to
    a host file attaches nothing of it. Files past ``total_limit`` bytes in all
    are left out and named; a missing or empty file is skipped (Chainlit takes
    no element without content).
    """
    paths = [
        str(artifact["path"])
        for record in records
        if record["outcome"] == "PASSED"
        for artifact in (record.get("result") or {}).get("artifacts") or []
    ]
    found = RunFiles()
    total = 0
    for path in dict.fromkeys([*paths, *RUN_RECORDS]):
        try:
            data = read_file(out_dir, path, file_limit)
        except ValueError:
            found.left_out.append((path, "its path leaves the run's folder"))
            continue
        except RefusedFileError as exc:
            if exc.errno != errno.ENOENT:
                found.left_out.append((path, str(exc.strerror)))
            continue
        if not data:
            continue
        if total + len(data) > total_limit:
            found.left_out.append((path, f"past the {total_limit} bytes the chat attaches"))
            continue
        total += len(data)
        found.attached.append((path, data))
    return found


def attachment_mime(data: bytes) -> str:
    """Say how the chat serves an attached file: as plain text, or as bytes to download.

    Never by its name: an ``.html`` or ``.svg`` file served as such on the
    chat's origin would run its script as whoever opened it.
    """
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return "application/octet-stream"
    return "text/plain"


def left_out_markdown(left_out: list[tuple[str, str]]) -> str:
    """List the files a message does not attach, each with why ("" when none)."""
    return inert_markdown(
        "\n\n".join(_list("Not attached", [f"{_code(p)}: {why}" for p, why in left_out]))
    )
