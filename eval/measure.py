"""Measure one project against its case: plan, stubs, install, import, own tests, acceptance.

A project is a run's output folder (or a case's reference, laid out the same
way). It is never changed: each step runs on a copy under ``scratch``. The
acceptance tests go into a folder of their own in a second copy, with their own
ini file and conftest boundary, so nothing the factory wrote can shadow or
reconfigure them. The planned units the project still leaves stubs are found
by the factory's own stubs check (``checks/code/unwritten.py``), on the
files as they lie, nothing run.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from devfactory.checks.code.unwritten import stubs_left
from devfactory.runfiles import (
    RefusedFileError,
    is_regular_file,
    open_folder,
    read_file,
    remove_at,
    remove_tree,
    walk,
)
from devfactory.sandbox.untrusted import mirror
from eval.catalog import Case
from eval.executors import Executor
from eval.plan import Plan, PlanError, read_plan

ACCEPTANCE_DIR = "_eval_acceptance"
ACCEPTANCE_COMMAND = (
    f"pytest -c {ACCEPTANCE_DIR}/pytest.ini --rootdir {ACCEPTANCE_DIR} "
    f"--confcutdir {ACCEPTANCE_DIR} -q {ACCEPTANCE_DIR}"
)
PYTEST_INI = "[pytest]\naddopts = -p no:cacheprovider\n"
HARNESS_CONFTEST = Path(__file__).with_name("acceptance_conftest.py")
NOT_COPIED = (".git", ".venv", "__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache")
MODULE_BYTES = 4 << 20  # a planned module larger than this is not read for stubs


@dataclass
class Measured:
    """What the evaluation found in one project (None: that step could not run)."""

    complete: bool | None = None
    missing: list[str] = field(default_factory=list)
    stubs: list[str] = field(default_factory=list)  # "path: unit", planned units left stubs
    installs: bool | None = None
    imports: bool | None = None
    own_passed: int | None = None
    own_total: int | None = None
    acceptance_passed: int = 0
    acceptance_total: int = 0
    acceptance_collected: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def acceptance_ok(self) -> bool:
        """Whether every acceptance test the case has ran and passed."""
        return (
            self.acceptance_total > 0
            and self.acceptance_passed == self.acceptance_total == self.acceptance_collected
        )


def copy_project(project: Path, dest: Path) -> Path:
    """Copy ``project`` to ``dest`` without VCS folders and caches; return ``dest``.

    A run's folder is the run's: it is copied as the sandbox copies a workspace
    (``untrusted.mirror``: folders, regular files, links as their text, nothing
    followed or opened but regular files; FIFOs, sockets and trees nested past
    ``MAX_DEPTH`` left out), and the copy only ever runs inside the sandbox.
    """
    dest.mkdir(parents=True)  # as copytree made it: its parents too, never an existing one
    source, target = open_folder(project), open_folder(dest)
    try:
        mirror(source, target)
        for entry in walk(target, skip=()):  # entered after it is yielded: a removed one is not
            if entry.name in NOT_COPIED or entry.name.endswith(".pyc"):
                remove_at(entry.folder, entry.name)
    finally:
        os.close(source)
        os.close(target)
    return dest


def acceptance_workspace(project: Path, case: Case, dest: Path) -> Path:
    """Copy ``project`` to ``dest`` and add the case's acceptance tests in their own folder."""
    workspace = copy_project(project, dest)
    folder = workspace / ACCEPTANCE_DIR
    remove_tree(folder)  # the project's own folder of that name (a link is removed, not followed)
    folder.mkdir()
    for test in sorted(case.acceptance_dir.glob("*.py")):
        shutil.copyfile(test, folder / test.name)
    shutil.copyfile(HARNESS_CONFTEST, folder / "conftest.py")
    (folder / "pytest.ini").write_text(PYTEST_INI, encoding="utf-8")
    return workspace


def merge_dependencies(*groups: Sequence[str]) -> list[str]:
    """Return every group's dependencies, each package once (the first group's spelling wins).

    The plan's own pins come first; the acceptance tests' needs (``fastapi``,
    ``httpx``, ``pytest``) are added only where the plan does not name the package.
    """
    found: dict[str, str] = {}
    for dep in chain(*groups):
        try:
            key = canonicalize_name(Requirement(dep).name)
        except InvalidRequirement:
            key = dep  # the executor says why it cannot install it
        found.setdefault(key, dep)
    return list(found.values())


def delivered_stubs(project: Path, plan: Plan, requirement: str) -> list[str]:
    """Return the planned units ``project`` delivers as stubs, as ``path: unit``.

    The units are the plan's symbols and what the requirement's skeleton left
    to be written, judged as the factory's gate judges them; a planned file
    that is missing, a link or not text is not read (``missing`` says so).
    """
    files: dict[str, str] = {}
    for f in plan.files:
        if f.path.endswith(".py") and not f.is_test:
            try:
                files[f.path] = read_file(project, f.path, MODULE_BYTES).decode("utf-8")
            except (RefusedFileError, UnicodeDecodeError, ValueError):
                continue
    left = stubs_left(files, dict(plan.symbols), requirement)
    return [f"{path}: {name}" for path, name in left]


def _own_tests(plan: Plan, project: Path) -> bool:
    return bool(plan.test_command) and any(
        f.is_test and f.path.endswith(".py") and is_regular_file(project, f.path)
        for f in plan.files
    )


def measure(project: Path, case: Case, executor: Executor, scratch: Path) -> Measured:
    """Measure ``project`` for ``case``; every failure becomes a note, never an exception."""
    out = Measured(acceptance_total=case.acceptance_count())
    plan: Plan | None = None
    try:
        plan = read_plan(project)
    except PlanError as exc:
        out.notes.append(str(exc))
    if plan is not None:
        out.missing = plan.missing(project)
        out.complete = not out.missing
        if out.missing:
            shown = ", ".join(out.missing[:4]) + (" ..." if len(out.missing) > 4 else "")
            out.notes.append(f"missing planned files: {shown}")
        out.stubs = delivered_stubs(project, plan, case.requirement)
        if out.stubs:
            shown = ", ".join(out.stubs[:4]) + (" ..." if len(out.stubs) > 4 else "")
            out.notes.append(f"planned units delivered as stubs: {shown}")

    dependencies = merge_dependencies(
        plan.dependencies if plan else (), case.dependencies, ["pytest"]
    )
    env, installed = executor.environment(dependencies)
    out.installs = installed.ok
    if not installed.ok:
        out.notes.append(installed.summary)
        return out

    if plan is not None:
        work = copy_project(project, scratch / "project")
        modules = plan.modules()
        if modules:
            imported = executor.imports(work, env, modules)
            out.imports = imported.ok
            if not imported.ok:
                out.notes.append(imported.summary)
        if _own_tests(plan, project):
            own = executor.tests(work, env, plan.test_command, case.test_timeout)
            out.own_passed, out.own_total = own.passed, own.total
            if not own.total:
                out.notes.append(f"own tests: {own.summary}")

    workspace = acceptance_workspace(project, case, scratch / "acceptance")
    accepted = executor.tests(workspace, env, ACCEPTANCE_COMMAND, case.test_timeout)
    out.acceptance_collected = accepted.total
    out.acceptance_passed = min(accepted.passed, out.acceptance_total)
    if not accepted.ok or accepted.total != out.acceptance_total:
        out.notes.append(f"acceptance: {accepted.summary} ({out.acceptance_total} expected)")
    return out
