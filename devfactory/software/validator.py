"""Code checks: judge the software a run builds, against its build plan, objectively.

The factory has two check systems, one per question:

* **Code checks** (this module): does the software built so far hold up as a
  whole? Each is a ``Check`` object with a ``name``, what it ``needs`` (a
  workspace, a sandbox, the installed environment, code, tests files, an
  entry point) and ``run(context) -> CheckOutcome``: plan coverage, lint,
  install, import, tests, smoke (``CODE_CHECKS``), and for a run that delivers
  into an existing repository its old tests (``ExistingTestsCheck``). ``verify`` runs a list of
  them and gathers a ``Verification``: records, problems per file and so per
  owning team, acceptance criteria, a score. ``graph/stage/verify.py`` runs
  them on a stage's code, ``graph/control.py`` on the whole workspace, and
  ``software/precheck.py`` runs lint and plan coverage on one drafted file.
* **Artifact checks** (``teams/checks.py``): is each file one stage returned
  well formed for its kind (markdown has a heading, YAML parses, a mermaid
  diagram is there)? A team's ``team.yaml`` names them under ``checks``; the
  gate runs them on every stage, code or not. They never run code.

A new code check (a type checker, say) is one class with those three members,
added to the list ``verify`` is given. The checks never trust a model's word:
a planned file is present or not, a planned symbol is defined in its module's
syntax tree or not, a module imports or not, a test passes or not. Every
problem names the file it is about, so it goes back to the team that owns it.

Why one module: the checks, the ``Verification`` they fill and what they read
from the plan and the source (planned names in a syntax tree, the test
command, how to smoke-run the entry point, the file a traceback blames) are
one concept, the objective judgement of the code. The syntax-tree reading it
shares with the planner (``defined_names``) is ``software/source.py``.
"""

from __future__ import annotations

import ast
import contextlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from packaging.requirements import Requirement

from devfactory.contracts import CheckRun
from devfactory.runfiles import (
    is_regular_file,
    list_files,
    open_within,
    read_file,
    relative_parts,
    remove_tree,
)
from devfactory.software.examples import PATH as EXAMPLES_PATH
from devfactory.software.plan import PLAN_PATH, BuildPlan, FileRole, SoftwareKind, module_name
from devfactory.software.source import defined_names

if TYPE_CHECKING:
    from devfactory.sandbox.runner import Environment, Sandbox, TestCase, TestReport

_CRITERION = re.compile(r"\bAC-(\d{1,3})\b")
_TEST_CRITERION = re.compile(r"(?i)(?<![a-z0-9])ac[_-]?(\d{1,3})(?!\d)")
_FRAME = re.compile(r'File "([^"]+)", line (\d+)|^([\w./-]+\.py):(\d+):', re.M)
PARSED_BYTES = 4 << 20  # a file of the workspace larger than this is not read to be parsed
LISTED_ENTRIES = 100_000  # entries of a workspace looked at when its files are not given
LINT_RULES = "E9,F63,F7,F82"  # syntax errors, undefined names: what breaks at run time
RUFF_CHECK = ("check", "--isolated", "--select", LINT_RULES, "--output-format", "json")
_T = TypeVar("_T")


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


class Need(StrEnum):
    """What a check needs; ``verify`` leaves out a check whose needs are not met."""

    WORKSPACE = "workspace"  # the files laid out in a folder
    SANDBOX = "sandbox"  # somewhere to run generated code
    ENVIRONMENT = "environment"  # the plan's dependencies installed (by the install check)
    CODE = "code"  # a planned code module written (a ``__main__`` is not imported)
    TESTS = "tests"  # a planned tests file written
    ENTRY_POINT = "entry point"  # an entry point a smoke run knows how to start


def _needed(value: _T | None, need: Need) -> _T:
    """Return ``value``, which a check's ``needs`` promised (``verify`` checked them)."""
    if value is None:
        raise RuntimeError(f"a check ran without its need: {need.value}")
    return value


@dataclass
class CheckContext:
    """What the checks look at: the plan, the files, and where code runs.

    Attributes:
        plan: the run's build plan.
        files: the files written so far, by path.
        teams: the teams whose planned files must be present by now.
        workspace: a folder holding ``files``.
        sandbox: where generated code runs.
        criteria: the acceptance criteria ids to report on from the tests.
        environment: the installed environment, once the install check made it.

    """

    plan: BuildPlan
    files: Mapping[str, str]
    teams: Sequence[str]
    workspace: Path | None = None
    sandbox: Sandbox | None = None
    criteria: Sequence[str] = ()
    environment: Environment | None = None

    def code_modules(self) -> list[str]:
        """Return the planned code modules written so far (a ``__main__`` runs when imported)."""
        return [
            name
            for f in self.plan.files
            if f.role is FileRole.CODE and f.path in self.files and f.path.endswith(".py")
            if (name := module_name(f.path)) and not name.endswith("__main__")
        ]

    def has(self, need: Need) -> bool:
        """Say whether ``need`` is met."""
        match need:
            case Need.WORKSPACE:
                return self.workspace is not None
            case Need.SANDBOX:
                return self.sandbox is not None
            case Need.ENVIRONMENT:
                return self.environment is not None and self.environment.ok
            case Need.CODE:
                return bool(self.code_modules())
            case Need.TESTS:
                return any(
                    f.role is FileRole.TESTS and f.path in self.files for f in self.plan.files
                )
            case Need.ENTRY_POINT:
                return smoke_for(self.plan) is not None

    def running(self) -> tuple[Sandbox, Path, Environment]:
        """Return the sandbox, the workspace and the environment that code runs with."""
        return (
            _needed(self.sandbox, Need.SANDBOX),
            _needed(self.workspace, Need.WORKSPACE),
            _needed(self.environment, Need.ENVIRONMENT),
        )


@dataclass
class CheckOutcome:
    """What one check found: its records, its problems, and what later checks may use.

    Attributes:
        runs: the commands it ran, as the stage record keeps them (none for a
            check that runs nothing, such as plan coverage).
        problems: what it found, each about one file.
        tests: the test report, from the check that ran the tests.
        criteria: each acceptance criterion's status, from the tests.
        environment: the environment it installed, for the checks after it.

    """

    runs: list[CheckRun] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    tests: TestReport | None = None
    criteria: dict[str, str] = field(default_factory=dict)
    environment: Environment | None = None


class Check(Protocol):
    """One objective check: a name, what it needs, and how it runs."""

    @property
    def name(self) -> str:
        """The check's name: its records' and its problems' ``check``."""
        ...

    @property
    def needs(self) -> frozenset[Need]:
        """What must be there for it to run; without it, it is left out."""
        ...

    def run(self, context: CheckContext) -> CheckOutcome:
        """Check ``context`` and say what was found."""
        ...


@dataclass
class Verification:
    """What the code checks found in a workspace."""

    checks: list[CheckRun] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    tests: TestReport | None = None
    criteria: dict[str, str] = field(default_factory=dict)  # "AC-1" -> passed|failed|not covered

    def add(self, outcome: CheckOutcome) -> None:
        """Take in one check's outcome."""
        self.checks.extend(outcome.runs)
        self.problems.extend(outcome.problems)
        self.tests = outcome.tests if outcome.tests is not None else self.tests
        self.criteria.update(outcome.criteria)

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


def arbitrate(
    case: TestCase, cases: list[TestCase], plan: BuildPlan, workspace: Path
) -> tuple[str, str]:
    """Say whose a failing test is: the code's or the test's author's, and why.

    The requirement's own examples (``examples.PATH``) are trusted: one that
    fails is the code's fault, whatever frame the traceback ends in. A model's
    test that fails on code passing every example goes back to the test's
    author, with the reason: it asks for something the examples do not show,
    so the test is checked against the requirement before the code is. Other
    failures (some example fails too, or there are none) go to the file the
    traceback ends in.
    """
    code = next((f.path for f in plan.files if f.role is FileRole.CODE), "")
    if case.file == EXAMPLES_PATH:
        found = blame(case.traceback, plan, workspace)
        owned = found if found and found != EXAMPLES_PATH else code
        return owned or case.file, "the requirement's own example fails: "
    examples = [c for c in cases if c.file == EXAMPLES_PATH]
    if examples and all(c.outcome == "passed" for c in examples):
        return case.file, (
            "the code passes every one of the requirement's own examples, and this test "
            "fails on it: check the test against the requirement sentence it tests: "
        )
    return blame(case.traceback, plan, workspace) or case.file, ""


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


def imported_planned(test_file: str, plan: BuildPlan, workspace: Path) -> str:
    """Return the planned code file a test file that the plan does not list imports ("" if none).

    A repository's own test fails where the run changed the code it tests; when
    its traceback ends in the test itself (a wrong result, not a crash), the
    planned module it imports is the file to blame, not the test.
    """
    if plan.owner_of(test_file) or not test_file.endswith(".py"):
        return ""
    try:  # the code under test ran in this folder: read through runfiles, never through a link
        source = read_file(workspace, test_file, PARSED_BYTES)
        tree = ast.parse(source.decode("utf-8", errors="replace"))
    except (OSError, SyntaxError, ValueError):
        return ""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    planned = {
        module_name(f.path): f.path
        for f in plan.files
        if f.role is FileRole.CODE and f.path.endswith(".py")
    }
    return next((planned[name] for name in sorted(names) if name in planned), "")


def ruff_path() -> str | None:
    """Return the ruff next to this interpreter, else the one on PATH, else None."""
    return shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")


def finding_text(item: Mapping[str, object]) -> str:
    """Render one of ruff's JSON findings as ``line N: CODE message``."""
    location = item.get("location")
    row = location.get("row", "?") if isinstance(location, dict) else "?"
    return f"line {row}: {item.get('code')} {item.get('message', '')}"


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


class PlanCoverageCheck:
    """Every planned file of the teams done by now is there and defines its planned names."""

    name = "plan"
    needs: frozenset[Need] = frozenset()

    def run(self, context: CheckContext) -> CheckOutcome:
        """List missing planned files and planned symbols not defined (nothing is run)."""
        return CheckOutcome(problems=coverage(context.plan, context.files, teams=context.teams))


@dataclass(frozen=True)
class LintCheck:
    """Ruff's run-time-error rules (syntax errors, undefined names): static, nothing is run."""

    timeout: float = 60
    max_findings: int = 40
    name = "lint"
    needs = frozenset({Need.WORKSPACE})
    command = f"ruff check --select {LINT_RULES}"

    def run(self, context: CheckContext) -> CheckOutcome:
        """Lint the run's Python files in the workspace, each finding for its file's owner."""
        workspace = _needed(context.workspace, Need.WORKSPACE)
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


class InstallCheck:
    """The plan's dependencies install in the sandbox; the checks after it run with them."""

    name = "install"
    needs = frozenset({Need.SANDBOX})

    def run(self, context: CheckContext) -> CheckOutcome:
        """Build (or reuse) the environment; a failed install is the plan's problem."""
        env = _needed(context.sandbox, Need.SANDBOX).environment(environment_for(context.plan))
        outcome = CheckOutcome(runs=[env.install.record()], environment=env)
        if not env.ok:
            tail = env.install.output[-800:]
            why = f"dependencies {context.plan.dependencies} did not install: {tail}"
            outcome.problems.append(Problem(PLAN_PATH, "", self.name, why))
        return outcome


class ImportCheck:
    """Every Python file byte-compiles and every planned code module imports."""

    name = "import"
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
            path = _path_of(name, context.files)
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


class TestsCheck:
    """The plan's test command passes; each acceptance criterion as its tests say."""

    __test__ = False  # not a pytest class, though its name says so
    name = "tests"
    needs = frozenset({Need.WORKSPACE, Need.ENVIRONMENT, Need.TESTS})

    def run(self, context: CheckContext) -> CheckOutcome:
        """Run the tests; a failure goes to the file its traceback ends in.

        Only the run's own test files are judged here; a repository's tests the
        run did not write are judged against their base branch (``ExistingTestsCheck``).
        """
        plan, (sandbox, workspace, env) = context.plan, context.running()
        result, report = sandbox.run_tests(workspace, env, test_command(plan))
        outcome = CheckOutcome(
            runs=[result.record(report)],
            tests=report,
            criteria=criteria_status(context.criteria, report.cases),
        )
        for case in report.cases:
            if case.file and case.file not in context.files:
                continue  # a repository's own test, as it was: ExistingTestsCheck judges it
            if case.outcome in ("failed", "error"):
                path, note = arbitrate(case, report.cases, plan, workspace)
                if not plan.owner_of(path):  # a repository's own test: the code it imports
                    path = imported_planned(case.file, plan, workspace) or path
                text = f"{case.name} {case.outcome}: {case.message}\n{case.traceback}"
                text = (note + text)[:1500]
                outcome.problems.append(Problem(path, plan.owner_of(path), self.name, text))
        if not report.cases and result.exit_code not in (0, None):
            test_file = next(f for f in plan.files if f.role is FileRole.TESTS)
            text = f"`{plan.test_command}` ran no tests (exit {result.exit_code}): "
            outcome.problems.append(
                Problem(test_file.path, test_file.owner, self.name, text + result.output[-800:])
            )
        return outcome


class SmokeCheck:
    """The entry point starts: ``--help`` for a CLI, one GET for a web service."""

    name = "smoke"
    needs = frozenset({Need.WORKSPACE, Need.ENVIRONMENT, Need.ENTRY_POINT})

    def run(self, context: CheckContext) -> CheckOutcome:
        """Smoke-run the entry point; a failure goes to the entry point's file."""
        from devfactory.sandbox.runner import Smoke

        sandbox, workspace, env = context.running()
        kind, argv, path = _needed(smoke_for(context.plan), Need.ENTRY_POINT)
        result = sandbox.smoke(workspace, env, Smoke(kind=kind, argv=argv, path=path))
        outcome = CheckOutcome(runs=[result.record()])
        if result.exit_code != 0:
            target = _entry_file(context.plan, context.files)
            owner = context.plan.owner_of(target)
            outcome.problems.append(Problem(target, owner, self.name, result.output[-800:]))
        return outcome


@dataclass(frozen=True)
class ExistingTestsCheck:
    """The tests a repository had before the run still pass on what the run changed.

    A run that delivers into an existing repository lays its files over the
    base branch's; these are the test files that existed there
    (``software/repomap.py``), run as they were, once on the base branch alone
    (the baseline) and once on the run's files. A test that passed on the base
    branch and fails now is a problem for the team whose file its traceback
    ends in (or that the test imports), else for the run: the final checks
    fail, so such a run cannot pass its gate. A test that already failed on
    the base branch (a dependency the sandbox lacks, say) is not the run's.
    """

    __test__ = False  # not a pytest class, though its name says so
    base: Mapping[str, str]  # the base branch's text files, by path
    tests: tuple[str, ...]  # the old test files among them
    name = "existing_tests"
    needs = frozenset({Need.WORKSPACE, Need.ENVIRONMENT})

    def originals(self) -> dict[str, str]:
        """Return each old test file's text on the base branch, by path."""
        return {path: self.base[path] for path in self.tests if path in self.base}

    def command(self) -> str:
        """Return the test command: pytest on each old test file."""
        paths = (shlex.quote(f"./{path}") for path in sorted(self.originals()))
        return " ".join(["python", "-m", "pytest", "-q", *paths])

    def run(self, context: CheckContext) -> CheckOutcome:
        """Run the old tests on the base branch, then on the run's files; compare.

        Each old test file is written back as it was on the base branch (a run
        that changed one is still held to the old one's assertions); this check
        runs last, so no other check sees them.
        """
        sandbox, workspace, env = context.running()
        if not self.originals():
            skipped = CheckRun(name=self.name, command="", summary="no existing tests to run")
            return CheckOutcome(runs=[skipped])
        try:
            for path, text in self.originals().items():
                write_text_in(workspace, path, text)
            passed_before = self.baseline(sandbox, env)
        except (OSError, ValueError) as exc:
            why = f"the old tests could not be laid out: {exc}"
            return CheckOutcome(
                runs=[CheckRun(name=self.name, command=self.command(), summary=why, ran=False)],
                problems=[Problem("", "", self.name, why)],
            )
        result, report = sandbox.run_tests(workspace, env, self.command())
        record = result.record(report)
        already = [c for c in report.cases if c.outcome in ("failed", "error")]
        broken = [c for c in already if c.nodeid in passed_before]
        if len(broken) < len(already):
            note = f"{len(already) - len(broken)} failed on the base branch too"
            record = record.model_copy(update={"summary": f"{record.summary}; {note}"})
        outcome = CheckOutcome(runs=[record.model_copy(update={"name": self.name})])
        for case in broken:
            path = blame(case.traceback, context.plan, workspace) or imported_planned(
                case.file, context.plan, workspace
            )
            text = f"an existing test broke: {case.name} {case.outcome}: {case.message}"
            text = f"{text}\n{case.traceback}"[:1500]
            outcome.problems.append(
                Problem(path or case.file, context.plan.owner_of(path), self.name, text)
            )
        if not report.cases and passed_before and result.exit_code not in (0, None):
            text = f"the existing tests no longer run (exit {result.exit_code}): "
            outcome.problems.append(Problem("", "", self.name, text + result.output[-800:]))
        return outcome

    def baseline(self, sandbox: Sandbox, env: Environment) -> set[str]:
        """Run the old tests on the base branch alone; return the ids of those that passed."""
        root = Path(tempfile.mkdtemp(prefix="devfactory-base-"))
        try:
            for path, text in self.base.items():
                write_text_in(root, path, text)
            _, report = sandbox.run_tests(root, env, self.command())
        finally:
            remove_tree(root)
        return {case.nodeid for case in report.cases if case.outcome == "passed"}


def write_text_in(root: Path, relative: str, text: str) -> None:
    """Write ``text`` at ``relative`` in ``root``, replacing what is there, following no link.

    Raises ``OSError`` (a link or a file where a folder belongs, a folder where
    the file belongs) or ``ValueError`` (a path that leaves ``root``).
    """
    parts = relative_parts(relative)
    fd = open_within(root, parts[:-1], make=True)
    try:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(parts[-1], dir_fd=fd)
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
        with os.fdopen(os.open(parts[-1], flags, 0o644, dir_fd=fd), "w", encoding="utf-8") as out:
            out.write(text)
    finally:
        os.close(fd)


CODE_CHECKS: tuple[Check, ...] = (
    PlanCoverageCheck(),
    LintCheck(),
    InstallCheck(),
    ImportCheck(),
    TestsCheck(),
    SmokeCheck(),
)
"""The checks ``verify`` runs by default, in order (install before what runs code)."""


def verify(
    plan: BuildPlan,
    workspace: Path,
    sandbox: Sandbox | None,
    *,
    teams: Sequence[str],
    criteria: Sequence[str] = (),
    files: Mapping[str, str] | None = None,
    checks: Sequence[Check] = CODE_CHECKS,
) -> Verification:
    """Run ``checks`` on ``workspace`` in order, each whose needs are met, and gather them.

    Args:
        plan: the run's build plan.
        workspace: a folder holding the files written so far.
        sandbox: where the code runs (None: only the checks that run nothing).
        teams: the teams whose planned files must be present by now.
        criteria: acceptance criteria ids to report on from the tests.
        files: the files laid out in ``workspace`` (read from it, links not
            followed, when not given).
        checks: the checks to run (``CODE_CHECKS`` by default).

    """
    if files is None:
        listed = list_files(workspace, LISTED_ENTRIES).files
        files = {
            path: read_file(workspace, path, PARSED_BYTES).decode("utf-8", errors="replace")
            for path, size in listed
            if size <= PARSED_BYTES
        }
    context = CheckContext(
        plan, files, teams, workspace=workspace, sandbox=sandbox, criteria=criteria
    )
    found = Verification()
    for check in checks:
        if all(context.has(need) for need in check.needs):
            outcome = check.run(context)
            context.environment = outcome.environment or context.environment
            found.add(outcome)
    return found


def _findings(stdout: str) -> list[dict[str, Any]]:
    try:
        findings = json.loads(stdout or "[]")
    except json.JSONDecodeError:
        return []
    return findings if isinstance(findings, list) else []


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
