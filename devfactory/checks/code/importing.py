"""The import check: every Python file byte-compiles and every planned code module imports."""

from __future__ import annotations

from collections.abc import Mapping

from devfactory.checks.code.framework import CheckContext, CheckOutcome, Need, Problem, path_of


class ImportCheck:
    """Every Python file byte-compiles and every planned code module imports."""

    name = "import"
    promise = "Every Python file byte-compiles and every planned code module imports."
    needs = frozenset({Need.WORKSPACE, Need.ENVIRONMENT, Need.CODE})

    def run(self, context: CheckContext) -> CheckOutcome:
        """Import the modules in the sandbox; a failure goes to its module's owner."""
        sandbox, workspace, env = context.running()
        code = context.code_modules()
        result = sandbox.compile_and_import(workspace, env, code)
        outcome = CheckOutcome(runs=[result.record()])
        if result.exit_code == 0:
            return outcome
        for line in result.output.splitlines():
            name = line.split(":", 1)[0].strip()
            path = path_of(name, context.files)
            if name in code and path:
                owner = context.plan.owner_of(path)
                outcome.problems.append(Problem(path, owner, self.name, line.strip()[:600]))
        if not outcome.problems and own_failures(result.output, context.files):
            outcome.problems.append(Problem("", "", self.name, result.output[-600:]))
        return outcome


def own_failures(output: str, files: Mapping[str, str]) -> list[str]:
    """Return the failure lines of an import check that are about the run's own files.

    A file the run did not write (a repository's own, as it was) that does not
    compile is not the run's to fix; every other failure line is.
    """
    said = ("ok ", "compiled ")  # a module that imported; the closing count
    lines = [line for line in output.splitlines() if line.strip() and not line.startswith(said)]
    return [
        line
        for line in lines
        if not (line.startswith("compile ") and line[8:].split(":", 1)[0] not in files)
    ]
