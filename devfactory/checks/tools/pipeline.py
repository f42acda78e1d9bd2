"""Data and ML Engineering's scripts run on their sample data, within a limit, once built.

A data pipeline or a training script that was never run is a guess. Once the software
is built, each Python script the build plan gives Data Engineering or ML Engineering
that runs as a program (it has an ``if __name__ == "__main__":`` block) is run in the
sandbox, from the project's folder with no arguments (its defaults name its sample
data), in the project's own environment with the project importable, within
``pipeline_run_s``. One that fails, or runs past the limit, goes back to its owner
with the tail of its output. Modules without such a block are imported by the code
checks and not run here.
"""

from __future__ import annotations

import ast
import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

from devfactory.checks.tools.tool_frame import Finding, Tool, ToolContext, ToolReport
from devfactory.contracts import CheckRun

ROLES = frozenset({"data", "ml"})
"""The build plan's roles whose scripts this check runs (Data and ML Engineering's)."""

LAUNCH = (
    "import runpy, sys; sys.path[:0] = ['.', 'src']; sys.argv = [sys.argv[1]]; "
    "runpy.run_path(sys.argv[0], run_name='__main__')"
)
"""Run a script as ``python SCRIPT`` would, with the project importable (its folder and src/)."""


def runs_as_program(source: str) -> bool:
    """Say whether a module has an ``if __name__ == "__main__":`` block at its top level."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    for node in tree.body:
        if isinstance(node, ast.If) and isinstance(node.test, ast.Compare):
            sides = [node.test.left, *node.test.comparators]
            named = any(isinstance(s, ast.Name) and s.id == "__name__" for s in sides)
            main = any(isinstance(s, ast.Constant) and s.value == "__main__" for s in sides)
            if named and main:
                return True
    return False


@dataclass(frozen=True)
class PipelineRunCheck:
    """Each data or ML script runs on its sample data, with no arguments, within the limit."""

    name = "pipeline_runs"
    tools: tuple[Tool, ...] = ()  # the project's own interpreter, in the sandbox
    promise = (
        "Once the code is built, each Python script of yours with an "
        '`if __name__ == "__main__":` block runs in the sandbox from the project\'s folder with '
        "no arguments, in the project's environment (no network), within the `pipeline_run_s` "
        "setting: its defaults must name the sample data it runs on (a file you write). One that "
        "fails or runs too long comes back to you with its output."
    )

    def judges(self, path: str, code: bool) -> bool:
        """Look at Python files the plan does not call code (the teams' roles say whose)."""
        return not code and path.endswith(".py")

    def run(self, context: ToolContext, paths: Sequence[str]) -> ToolReport:
        """Run each script of Data or ML Engineering that runs as a program."""
        scripts = [
            p
            for p in paths
            if context.roles.get(p) in ROLES and runs_as_program(context.files.get(p, ""))
        ]
        if not scripts:
            return ToolReport([])  # nothing of theirs runs as a program: nothing to record
        seconds = context.settings.checks.pipeline_run_s if context.settings is not None else 60
        env = context.sandbox.environment([*context.dependencies, *context.packages])
        limits = dataclasses.replace(context.sandbox.limits, wall_seconds=int(seconds))
        runs: list[CheckRun] = []
        findings: list[Finding] = []
        for script in scripts:
            result = context.sandbox.run(
                ["python", "-c", LAUNCH, script],
                workspace=context.workspace,
                env=env,
                limits=limits,
                name=self.name,
            )
            record = result.record().model_copy(
                update={"command": f"python {script}", "tool": "the project's Python"}
            )
            runs.append(record)
            if result.exit_code != 0 or result.killed or result.problem:
                why = result.killed or result.problem or f"exit {result.exit_code}"
                tail = " ".join(result.output.strip()[-600:].split())
                findings.append(
                    Finding(script, f"`python {script}` failed ({why}): {tail}".rstrip(": "))
                )
        return ToolReport(runs, findings)
