"""Check one drafted Python file as soon as it is written: what the gate would refuse in it.

A draft that does not parse, uses a name it never binds, or leaves out a name
the plan gives its module costs the whole stage an attempt at the gate: every
file is drafted again and the report asked again. Checked as soon as it is
drafted, the same finding goes back for that one file at once (the stage's
draft loop asks again, within ``max_parse_retries``). The checks are the
code checks' own objects, so the wording is the gate's: ``LintCheck`` on the
text (through stdin: nothing is written or run) and ``PlanCoverageCheck`` on
the module. The sandbox still runs every code check on the whole workspace after.

A tests file that holds no test is found here too (``no_test``), with what it
holds in place of tests: a small model shown the module under test sometimes
writes the module out again (make test's demo run at d22dde2: QA's file was
``checksum.py`` copied up to where the copy it was shown was cut, so it did not
parse, and the gate said only that). Its draft is then not shown to the model
again as the one to improve (``graph/stage/work.py``): it would copy it once more.
"""

from __future__ import annotations

import logging
import subprocess
from collections.abc import Mapping

from devfactory.checks.code import CheckContext, LintCheck, PlanCoverageCheck, finding_text
from devfactory.repos.repomap import is_test_file
from devfactory.software.plan import BuildPlan, FileRole, module_name
from devfactory.software.salvage import DEFINED, TEST

log = logging.getLogger(__name__)

MAX_FINDINGS = 8  # a file that breaks everywhere: the first few say enough
LINE_CHARS = 120  # of the offending line, quoted after a finding


# a top-level definition, read from the text: a file that does not parse has them too
def draft_problems(
    path: str,
    source: str,
    plan: BuildPlan | None,
    *,
    written: Mapping[str, str] | None = None,
    timeout: float = 30,
) -> list[str]:
    """Return the gate's findings about one Python file, as feedback lines; [] when clean.

    Lint findings quote the line they are about (a small model cannot count
    lines). Planned names are checked only when the file parses: a file that
    does not parse defines nothing, and its syntax error is the news. A tests
    file with no test in it is said first (``no_test``; ``written``: the files
    written so far, by path).
    """
    empty = no_test(path, source, plan, written or {}) if plan is not None else ""
    lint = [f"{path} [lint]: {text}" for text in _lint(path, source, timeout)]
    problems = [*filter(None, [empty]), *lint]
    if plan is not None and not lint:
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


def no_test(path: str, source: str, plan: BuildPlan, written: Mapping[str, str]) -> str:
    """Return the finding for a planned test file that holds no test ("" when it holds one).

    The functions and classes it defines again that a code file written so far
    (``written``) defines are named, with the import that reaches the public ones.
    """
    roles = {f.path: f.role for f in plan.files}
    if roles.get(path) is not FileRole.TESTS or not is_test_file(path) or TEST.search(source):
        return ""  # a conftest.py holds fixtures, not tests
    finding = (
        f"{path} holds no test: write test functions (`def test_...():`), each calling the "
        "project's code and asserting what the requirement says it does"
    )
    own = DEFINED.findall(source)  # its top-level functions and classes
    for other, text in written.items():
        if roles.get(other) is not FileRole.CODE or not other.endswith(".py"):
            continue
        copied = [n for n in dict.fromkeys(own) if n in set(DEFINED.findall(text))]
        if not copied:
            continue
        public = [n for n in copied if not n.startswith("_")]
        module = module_name(other)
        reach = f"`from {module} import {', '.join(public)}`" if public and module else ""
        finding += (
            f"; it defines {', '.join(f'`{n}`' for n in copied)} again, copied from {other}: "
            + (f"import {'them' if len(public) > 1 else 'it'} ({reach}), " if reach else "")
            + "never copy the code"
        )
    return finding
