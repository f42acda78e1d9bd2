"""Check one drafted Python file as soon as it is written: what the gate would refuse in it.

A draft that does not parse, uses a name it never binds, or leaves out a name
the plan gives its module costs the whole stage an attempt at the gate: every
file is drafted again and the report asked again. Checked as soon as it is
drafted, the same finding goes back for that one file at once (the stage's
draft loop asks again, within ``max_parse_retries``). The checks are the
code checks' own objects, so the wording is the gate's: ``LintCheck`` on the
text (through stdin: nothing is written or run) and ``PlanCoverageCheck`` on
the module. The sandbox still runs every code check on the whole workspace after.
"""

from __future__ import annotations

import logging
import subprocess

from devfactory.software.checks import CheckContext, LintCheck, PlanCoverageCheck, finding_text
from devfactory.software.plan import BuildPlan

log = logging.getLogger(__name__)

MAX_FINDINGS = 8  # a file that breaks everywhere: the first few say enough
LINE_CHARS = 120  # of the offending line, quoted after a finding


def draft_problems(
    path: str, source: str, plan: BuildPlan | None, *, timeout: float = 30
) -> list[str]:
    """Return the gate's findings about one Python file, as feedback lines; [] when clean.

    Lint findings quote the line they are about (a small model cannot count
    lines). Planned names are checked only when the file parses: a file that
    does not parse defines nothing, and its syntax error is the news.
    """
    problems = [f"{path} [lint]: {text}" for text in _lint(path, source, timeout)]
    if plan is not None and not problems:
        draft = CheckContext(plan, {path: source}, teams=[plan.owner_of(path)])
        problems += [p.line() for p in PlanCoverageCheck().run(draft).problems if p.path == path]
    return problems


def _lint(path: str, source: str, timeout: float) -> list[str]:
    try:
        findings = LintCheck(timeout=timeout).findings_in(path, source)
    except (subprocess.TimeoutExpired, OSError) as exc:
        log.warning("draft lint of %s not run: %s", path, exc)
        return []
    lines = source.splitlines()
    found = []
    for item in findings[:MAX_FINDINGS]:
        text = finding_text(item)
        row = (item.get("location") or {}).get("row")
        if isinstance(row, int) and 0 < row <= len(lines) and lines[row - 1].strip():
            text += f" (the line: `{lines[row - 1].strip()[:LINE_CHARS]}`)"
        found.append(text)
    return found
