"""What a run verified (the checks that ran, each named) and what its teams only claim.

A team's report lists "verified facts" and assumptions, but they are the
model's words: nothing checked them, and a model often copies its
instructions' acceptance criteria into them. Only a check that ran verifies
anything, so the summaries call the first facts and the second claims. A
check that never ran (code execution off, a missing tool) is said to be
"not run", with why, and never counted as passed or sandboxed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath

from devfactory.contracts import CheckRun, FinalChecks, StageRecord
from devfactory.teams.spec import TeamSpec

BUILT = "built software"
"""Who a fact of the final checks is about: the whole workspace, not one team."""

MIN_COPIED_CHARS = 24
"""The shortest claim taken for a copy of an instruction it is part of (shorter: a phrase)."""


@dataclass(frozen=True)
class Claim:
    """One thing a team's report asserts: a "verified fact" or an assumption, said once."""

    team: str
    text: str
    assumed: bool  # only among its assumptions (not also among its "verified facts")


def tool_of(command: str) -> str:
    """Name the tool a check's command runs: ``pytest`` for ``python -m pytest -q``."""
    words = [w for w in command.split() if "=" not in w.split("/", 1)[0]]  # no VAR=value
    if not words:
        return ""
    first = PurePosixPath(words[0]).name
    if first.startswith("python") and "-m" in words[:-1]:
        return words[words.index("-m") + 1]
    return first


def check_fact(check: CheckRun) -> str:
    """Say what a check that ran found, naming it and its tool.

    For example ``tests: 12 passed (pytest, sandboxed)`` or
    ``lint: passed (ruff, not sandboxed)``.
    """
    counts = tallies(check)
    if counts:
        found = ", ".join(counts)
    elif check.ok:
        found = "passed"
    elif check.exit_code is not None:
        found = f"failed (exit {check.exit_code})"
    else:
        found = "did not finish" + (f": {check.summary}" if check.summary else "")
    how = [t for t in (tool_of(check.command),) if t]
    how.append("sandboxed" if check.sandboxed else "not sandboxed")
    return f"{check.name}: {found} ({', '.join(how)})"


def not_run_line(check: CheckRun) -> str:
    """Say that a check never ran, and why: ``lint: not run (ruff not installed: skipped)``."""
    return f"{check.name}: not run ({check.summary or 'no reason recorded'})"


def tallies(check: CheckRun) -> list[str]:
    """Say a check's counts that are not zero: ``["3 passed", "1 failed"]``."""
    counted = ((check.passed, "passed"), (check.failed, "failed"), (check.errors, "errors"))
    return [f"{n} {word}" for n, word in counted if n]


def _checks(
    records: Sequence[StageRecord], final: FinalChecks | None
) -> Iterable[tuple[str, CheckRun]]:
    for check in final.checks if final else ():
        yield BUILT, check
    for record in records:
        for check in record.checks:
            yield record.team, check


def verified_facts(records: Sequence[StageRecord], final: FinalChecks | None) -> list[str]:
    """List one fact per check that ran: the final checks', then each stage's last attempt's."""
    return [f"{who} · {check_fact(c)}" for who, c in _checks(records, final) if c.ran]


def checks_not_run(records: Sequence[StageRecord], final: FinalChecks | None) -> list[str]:
    """List each check that never ran, and why (nothing of it is verified)."""
    return [f"{who} · {not_run_line(c)}" for who, c in _checks(records, final) if not c.ran]


def _plain(text: str) -> str:
    """Reduce a line to its words: no bullet, case, backticks or end punctuation."""
    text = re.sub(r"^\s*(?:[-*+]|\d+[.)])\s+", "", text)
    return " ".join(text.replace("`", "").lower().split()).rstrip(" .;:!…")


def instructions_of(spec: TeamSpec) -> str:
    """Return a team's instruction files as one text: what its claims must not merely copy."""
    return "\n".join((spec.soul, spec.agents, spec.tools_doc, spec.objective_template))


def copied_lines(instructions: str) -> frozenset[str]:
    """Return the lines of a team's instructions, reduced, that a claim may copy."""
    return frozenset(p for line in instructions.splitlines() if (p := _plain(line)))


def _copies(claim: str, lines: frozenset[str]) -> bool:
    """Whether ``claim`` restates a line of the instructions rather than says something."""
    if claim in lines:
        return True
    if len(claim) < MIN_COPIED_CHARS:
        return False
    return any(claim in line or (len(line) >= MIN_COPIED_CHARS and line in claim) for line in lines)


def claims_of(
    team: str, facts: Sequence[str], assumptions: Sequence[str], instructions: str = ""
) -> tuple[list[Claim], int]:
    """Return what a team's report claims, each once, and how many items copied its instructions.

    Its report's "verified facts" and assumptions are one list of claims (an item
    that is both is listed once); an item that restates a line of the team's
    own ``instructions`` (its acceptance criteria, say) says nothing about
    this run and is left out, counted.
    """
    lines = copied_lines(instructions)
    said = {_plain(f) for f in facts}
    seen: set[str] = set()
    claims: list[Claim] = []
    copied = 0
    for text in [*facts, *assumptions]:
        plain = _plain(text)
        if not plain or plain in seen:
            continue
        seen.add(plain)
        if _copies(plain, lines):
            copied += 1
            continue
        claims.append(Claim(team, text.strip(), assumed=plain not in said))
    return claims, copied


def claim_line(claim: Claim) -> str:
    """Render a claim for a list: its text, and "(assumed)" for an assumption."""
    return claim.text + (" (assumed)" if claim.assumed else "")
