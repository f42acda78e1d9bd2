"""Objective gates: turn sandbox results, lint findings and plan coverage into problems.

The validator never trusts a model's word: a planned file is present or not,
a planned symbol is defined in its module's syntax tree or not, a module
imports or not, a test passes or not. Every problem names the file it is
about, so it goes back to the team that owns that file.
"""

from __future__ import annotations

import ast
import json
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.requirements import Requirement

from devfactory.contracts import CheckRun
from devfactory.software.plan import BuildPlan, FileRole, SoftwareKind, module_name

if TYPE_CHECKING:
    from devfactory.sandbox.runner import Sandbox, TestCase, TestReport

_CRITERION = re.compile(r"\bAC-(\d{1,3})\b")
_TEST_CRITERION = re.compile(r"(?i)(?<![a-z0-9])ac[_-]?(\d{1,3})(?!\d)")
_FRAME = re.compile(r'File "([^"]+)", line (\d+)|^([\w./-]+\.py):(\d+):', re.M)
LINT_RULES = "E9,F63,F7,F82"  # syntax errors, undefined names: what breaks at run time
RUFF_CHECK = ("check", "--isolated", "--select", LINT_RULES, "--output-format", "json")


@dataclass(frozen=True)
class Problem:
    """One objective problem, about one file (and so one owning team)."""

    path: str
    owner: str
    check: str
    text: str

    def line(self) -> str:
        """Render the problem as gate feedback."""
        return f"{self.path} [{self.check}]: {self.text}" if self.path else self.text


@dataclass
class Verification:
    """What the sandbox and the static checks found in a workspace."""

    checks: list[CheckRun] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    tests: TestReport | None = None
    criteria: dict[str, str] = field(default_factory=dict)  # "AC-1" -> passed|failed|not covered

    def of(self, team: str) -> list[Problem]:
        """Return the problems about ``team``'s files."""
        return [p for p in self.problems if p.owner == team]

    @property
    def score(self) -> float:
        """A 0..1 score: the share of checks that passed, times the share of tests passed."""
        if not self.checks:
            return 0.0
        share = sum(1 for c in self.checks if c.ok) / len(self.checks)
        if self.tests is not None:
            total = self.tests.passed + self.tests.failed + self.tests.errors
            share *= self.tests.passed / total if total else 0.0
        return round(share, 3)


def defined_names(source: str) -> set[str]:
    """Return the top-level names and ``Class.method`` names a module defines."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
            if isinstance(node, ast.ClassDef):
                names.update(
                    f"{node.name}.{item.name}"
                    for item in node.body
                    if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef)
                )
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, ast.ImportFrom | ast.Import):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
    return names


def coverage(plan: BuildPlan, files: Mapping[str, str], *, teams: Sequence[str]) -> list[Problem]:
    """List planned files of ``teams`` that are missing and planned symbols not defined."""
    problems = []
    for item in plan.files:
        if item.owner in teams and item.path not in files:
            problems.append(Problem(item.path, item.owner, "plan", "planned file is missing"))
    for module in plan.modules:
        owner = plan.owner_of(module.path)
        if owner not in teams or module.path not in files:
            continue
        defined = defined_names(files[module.path])
        for symbol in module.symbols:
            if symbol.name not in defined:
                problems.append(
                    Problem(
                        module.path,
                        owner,
                        "plan",
                        f"does not define `{symbol.name}` (planned: {symbol.signature})",
                    )
                )
    return problems


def signatures(source: str, *, limit: int = 2000) -> str:
    """Return a module's public signatures (def/class lines and first docstring lines)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return source[:limit]
    lines = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            if node.name.startswith("_"):
                continue
            head = ast.get_source_segment(source, node) or ""
            lines.append(head.split(":\n", 1)[0].split("\n")[0].rstrip(":") + ": ...")
            if isinstance(node, ast.ClassDef):
                for item in node.body:
                    if isinstance(item, ast.FunctionDef) and not item.name.startswith("__"):
                        seg = ast.get_source_segment(source, item) or ""
                        lines.append("    " + seg.split("\n")[0].strip().rstrip(":") + ": ...")
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            lines.append((ast.get_source_segment(source, node) or "")[:120])
    return "\n".join(lines)[:limit]


def public_names(source: str) -> list[str]:
    """Return the public top-level functions, classes and assigned names of a module."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    names: list[str] = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.append(node.name)
        elif isinstance(node, ast.Assign):
            names += [t.id for t in node.targets if isinstance(t, ast.Name)]
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.append(node.target.id)
    return [n for n in dict.fromkeys(names) if not n.startswith("_")]


def criteria_of(requirements_md: str) -> list[str]:
    """Return the acceptance criteria ids (``AC-1``...) a requirements document declares."""
    return list(dict.fromkeys(f"AC-{n}" for n in _CRITERION.findall(requirements_md)))


def criteria_status(criteria: Sequence[str], cases: Sequence[TestCase]) -> dict[str, str]:
    """Say for each criterion whether the tests that name it passed, failed or none did."""
    status = {c: "not covered" for c in criteria}
    for case in cases:
        for number in _TEST_CRITERION.findall(case.name):
            key = f"AC-{int(number)}"
            if key not in status:
                continue
            if case.outcome != "passed":
                status[key] = "failed"
            elif status[key] == "not covered":
                status[key] = "passed"
    return status


def blame(text: str, plan: BuildPlan, workspace: Path) -> str:
    """Return the planned file in which a traceback ends (its innermost project frame)."""
    planned = {f.path for f in plan.files}
    found = ""
    for match in _FRAME.finditer(text):
        name = match.group(1) or match.group(3) or ""
        path = Path(name)
        if path.is_absolute():
            try:
                name = str(path.relative_to(workspace))
            except ValueError:
                continue
        if name in planned:
            found = name
    return found


def ruff_path() -> str | None:
    """Return the ruff next to this interpreter, else the one on PATH, else None."""
    return shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")


def finding_text(item: Mapping[str, object]) -> str:
    """Render one of ruff's JSON findings as ``line N: CODE message``."""
    location = item.get("location")
    row = location.get("row", "?") if isinstance(location, dict) else "?"
    return f"line {row}: {item.get('code')} {item.get('message', '')}"


def lint(
    workspace: Path, plan: BuildPlan, *, timeout: float = 60
) -> tuple[CheckRun, list[Problem]]:
    """Run ruff's run-time-error rules on the workspace (static: nothing is executed)."""
    ruff = ruff_path()
    command = f"ruff check --select {LINT_RULES}"
    if ruff is None:
        return CheckRun(name="lint", command=command, summary="ruff not installed: skipped"), []
    argv = [ruff, *RUFF_CHECK, "."]
    proc = subprocess.run(  # noqa: S603 - fixed argv, no shell
        argv, cwd=workspace, capture_output=True, text=True, timeout=timeout, check=False
    )
    try:
        findings = json.loads(proc.stdout or "[]")
    except json.JSONDecodeError:
        findings = []
    problems = []
    for item in findings[:40]:
        rel = str(Path(item.get("filename", "")).resolve().relative_to(workspace.resolve()))
        problems.append(Problem(rel, plan.owner_of(rel), "lint", finding_text(item)))
    run = CheckRun(
        name="lint",
        command=command,
        exit_code=proc.returncode,
        failed=len(findings),
        sandboxed=False,
        summary=f"{len(findings)} finding(s)" if findings else "clean",
    )
    return run, problems


def environment_for(plan: BuildPlan) -> list[str]:
    """Return the packages the checks need: the plan's, and uvicorn to serve a web service."""
    deps = list(plan.dependencies)
    names = {Requirement(d).name.lower().replace("_", "-") for d in deps}
    if plan.kind is SoftwareKind.WEB_SERVICE and "uvicorn" not in names:
        deps.append("uvicorn")  # the smoke run serves the app; the plan need not list it
    return deps


def test_command(plan: BuildPlan) -> str:
    """Return the plan's test command as a checkout would run it: the project importable.

    ``python -m pytest`` puts the workspace root on ``sys.path`` (bare
    ``pytest`` puts only the test file's folder there) and ``pythonpath``
    adds ``src/`` for a src layout.
    """
    args = plan.test_command.split()
    args = args[3:] if args[:1] == ["python"] else args[1:]
    layout = ["-o", "pythonpath=src"] if any(f.path.startswith("src/") for f in plan.files) else []
    return " ".join(["python", "-m", "pytest", *layout, *args])


def smoke_for(plan: BuildPlan) -> tuple[str, tuple[str, ...], str] | None:
    """Return how to smoke-run the entry point: ``(kind, argv, path)``, or None."""
    entry = plan.entry_point
    if not entry:
        return None
    if plan.kind is SoftwareKind.WEB_SERVICE and ":" in entry:
        get = next((e.path for e in plan.endpoints if e.method == "GET" and "{" not in e.path), "/")
        argv = ("python", "-m", "uvicorn", entry, "--host", "127.0.0.1", "--port", "{port}")
        return "http", argv, get
    if plan.kind in (SoftwareKind.CLI, SoftwareKind.SCRIPT, SoftwareKind.DATA_PIPELINE):
        return "cli", tuple(entry.split()), "/"
    return None


def verify(
    plan: BuildPlan,
    workspace: Path,
    sandbox: Sandbox,
    *,
    teams: Sequence[str],
    tests: bool,
    smoke: bool,
    criteria: Sequence[str] = (),
    files: Mapping[str, str] | None = None,
) -> Verification:
    """Run every objective check on ``workspace``: coverage, lint, install, import, tests, smoke.

    Args:
        plan: the run's build plan.
        workspace: a folder holding the files written so far.
        sandbox: where the code runs.
        teams: the teams whose planned files must be present by now.
        tests: run the test command (when the plan's tests files exist).
        smoke: smoke-run the entry point.
        criteria: acceptance criteria ids to report on from the tests.
        files: the files laid out in ``workspace`` (read from it, links not
            followed, when not given).

    """
    from devfactory.sandbox.runner import Smoke

    if files is None:
        files = {
            str(p.relative_to(workspace)): p.read_text(errors="replace")
            for p in workspace.rglob("*")
            if p.is_file() and not p.is_symlink()
        }
    out = Verification(problems=coverage(plan, files, teams=teams))
    run, found = lint(workspace, plan)
    out.checks.append(run)
    out.problems.extend(found)
    env = sandbox.environment(environment_for(plan))
    out.checks.append(env.install.record())
    if not env.ok:
        tail = env.install.output[-800:]
        why = f"dependencies {plan.dependencies} did not install: {tail}"
        out.problems.append(Problem("architecture/plan.json", "", "install", why))
        return out
    code = [  # the planned code modules written so far (a __main__ runs when imported)
        name
        for f in plan.files
        if f.role is FileRole.CODE and f.path in files and f.path.endswith(".py")
        if (name := module_name(f.path)) and not name.endswith("__main__")
    ]
    if code:
        result = sandbox.compile_and_import(workspace, env, code)
        out.checks.append(result.record())
        if result.exit_code != 0:
            for line in result.output.splitlines():
                name = line.split(":", 1)[0].strip()
                path = _path_of(name, files)
                if name in code and path:
                    out.problems.append(
                        Problem(path, plan.owner_of(path), "import", line.strip()[:600])
                    )
            if not any(p.check == "import" for p in out.problems):
                out.problems.append(Problem("", "", "import", result.output[-600:]))
    has_tests = any(f.role is FileRole.TESTS and f.path in files for f in plan.files)
    if tests and has_tests:
        result, report = sandbox.run_tests(workspace, env, test_command(plan))
        out.checks.append(result.record(report))
        out.tests = report
        for case in report.cases:
            if case.outcome in ("failed", "error"):
                path = blame(case.traceback, plan, workspace) or case.file
                text = f"{case.name} {case.outcome}: {case.message}\n{case.traceback}"[:1500]
                out.problems.append(Problem(path, plan.owner_of(path), "tests", text))
        if not report.cases and result.exit_code not in (0, None):
            test_file = next(f for f in plan.files if f.role is FileRole.TESTS)
            text = f"`{plan.test_command}` ran no tests (exit {result.exit_code}): "
            out.problems.append(
                Problem(test_file.path, test_file.owner, "tests", text + result.output[-800:])
            )
        out.criteria = criteria_status(criteria, report.cases)
    how = smoke_for(plan) if smoke else None
    if how is not None:
        kind, argv, path = how
        result = sandbox.smoke(workspace, env, Smoke(kind=kind, argv=argv, path=path))
        out.checks.append(result.record())
        if result.exit_code != 0:
            target = _entry_file(plan, files)
            out.problems.append(
                Problem(target, plan.owner_of(target), "smoke", result.output[-800:])
            )
    return out


def _path_of(module: str, files: Mapping[str, str]) -> str:
    for path in files:
        if path.endswith(".py") and module_name(path) == module:
            return path
    return ""


def _entry_file(plan: BuildPlan, files: Mapping[str, str]) -> str:
    entry = plan.entry_point.split()[-1].split(":")[0]
    path = _path_of(entry, files) or _path_of(entry + ".__main__", files)
    if path:
        return path
    return next((f.path for f in plan.files if f.role is FileRole.CODE), "")
