"""Traceability, for Product Management, Business Analysis and Solution Architecture.

Once the software is built and its tests have run, each acceptance criterion the
requirements document declares (``AC-1: ...``) is traced to the tests that name it
(``test_ac1_...``, the rule QA Engineering is given) and to how they ended, and each
planned file to the workspace. A criterion no test that ran covers goes back to the
owner of the planned tests, who adds one in a fix round to its own tests file (not the
files of the requirement's examples and of the agreed behaviour, which the factory
writes); a criterion whose test failed and a planned file that is missing are reported
here and sent back by the code checks that found them (the failing test, the plan's
coverage), not twice.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from devfactory.checks.code.criteria import REQUIREMENTS_PATH, criteria_of
from devfactory.checks.tools.tool_frame import Finding, Tool, ToolContext, ToolReport, not_run
from devfactory.contracts import CheckRun
from devfactory.software.behaviour import PATH as BEHAVIOUR_PATH
from devfactory.software.examples import PATH as EXAMPLES_PATH

_WRITTEN_BY_THE_FACTORY = frozenset({EXAMPLES_PATH, BEHAVIOUR_PATH})
_LINE = re.compile(r"\bAC-(\d{1,3})\b\**\s*[:.)\]-]*\s*(.*)")


def criterion_texts(requirements_md: str) -> dict[str, str]:
    """Return each declared criterion's own words (its first line), by id."""
    texts: dict[str, str] = {}
    for line in requirements_md.splitlines():
        found = _LINE.search(line)
        if found:
            key = f"AC-{int(found.group(1))}"
            words = found.group(2).strip(" *|")
            if words and key not in texts:
                texts[key] = words[:160]
    return texts


@dataclass(frozen=True)
class Trace:
    """What the trace found: each criterion's status, and the planned files not written."""

    criteria: dict[str, str]
    missing_files: list[str]

    def summary(self) -> str:
        """Say it in one line, as the check's record does."""
        counts: dict[str, int] = {}
        for status in self.criteria.values():
            counts[status] = counts.get(status, 0) + 1
        told = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
        files = (
            f"planned files not written: {', '.join(self.missing_files[:5])}"
            if self.missing_files
            else "every planned file written"
        )
        return f"{len(self.criteria)} criteria ({told or 'none'}); {files}"


def trace(
    requirements_md: str,
    statuses: dict[str, str],
    planned: Sequence[str],
    written: Sequence[str],
) -> Trace:
    """Trace each declared criterion to its tests' outcome, and the plan to the files."""
    declared = criteria_of(requirements_md)
    criteria = {c: statuses.get(c, "not covered") for c in declared}
    have = set(written)
    return Trace(criteria, [p for p in planned if p not in have])


@dataclass(frozen=True)
class TraceabilityCheck:
    """Every acceptance criterion is covered by a test that ran; every planned file exists."""

    name = "traceability"
    tools: tuple[Tool, ...] = ()  # the tests' JUnit report, read by the code checks already
    promise = (
        "Once the software is built and its tests have run, every acceptance criterion of "
        f"`{REQUIREMENTS_PATH}` (`AC-1: ...`) must be covered by a test that ran (one named "
        "`test_ac1_...`), and every planned file must exist; a criterion no test covers goes "
        "back to the owner of the tests. The report says which criteria passed, failed or are "
        "not covered."
    )

    def judges(self, path: str, code: bool) -> bool:
        """Look at the requirements document: the criteria are declared there."""
        return path == REQUIREMENTS_PATH

    def run(self, context: ToolContext, paths: Sequence[str]) -> ToolReport:
        """Trace the criteria to the tests that ran and the plan to the workspace."""
        document = context.files.get(REQUIREMENTS_PATH, "")
        found = trace(
            document, dict(context.criteria), sorted(context.planned), list(context.files)
        )
        command = f"trace {REQUIREMENTS_PATH}'s criteria to the tests that ran"
        if not found.criteria:
            return not_run(self.name, f"not run: {REQUIREMENTS_PATH} declares no AC")
        if not context.criteria:  # the tests did not run: the code checks say why
            quiet = CheckRun(
                name=self.name,
                command=command,
                summary=f"not judged: no test ran; {found.summary()}",
                tool="JUnit report",
            )
            return ToolReport([quiet], [])
        texts = criterion_texts(document)
        # the team's own tests file: the factory writes the examples' and the behaviour's
        owner_file = next((t for t in context.tests if t not in _WRITTEN_BY_THE_FACTORY), "")
        owner_file = owner_file or (context.tests[0] if context.tests else "")
        findings = [
            Finding(
                owner_file,
                f"no test that ran covers {key}"
                + (f" ({texts[key]})" if key in texts else "")
                + f": add one named test_{key.lower().replace('-', '')}_... that checks it",
            )
            for key, status in found.criteria.items()
            if status == "not covered"
        ]
        covered = sum(1 for s in found.criteria.values() if s != "not covered")
        record = CheckRun(
            name=self.name,
            command=command,
            exit_code=0,
            passed=covered,
            failed=len(findings),
            sandboxed=False,
            summary=found.summary(),
            tool="JUnit report",
        )
        return ToolReport([record], findings)
