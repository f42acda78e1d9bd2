"""The lint check: ruff's run-time-error rules (syntax errors, undefined names), nothing run.

The build loop and the precheck lint one text the same way (``LintCheck.findings_in``),
so a finding reads the same wherever it is found.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devfactory.checks.code.framework import CheckContext, CheckOutcome, Need, Problem, needed
from devfactory.contracts import CheckRun
from devfactory.runfiles import is_regular_file

LINT_RULES = "E9,F63,F7,F82"  # syntax errors, undefined names: what breaks at run time
RUFF_CHECK = ("check", "--isolated", "--select", LINT_RULES, "--output-format", "json")


def ruff_path() -> str | None:
    """Return the ruff next to this interpreter, else the one on PATH, else None."""
    return shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")


def finding_text(item: Mapping[str, object]) -> str:
    """Render one of ruff's JSON findings as ``line N: CODE message``."""
    location = item.get("location")
    row = location.get("row", "?") if isinstance(location, dict) else "?"
    return f"line {row}: {item.get('code')} {item.get('message', '')}"


@dataclass(frozen=True)
class LintCheck:
    """Ruff's run-time-error rules (syntax errors, undefined names): static, nothing is run."""

    timeout: float = 60
    max_findings: int = 40
    name = "lint"
    promise = (
        "Ruff's run-time-error rules (syntax errors, undefined names): static, nothing is run."
    )
    needs = frozenset({Need.WORKSPACE})
    command = f"ruff check --select {LINT_RULES}"

    def run(self, context: CheckContext) -> CheckOutcome:
        """Lint the run's Python files in the workspace, each finding for its file's owner."""
        workspace = needed(context.workspace, Need.WORKSPACE)
        ruff = ruff_path()
        if ruff is None:
            skipped = CheckRun(
                name=self.name, command=self.command, summary="ruff not installed: skipped"
            )
            return CheckOutcome(runs=[skipped])
        # the run's own files only: a repository's files it did not touch are not its to fix
        mine = sorted(
            p for p in context.files if p.endswith(".py") and is_regular_file(workspace, p)
        )
        if not mine:
            clean = CheckRun(
                name=self.name, command=self.command, exit_code=0, sandboxed=False, summary="clean"
            )
            return CheckOutcome(runs=[clean])
        proc = subprocess.run(  # noqa: S603 - fixed argv, no shell
            [ruff, *RUFF_CHECK, "--", *mine],
            cwd=workspace,
            capture_output=True,
            text=True,
            timeout=self.timeout,
            check=False,
        )
        findings = _findings(proc.stdout)
        problems = []
        for item in findings[: self.max_findings]:
            rel = str(Path(item.get("filename", "")).resolve().relative_to(workspace.resolve()))
            problems.append(Problem(rel, context.plan.owner_of(rel), self.name, finding_text(item)))
        run = CheckRun(
            name=self.name,
            command=self.command,
            exit_code=proc.returncode,
            failed=len(findings),
            sandboxed=False,
            summary=f"{len(findings)} finding(s)" if findings else "clean",
        )
        return CheckOutcome(runs=[run], problems=problems)

    def findings_in(self, path: str, source: str) -> list[dict[str, Any]]:
        """Lint one file's text, given on stdin (nothing is written); [] without ruff.

        Raises ``subprocess.TimeoutExpired`` or ``OSError`` when ruff does not answer.
        """
        ruff = ruff_path()
        if ruff is None:
            return []
        proc = subprocess.run(  # noqa: S603 - fixed argv, no shell; the text goes in on stdin
            [ruff, *RUFF_CHECK, "--stdin-filename", path, "-"],
            input=source,
            capture_output=True,
            text=True,
            timeout=self.timeout,
            check=False,
        )
        return _findings(proc.stdout)


def _findings(stdout: str) -> list[dict[str, Any]]:
    try:
        findings = json.loads(stdout or "[]")
    except json.JSONDecodeError:
        return []
    return findings if isinstance(findings, list) else []
