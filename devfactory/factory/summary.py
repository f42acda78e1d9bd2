"""SUMMARY.md: a run as a person reads it, from the document ``run.json`` holds.

What the run spent (its ledger, by team), its stages and their checks, the
final checks of the built software, the facts its checks verified and, apart,
what its teams only claim. A check that never ran says so, and why.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping, Sequence
from typing import Any

from devfactory.contracts import Artifact, CheckRun, FinalChecks, StageOutcome, StageRecord
from devfactory.factory.findings import checks_not_run, claim_line, claims_of, verified_facts
from devfactory.shown import shown
from devfactory.software.plan import delivered_paths, find_plan


def _final_checks_section(doc: Mapping[str, Any]) -> list[str]:
    """Render the final checks: each check, the score, the acceptance criteria, the problems."""
    if not doc.get("build"):
        return [
            "",
            "## The built software: not checked",
            "",
            "No final check ran: the run did not reach them, it has no executable build plan,"
            " or code execution is off (`run_code`).",
        ]
    built = FinalChecks.model_validate(doc["build"])
    if not built.checks:
        lines = ["", "## The built software: not checked", ""]
    else:
        lines = ["", f"## The built software (score {built.score:.2f})", ""]
        lines += ["| Check | Command | Exit | Passed | Failed | Seconds | Sandboxed | Summary |"]
        lines += ["|---|---|---|---|---|---|---|---|"]
    for c in built.checks:
        if not c.ran:
            lines.append(
                f"| {_cell(c.name)} | {_quoted(c.command)} | not run | - | - | - | - | "
                f"{_cell(c.summary)} |"
            )
            continue
        lines.append(
            f"| {_cell(c.name)} | {_quoted(c.command)} | {_exit(c)} | {c.passed} | "
            f"{c.failed + c.errors} | {c.seconds:.1f} | "
            f"{'yes' if c.sandboxed else 'NO'} | {_cell(c.summary)} |"
        )
    if built.criteria:
        criteria = ", ".join(f"{k} {v}" for k, v in built.criteria.items())
        lines += ["", "Acceptance criteria: " + criteria]
    if built.problems:
        lines += ["", "Problems:", *(f"- {p.splitlines()[0][:300]}" for p in built.problems[:20])]
    return lines


def render_summary(
    doc: Mapping[str, Any],
    records: Sequence[StageRecord],
    *,
    instructions: Mapping[str, str] | None = None,
) -> str:
    """Render the human-readable summary of a run (``shown``: safe to print in a terminal).

    Its verified facts are the checks that ran, each named; what the teams'
    reports assert is listed apart, as claims (``instructions``: each team's
    instruction files, whose copied lines are left out).
    """
    lines = [
        f"# Run {doc['run_id']}: {doc['status']}",
        "",
        f"**Pipeline:** {doc['pipeline']}  ",
        f"**Requirement:** {doc['requirement']}",
        "",
    ]
    if doc["reason"]:
        lines += [f"**Why it stopped:** {doc['reason']}", ""]
    lines += _delivery_section(doc, records)
    lines += [
        "| Stage | Outcome | Model | Confidence | Attempts | Seconds |",
        "|---|---|---|---|---|---|",
    ]
    for r in records:
        conf = f"{r.result.confidence:.2f}" if r.result else "-"
        lines.append(
            f"| {r.team} | {r.outcome.value} | {r.model or '-'} | {conf} | {r.attempts} | "
            f"{r.seconds:.1f} |"
        )
    lines += _usage_section(doc)
    lines += ["", "## Artifacts", ""]
    for r in records:
        if r.outcome is StageOutcome.PASSED and r.result:
            lines += [f"- `{a.path}` ({a.kind.value}, by {r.team})" for a in r.result.artifacts]
    blocked = [r for r in records if r.outcome is StageOutcome.BLOCKED and r.result]
    if blocked:
        lines += ["", "## Not accepted: the best versions the gate refused", ""]
        lines += ["These files are in the folder as the best version found, NOT accepted:", ""]
        for r in blocked:
            arts = r.result.artifacts if r.result else []
            lines += [_blocked_line(r, a) for a in arts]
        for r in blocked:
            lines += ["", f"### Gate feedback: {r.team}", ""]
            lines += [f"- {item}" for item in r.gate_feedback]
    lines += _checks_tables(records)
    lines += _final_checks_section(doc)
    lines += _findings_section(doc, records, instructions or {})
    return shown("\n".join(lines)) + "\n"  # read in terminals too: no escapes, no bidi tricks


def _delivery_section(doc: Mapping[str, Any], records: Sequence[StageRecord]) -> list[str]:
    """Describe a run delivered into a repository as a merge request reads: branch, changes.

    The run's own records (``delivered_paths``: what is not the software) are
    named as kept in the run's folder: the branch never carries them.
    """
    repo = doc.get("repository")
    if not repo:
        return []
    lines = [
        "## The branch, for review",
        "",
        f"**Repository:** {repo['source']}  ",
        f"**Branch:** `{repo['branch']}` from `{repo['base']}` at {repo['base_commit'][:12]}  ",
        f"**The repository's own tests:** {repo['old_tests']}",
        "",
    ]
    changed = repo.get("changed") or []
    lines += [f"Changed against `{repo['base']}` ({len(changed)} files):", ""]
    lines += [f"- {line}" for line in changed[:200]] or ["- (nothing yet)"]
    if len(changed) > 200:
        lines.append(f"- ... and {len(changed) - 200} more")
    software = delivered_paths(find_plan({r.team: r for r in records}))
    kept = [
        a.path
        for r in records
        if r.outcome is StageOutcome.PASSED and r.result
        for a in r.result.artifacts
        if a.path not in software
    ]
    if kept:
        lines += ["", "The run's own records, kept in its folder and not on the branch:", ""]
        lines += [f"- `{path}`" for path in dict.fromkeys(kept)]
    return [*lines, ""]


UNPARSED = ".unparsed"  # the suffix of a refused Python draft that does not parse


def folder_path(record: StageRecord, artifact: Artifact) -> str:
    """Say where a stage's artifact lies in the run's folder.

    At its path, except a BLOCKED stage's Python file that does not parse: a
    syntax error at its path would break every import and every ``pytest`` of
    the folder, so it lies beside it, as ``<path>.unparsed``.
    """
    if record.outcome is StageOutcome.BLOCKED and artifact.path.endswith(".py"):
        try:
            ast.parse(artifact.content)
        except (SyntaxError, ValueError):
            return artifact.path + UNPARSED
    return artifact.path


def _blocked_line(record: StageRecord, artifact: Artifact) -> str:
    where = folder_path(record, artifact)
    if where == artifact.path:
        return f"- `{where}` ({record.team}, BLOCKED)"
    why = f"it does not parse, so it is not at `{artifact.path}`"
    return f"- `{where}` ({record.team}, BLOCKED; {why})"


def _usage_section(doc: Mapping[str, Any]) -> list[str]:
    """Render the run's calls and tokens by team, from its ledger (as ``devfactory usage``)."""
    if "usage" not in doc:
        return []
    lines = ["", "## Usage", ""]
    lines += [
        "Every model call of the run, each counted once: every round and attempt,"
        " answers, fact extraction and governance.",
        "",
        "| Team | Calls | Tokens in | Tokens out | Cost USD | Model seconds |",
        "|---|---|---|---|---|---|",
    ]
    rows = [*doc.get("usage_by_team", {}).items(), ("**run total**", doc["usage"])]
    for team, u in rows:
        lines.append(
            f"| {team} | {u['calls']} | {u['input_tokens']:,} | {u['output_tokens']:,} | "
            f"{u['cost_usd']:.4f} | {u['seconds']:.1f} |"
        )
    return lines


def _findings_section(
    doc: Mapping[str, Any], records: Sequence[StageRecord], instructions: Mapping[str, str]
) -> list[str]:
    """Render what the checks verified, what never ran, and what the teams only claim."""
    built = FinalChecks.model_validate(doc["build"]) if doc.get("build") else None
    facts = verified_facts(records, built)
    lines = ["", "## Verified facts (from checks that ran)", ""]
    lines += [f"- {f}" for f in facts] or ["- none: no check ran, so nothing here is verified"]
    skipped = checks_not_run(records, built)
    if skipped:
        lines += ["", "Not run, so nothing verified:", "", *(f"- {s}" for s in skipped)]
    lines += ["", "## Claims by the teams (not verified)", ""]
    lines += [
        "What each team's report asserts or assumes. No check confirmed these;"
        " items that only restate a team's instructions are left out.",
        "",
    ]
    copied = 0
    for r in records:
        if r.result is None:
            continue
        told = r.result
        claims, dropped = claims_of(
            r.team, told.verified_facts, told.assumptions_made, instructions.get(r.team, "")
        )
        copied += dropped
        lines += [f"- **{c.team}:** {claim_line(c)}" for c in claims]
    if copied:
        lines += ["", f"_{copied} item(s) copied from the teams' instructions left out._"]
    return lines


def _cell(text: object) -> str:
    """Make ``text`` one Markdown table cell (no line breaks, pipes escaped)."""
    return " ".join(str(text).split()).replace("|", "\\|")


def _checks_tables(records: Sequence[StageRecord]) -> list[str]:
    """Render one table of sandbox checks per stage that ran any."""
    lines = []
    for r in records:
        if not r.checks:
            continue
        lines += ["", f"## Checks: {r.team}", ""]
        lines += [
            "| Check | Command | Exit | Passed/failed/errors | Seconds | Sandboxed |",
            "|---|---|---|---|---|---|",
        ]
        for c in r.checks:
            if not c.ran:
                why = _cell(c.summary or "no reason recorded")
                lines.append(
                    f"| {_cell(c.name)} | {_quoted(c.command)} | not run: {why} | - | - | - |"
                )
                continue
            lines.append(
                f"| {_cell(c.name)} | {_quoted(c.command)} | {_exit(c)} | "
                f"{c.passed}/{c.failed}/{c.errors} | "
                f"{c.seconds:.1f} | {'yes' if c.sandboxed else 'no'} |"
            )
    return lines


def _quoted(command: str) -> str:
    """Make a command one table cell, in backticks where it holds none ("-" for none)."""
    text = _cell(command)
    if not text:
        return "-"
    return f"`{text}`" if "`" not in text else text


def _exit(check: CheckRun) -> str:
    return "-" if check.exit_code is None else str(check.exit_code)
