"""Runs that deliver into an existing repository: a branch per run, old tests kept, a merge gate.

A small git repository with a module and its own passing test is made in
``tmp_path``; a scripted model adds a feature to the module. The run works in
a clone on ``devfactory/<run-id>``, commits each passed stage there, pushes the
branch back and pauses at the merge gate; the base branch never moves unless
a person approves the merge, and then only by a fast-forward. A run whose code
breaks the repository's old test fails its final checks.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from devfactory.control.hitl import Decision
from devfactory.factory.facade import Factory
from devfactory.factory.intake import StartRequest
from devfactory.settings import Settings
from devfactory.store.runs_table import RunInputError
from tests.fakes import Call, ScriptedModels, always_good
from tests.repos import git

REQUIREMENT = (
    "Add a function multiply(a, b) to the existing calc module that returns the product of "
    "a and b; keep add as it is."
)
CALC = '''
    """Small arithmetic."""


    def add(a: int, b: int) -> int:
        """Return the sum of a and b."""
        return a + b
'''
OLD_TEST = """
    from calc import add


    def test_add():
        assert add(2, 3) == 5
"""
GOOD = '''
    """Small arithmetic."""


    def add(a: int, b: int) -> int:
        """Return the sum of a and b."""
        return a + b


    def multiply(a: int, b: int) -> int:
        """Return the product of a and b."""
        return a * b
'''
BREAKS_ADD = GOOD.replace("return a + b", "return a - b")
NEW_TEST = """
    from calc import multiply


    def test_ac1_multiply():
        assert multiply(3, 4) == 12
"""
PLAN = {
    "language": "python",
    "kind": "library",
    "summary": "calc gains multiply.",
    "modules": [
        {
            "path": "calc.py",
            "symbols": [
                {"name": "add", "signature": "def add(a: int, b: int) -> int"},
                {"name": "multiply", "signature": "def multiply(a: int, b: int) -> int"},
            ],
        }
    ],
    "files": [
        {
            "path": "calc.py",
            "role": "code",
            "owner": "backend-engineering",
            "purpose": "add multiply",
            "depends_on": [],
        },
        {
            "path": "tests/test_multiply.py",
            "role": "tests",
            "owner": "qa-engineering",
            "purpose": "tests of multiply",
            "depends_on": ["calc.py"],
        },
        {
            "path": "README.md",
            "role": "docs",
            "owner": "documentation",
            "purpose": "usage",
            "depends_on": ["calc.py"],
        },
    ],  # fmt: skip
    "test_command": "pytest -q",
    "entry_point": "",
}


OWN_README = "# calc\n\nThe repository's own README, which no run replaces.\n"
SOFTWARE_TEAMS = ["backend-engineering", "qa-engineering"]  # the teams whose files are the change


def make_repository(root: Path, *, bare: bool = False) -> Path:
    """Make a repository with ``calc.py``, its passing test and a README on ``main``; return it."""
    work = root / "calc-work"
    (work / "tests").mkdir(parents=True)
    (work / "README.md").write_text(OWN_README)
    (work / "calc.py").write_text(textwrap.dedent(CALC).lstrip())
    (work / "tests" / "test_calc.py").write_text(textwrap.dedent(OLD_TEST).lstrip())
    git("init", "-q", "-b", "main", cwd=work)
    git("add", ".", cwd=work)
    git("commit", "-q", "-m", "calc with add", cwd=work)
    if not bare:
        return work
    git("clone", "-q", "--bare", str(work), str(root / "calc.git"), cwd=root)
    return root / "calc.git"


def script(code: str) -> Callable[[Call], str]:
    """A model that plans the feature, writes ``code`` as calc.py, and tests multiply."""

    def reply(call: Call) -> str:
        if call.kind == "draft" and call.path == "architecture/plan.json":
            return json.dumps(PLAN)
        if call.kind == "draft" and call.path == "calc.py":
            return textwrap.dedent(code).lstrip()
        if call.kind == "draft" and call.path == "tests/test_multiply.py":
            return textwrap.dedent(NEW_TEST).lstrip()
        return always_good(call)

    return reply


@pytest.fixture
def run_settings(pg_settings: Settings, tmp_path: Path) -> Settings:
    """Settings that run the code (isolated where bubblewrap is there), one fix round."""
    return pg_settings.with_overrides(
        run_code=True,
        sandbox="bwrap" if shutil.which("bwrap") else "unsandboxed",
        max_human_retries=0,
        max_fix_rounds=1,
        sandbox_cache_dir=tmp_path.parent / "sandbox-cache",
    )


def _name(slug: str) -> str:
    from devfactory.teams import load_teams

    return load_teams()[slug].name


def approve_merge(factory: Factory, report: Any, action: str = "approve") -> Any:
    """Answer the run's merge pause as an approver."""
    (item,) = report.pending
    assert item.pause.kind == "merge"
    decision = Decision(action=action, text="looks right", by="ann", role="approver")
    return factory.answer(report.run_id, decision, interrupt_id=item.interrupt_id)


def test_a_run_adds_a_feature_on_its_branch_and_leaves_the_base_branch_alone(
    run_settings: Settings, tmp_path: Path
) -> None:
    source = make_repository(tmp_path)
    base_before = git("rev-parse", "main", cwd=source)
    models = ScriptedModels(script(GOOD))
    with Factory(run_settings, models=models) as factory:
        report = factory.start(StartRequest(REQUIREMENT, pipeline="mvp", repo=str(source)))
        branch = f"devfactory/{report.run_id}"
        # the merge is a gate: the run waits for a person with its branch pushed back
        assert report.status == "PAUSED", report.reason
        pause = report.pending[0].pause
        assert pause.kind == "merge" and branch in pause.title
        assert "M calc.py" in pause.question and "A tests/test_multiply.py" in pause.question
        assert git("rev-parse", branch, cwd=source) == git("rev-parse", "HEAD", cwd=report.out_dir)
        # one commit per stage that wrote the software, by its team, on the run's branch
        # only: the branch holds the change and its tests, nothing of the factory's own
        authors = git("log", "--format=%an", f"main..{branch}", cwd=source).splitlines()
        assert sorted(authors) == sorted(_name(t) for t in SOFTWARE_TEAMS)
        changed = git("diff", "--name-only", f"main...{branch}", cwd=source).splitlines()
        assert sorted(changed) == ["calc.py", "tests/test_multiply.py"]
        # the run's records (analysis, architecture, the plan, its README) stay in its folder
        for record in ("analysis/requirements.md", "architecture/plan.json", "README.md"):
            assert (report.out_dir / record).is_file(), record
        assert (report.out_dir / "README.md").read_text() != OWN_README
        assert git("show", f"{branch}:README.md", cwd=source) + "\n" == OWN_README
        assert git("rev-parse", "main", cwd=source) == base_before
        assert git("status", "--porcelain", cwd=source) == ""  # its working tree untouched
        # the plan saw the repository; the code's team saw the file it changes
        plan_call = next(c for c in models.chat.calls if c.path == "architecture/plan.json")
        assert "tests/test_calc.py" in plan_call.prompt and "def add(a: int, b: int)" in (
            plan_call.prompt
        )
        code_call = next(c for c in models.chat.calls if c.path == "calc.py")
        assert "`calc.py` exists in the repository" in code_call.prompt
        assert "return a + b" in code_call.prompt
        # the old test ran in the final checks and passed
        doc = json.loads((report.out_dir / "run.json").read_text())
        old = [c for c in doc["build"]["checks"] if c["name"] == "existing_tests"]
        assert old and old[-1]["exit_code"] == 0 and old[-1]["passed"] == 1
        assert doc["repository"]["branch"] == branch
        created = [e for e in factory.audit_events(report.run_id) if e.kind == "run_created"]
        assert created[0].payload["repository"]["branch"] == branch
        summary = (report.out_dir / "SUMMARY.md").read_text()
        assert "## The branch, for review" in summary and f"`{branch}` from `main`" in summary
        kept = summary.split("kept in its folder and not on the branch:")[1].split("\n\n#")[0]
        assert "`analysis/requirements.md`" in kept and "`README.md`" in kept
        assert "`calc.py`" not in kept
        # approved, but main is checked out in the source: it is left to merge by hand
        done = approve_merge(factory, report)
    assert done.status == "COMPLETED", done.reason
    assert "checked out" in done.reason and "ready to merge by hand" in done.reason
    assert git("rev-parse", "main", cwd=source) == base_before
    # the old tests still pass on the branch, checked out on its own
    checkout = tmp_path / "check"
    git("clone", "-q", "--branch", branch, str(source), str(checkout), cwd=tmp_path)
    assert (checkout / "tests" / "test_multiply.py").is_file()
    assert not (checkout / "run.json").exists()  # the run's records stay in its folder
    tests = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=checkout, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert "2 passed" in tests.stdout


def test_an_approved_merge_fast_forwards_the_base_branch_of_a_bare_repository(
    run_settings: Settings, tmp_path: Path
) -> None:
    source = make_repository(tmp_path, bare=True)
    base_before = git("rev-parse", "main", cwd=source)
    with Factory(run_settings, models=ScriptedModels(script(GOOD))) as factory:
        report = factory.start(
            StartRequest(REQUIREMENT, pipeline="mvp", repo=str(source), base="main")
        )
        assert report.status == "PAUSED", report.reason
        branch = f"devfactory/{report.run_id}"
        assert git("rev-parse", "main", cwd=source) == base_before  # nothing merged yet
        done = approve_merge(factory, report)
    assert done.status == "COMPLETED", done.reason
    assert "merged into main" in done.reason
    assert git("rev-parse", "main", cwd=source) == git("rev-parse", branch, cwd=source)
    assert git("merge-base", "--is-ancestor", base_before, "main", cwd=source) == ""


def test_a_rejected_merge_leaves_the_branch_for_review(
    run_settings: Settings, tmp_path: Path
) -> None:
    source = make_repository(tmp_path, bare=True)
    base_before = git("rev-parse", "main", cwd=source)
    with Factory(run_settings, models=ScriptedModels(script(GOOD))) as factory:
        report = factory.start(StartRequest(REQUIREMENT, pipeline="mvp", repo=str(source)))
        done = approve_merge(factory, report, action="reject")
    assert done.status == "COMPLETED", done.reason
    assert "not merged" in done.reason
    assert git("rev-parse", "main", cwd=source) == base_before
    assert git("rev-parse", "--verify", f"devfactory/{report.run_id}", cwd=source)


def test_an_old_test_that_already_failed_on_the_base_branch_is_not_the_run_s(
    run_settings: Settings, tmp_path: Path
) -> None:
    source = make_repository(tmp_path)
    known = "from calc import add\n\n\ndef test_known_bug():\n    assert add(1, 1) == 3\n"
    (source / "tests" / "test_known.py").write_text(known)
    git("add", ".", cwd=source)
    git("commit", "-q", "-m", "a known failing test", cwd=source)
    with Factory(run_settings, models=ScriptedModels(script(GOOD))) as factory:
        report = factory.start(
            StartRequest(REQUIREMENT, pipeline="mvp", repo=str(source), unattended=True)
        )
    assert report.status == "COMPLETED", report.reason
    doc = json.loads((report.out_dir / "run.json").read_text())
    (old,) = [c for c in doc["build"]["checks"] if c["name"] == "existing_tests"]
    assert old["passed"] == 1 and old["failed"] == 1
    assert "1 failed on the base branch too" in old["summary"]
    assert not doc["build"]["problems"]


def test_an_unattended_run_leaves_its_branch_for_review_and_never_merges(
    run_settings: Settings, tmp_path: Path
) -> None:
    source = make_repository(tmp_path, bare=True)
    base_before = git("rev-parse", "main", cwd=source)
    with Factory(run_settings, models=ScriptedModels(script(GOOD))) as factory:
        report = factory.start(
            StartRequest(REQUIREMENT, pipeline="mvp", repo=str(source), unattended=True)
        )
    assert report.status == "COMPLETED", report.reason
    assert "never merges by itself" in report.reason
    assert git("rev-parse", "main", cwd=source) == base_before
    branch = f"devfactory/{report.run_id}"
    assert git("rev-parse", branch, cwd=source) == git("rev-parse", "HEAD", cwd=report.out_dir)


def test_a_run_that_breaks_an_old_test_cannot_pass_its_gate(
    run_settings: Settings, tmp_path: Path
) -> None:
    source = make_repository(tmp_path, bare=True)
    base_before = git("rev-parse", "main", cwd=source)
    models = ScriptedModels(script(BREAKS_ADD))
    with Factory(run_settings, models=models) as factory:
        report = factory.start(StartRequest(REQUIREMENT, pipeline="mvp", repo=str(source)))
    assert report.status == "FAILED"
    assert "existing_tests" in report.reason and "test_add" in report.reason
    # the failure went back to the code's team once (a fix round), then the run failed
    assert models.chat.count("backend-engineering", "draft") == 2
    assert git("rev-parse", "main", cwd=source) == base_before
    branches = git("branch", "--list", "devfactory/*", cwd=source)
    assert branches == ""  # a run that failed its checks pushes nothing


def test_an_unknown_base_branch_is_refused_before_the_run_starts(
    run_settings: Settings, tmp_path: Path
) -> None:
    source = make_repository(tmp_path)
    with Factory(run_settings, models=ScriptedModels(always_good)) as factory:
        with pytest.raises(RunInputError, match="no branch 'release'"):
            factory.start(
                StartRequest(REQUIREMENT, pipeline="mvp", repo=str(source), base="release")
            )
        assert factory.list_runs() == []
    assert git("branch", "--list", "devfactory/*", cwd=source) == ""
