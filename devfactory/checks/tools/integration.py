"""Feature Engineering's integration held to the built software: stories traced, glue wired.

Feature Engineering traces every user story through the system and supplies the glue
that wires the teams' parts together. Once the software is built: every user story
the requirements document declares (``US-1``...) must be named in the team's Markdown
(its trace), and each of its Python modules that defines a function or a class must
import one of the project's code modules (wiring, not re-implementing); each must
import cleanly in the sandbox with the project's environment (Python's own import, as
the code checks do for the code).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Sequence
from dataclasses import dataclass

from devfactory.checks.code.criteria import REQUIREMENTS_PATH
from devfactory.checks.tools.tool_frame import Finding, Tool, ToolContext, ToolReport
from devfactory.contracts import CheckRun
from devfactory.software.plan import module_name

ROLE = "integration"
_STORY = re.compile(r"\bUS-(\d{1,3})\b")


def stories_of(requirements_md: str) -> list[str]:
    """Return the user story ids (``US-1``...) a requirements document declares, in order."""
    return list(dict.fromkeys(f"US-{int(n)}" for n in _STORY.findall(requirements_md)))


def imported(source: str) -> set[str]:
    """Return the dotted names a module imports (absolute imports; none when it does not parse)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return set()
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def defines(source: str) -> bool:
    """Say whether a module defines a function or a class (logic that could be re-implemented)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    kinds = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    return any(isinstance(node, kinds) for node in tree.body)


def wires(source: str, code_modules: Sequence[str]) -> bool:
    """Say whether a module imports one of the project's code modules (or a name from one)."""
    found = imported(source)
    return any(
        name == module or name.startswith(module + ".") or module.startswith(name + ".")
        for name in found
        for module in code_modules
    )


@dataclass(frozen=True)
class IntegrationCheck:
    """Every user story is in the trace; every glue module wires the project's code and imports."""

    name = "integration_trace"
    tools: tuple[Tool, ...] = ()  # Python's own parser and import, in the project's environment
    promise = (
        "Once the code is built: every user story of the requirements document (`US-1`...) must "
        "be named in your Markdown (the trace), and each of your Python modules that defines a "
        "function or class must import one of the project's code modules (wire them, do not "
        "re-implement them), and each must import cleanly in the sandbox with the project's "
        "environment."
    )

    def judges(self, path: str, code: bool) -> bool:
        """Look at files the plan does not call code (the plan's roles say which are the team's)."""
        return not code and path.endswith((".py", ".md", ".markdown"))

    def run(self, context: ToolContext, paths: Sequence[str]) -> ToolReport:
        """Look for each story in the trace, then read and import each glue module."""
        mine = [p for p in paths if context.roles.get(p) == ROLE]
        documents = [p for p in mine if not p.endswith(".py")]
        modules = [p for p in mine if p.endswith(".py")]
        if not mine:
            return ToolReport([])
        findings: list[Finding] = []
        stories = stories_of(context.files.get(REQUIREMENTS_PATH, ""))
        traced = "\n".join(context.files.get(p, "") for p in documents)
        if stories and documents:
            missing = [s for s in stories if not re.search(rf"\b{s}\b", traced)]
            if missing:
                findings.append(
                    Finding(
                        documents[0],
                        f"traces no {', '.join(missing)} of {REQUIREMENTS_PATH}: give each user "
                        "story a row (screen, operation, handler, tables; complete or gap)",
                    )
                )
        code_modules = [m for p in context.code if (m := module_name(p))]
        for path in modules:
            source = context.files.get(path, "")
            if code_modules and defines(source) and not wires(source, code_modules):
                findings.append(
                    Finding(
                        path,
                        "imports none of the project's code modules "
                        f"({', '.join(code_modules[:5])}): wire them, do not re-implement them",
                    )
                )
        seconds, exit_code, sandboxed = 0.0, 0, False
        names = [n for p in modules if (n := module_name(p))]
        if names:
            env = context.sandbox.environment([*context.dependencies, *context.packages])
            result = context.sandbox.compile_and_import(context.workspace, env, names)
            seconds, exit_code, sandboxed = result.seconds, result.exit_code or 0, result.sandboxed
            for line in result.output.strip().splitlines() if result.exit_code != 0 else []:
                name = line.split(":", 1)[0].strip()  # "pkg.mod: Error: ..." (drivers/imports.py)
                path = next((p for p in modules if name in (module_name(p), f"compile {p}")), "")
                if path:  # another file's failure is the code checks' to report
                    findings.append(Finding(path, f"does not import: {line.strip()[:300]}"))
        judged = len(modules) + (1 if stories and documents else 0)
        bad = len({f.path for f in findings})
        record = CheckRun(
            name=self.name,
            command=f"{len(stories)} user stories traced in {', '.join(documents) or 'nothing'}; "
            f"{len(names)} module(s) imported",
            exit_code=exit_code,
            seconds=round(seconds, 2),
            passed=max(0, judged - bad),
            failed=bad,
            sandboxed=sandboxed,
            summary=f"{len(findings)} finding(s)" if findings else "every story traced, glue wired",
            tool="Python ast and import",
        )
        return ToolReport([record], findings)
