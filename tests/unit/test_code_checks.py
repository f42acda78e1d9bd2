"""The code checks run as a list, each when what it needs is there."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from devfactory.checks.catalogue import CHECKS
from devfactory.checks.code import (
    CheckContext,
    CheckOutcome,
    Need,
    Problem,
    verify,
)
from devfactory.contracts import CheckRun
from devfactory.sandbox.commands import Smoke
from devfactory.sandbox.environments import MARKER, Environment
from devfactory.sandbox.junit import TestCase, TestReport
from devfactory.sandbox.results import CommandResult
from devfactory.software.plan import BuildPlan
from tests.unit.test_build_plan import COUNT_WORDS, cli_plan

PLAN = BuildPlan.model_validate(cli_plan())
TEAMS = ["backend-engineering", "qa-engineering", "documentation"]
MAIN = "from wordcount import count_words\n\nprint(count_words(text))\n"  # `text`: undefined
TESTS = (
    "from wordcount import count_words\n\n\ndef test_ac1_counts():\n    assert count_words('a')\n"
)
FILES = {
    "wordcount/__init__.py": COUNT_WORDS,
    "wordcount/__main__.py": MAIN,
    "tests/test_wordcount.py": TESTS,
    "README.md": "# wordcount\n",
}


class FakeSandbox:
    """Answers as ``Sandbox`` does, from canned results, and notes what it was asked."""

    def __init__(self, root: Path, *, install: int = 0, test_exit: int = 1) -> None:
        self.root, self.install, self.test_exit = root, install, test_exit
        self.calls: list[str] = []

    def environment(self, dependencies: list[str]) -> Environment:
        self.calls.append("install")
        (self.root / "env").mkdir(parents=True, exist_ok=True)
        if self.install == 0:
            (self.root / "env" / MARKER).write_text("{}")
        result = CommandResult("install", ("uv", "pip", "install"), self.install, 1.0, "no pkg")
        return Environment(self.root / "env", (), "key", result)

    def compile_and_import(self, workspace: Path, env: Environment, modules: list[str]) -> Any:
        self.calls.append(f"import {' '.join(modules)}")
        return CommandResult("import", ("python", "imports.py"), 0, 0.5, "", passed=1)

    def run_tests(self, workspace: Path, env: Environment, command: str) -> Any:
        self.calls.append(command)
        failing = TestCase("t::test_ac2", "tests/test_wordcount.py", "test_ac2", "failed", "no")
        passing = TestCase("t::test_ac1", "tests/test_wordcount.py", "test_ac1_counts", "passed")
        report = TestReport(passed=1, failed=1, cases=[passing, failing])
        result = CommandResult("tests", ("pytest",), self.test_exit, 2.0, "", passed=1, failed=1)
        return result, report

    def smoke(self, workspace: Path, env: Environment, smoke: Smoke) -> CommandResult:
        self.calls.append(f"smoke {smoke.kind}")
        return CommandResult("smoke", smoke.argv, 2, 0.3, "Traceback: boom")


def fake(root: Path, *, install: int = 0) -> Any:
    return FakeSandbox(root, install=install)


def laid_out(tmp_path: Path, files: dict[str, str]) -> Path:
    workspace = tmp_path / "ws"
    for path, content in files.items():
        (workspace / path).parent.mkdir(parents=True, exist_ok=True)
        (workspace / path).write_text(content)
    return workspace


def test_the_default_checks_run_in_order_and_blame_each_file_s_owner(tmp_path: Path) -> None:
    sandbox: Any = FakeSandbox(tmp_path)
    found = verify(
        PLAN,
        laid_out(tmp_path, FILES),
        sandbox,
        teams=TEAMS,
        criteria=["AC-1", "AC-2", "AC-3"],
        checks=CHECKS.code,
    )
    assert [c.name for c in found.checks] == ["lint", "install", "import", "tests", "smoke"]
    assert sandbox.calls == ["install", "import wordcount", "python -m pytest -q", "smoke cli"]
    assert [(p.check, p.path, p.owner) for p in found.problems] == [
        ("lint", "wordcount/__main__.py", "backend-engineering"),
        ("tests", "tests/test_wordcount.py", "qa-engineering"),
        ("smoke", "wordcount/__init__.py", "backend-engineering"),
    ]
    assert "F821 Undefined name `text`" in found.problems[0].text
    assert found.criteria == {"AC-1": "passed", "AC-2": "failed", "AC-3": "not covered"}
    assert found.tests is not None and found.tests.passed == 1
    assert found.score == round(2 / 5 * 1 / 2, 3)  # install and import passed; 1 test of 2


def test_a_failed_install_leaves_out_every_check_that_runs_code(tmp_path: Path) -> None:
    sandbox: Any = FakeSandbox(tmp_path, install=1)
    found = verify(PLAN, laid_out(tmp_path, FILES), sandbox, teams=TEAMS, checks=CHECKS.code)
    assert [c.name for c in found.checks] == ["lint", "install"]
    assert sandbox.calls == ["install"]
    assert found.problems[-1] == Problem(
        "architecture/plan.json", "", "install", "dependencies [] did not install: no pkg"
    )
    assert found.tests is None and found.criteria == {}


def test_without_a_sandbox_only_the_static_checks_run(tmp_path: Path) -> None:
    files = {"wordcount/__init__.py": "def other():\n    return 1\n"}
    found = verify(
        PLAN, laid_out(tmp_path, files), None, teams=["backend-engineering"], checks=CHECKS.code
    )
    assert [c.name for c in found.checks] == ["lint"]
    assert [(p.check, p.path) for p in found.problems] == [
        ("plan", "wordcount/__main__.py"),
        ("plan", "wordcount/__init__.py"),
    ]


class LineCount:
    """A check a test adds: every Python file is under ``limit`` lines."""

    name = "lines"
    needs = frozenset({Need.ENVIRONMENT, Need.CODE})

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.saw_environment = False

    def run(self, context: CheckContext) -> CheckOutcome:
        self.saw_environment = context.environment is not None and context.environment.ok
        long = [
            path
            for path, text in context.files.items()
            if path.endswith(".py") and len(text.splitlines()) >= self.limit
        ]
        run = CheckRun(name=self.name, command="wc -l", exit_code=1 if long else 0)
        problems = [Problem(p, context.plan.owner_of(p), self.name, "too long") for p in long]
        return CheckOutcome(runs=[run], problems=problems)


def test_a_new_check_is_one_class_added_to_the_list(tmp_path: Path) -> None:
    lines = LineCount(limit=3)
    found = verify(
        PLAN,
        laid_out(tmp_path, FILES),
        fake(tmp_path),
        teams=TEAMS,
        checks=[*CHECKS.code, lines],
    )
    assert found.checks[-1] == CheckRun(name="lines", command="wc -l", exit_code=1)
    assert lines.saw_environment  # it runs after the install, with its environment
    assert Problem("wordcount/__main__.py", "backend-engineering", "lines", "too long") in found.of(
        "backend-engineering"
    )
    failed_install = verify(
        PLAN,
        laid_out(tmp_path, FILES),
        fake(tmp_path / "other", install=1),
        teams=TEAMS,
        checks=[*CHECKS.code, LineCount(limit=3)],
    )
    assert "lines" not in {c.name for c in failed_install.checks}  # its need is not met
