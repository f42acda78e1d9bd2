"""The evaluation counts the planned units a run's folder delivers as stubs, as the gate judges."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest

from devfactory.software.kinds import skeleton
from devfactory.software.requirement import read_requirement
from eval.catalog import Case, load_cases
from eval.executors import Check
from eval.measure import Measured, delivered_stubs, measure
from eval.plan import PLAN_PATH, read_plan

REQUIREMENT = """# upcase

Build a command-line program, run as `python -m upcase FILE [--output OUT]`, that prints
a UTF-8 text file in upper case. Exit codes: 0 on success; 1 when FILE cannot be read;
2 on usage errors. Standard library only.
"""
PLAN = {
    "kind": "cli",
    "test_command": "pytest -q",
    "entry_point": "python -m upcase",
    "modules": [
        {"path": "upcase.py", "symbols": [{"name": "shout", "signature": "def shout(t: str)"}]},
        {"path": 7, "symbols": "not a list"},  # read leniently: left out
    ],
    "files": [
        {"path": "upcase.py", "owner": "backend-engineering", "role": "code"},
        {"path": "tests/test_upcase.py", "owner": "qa-engineering", "role": "tests"},
    ],
}
SHOUT = "\n\ndef shout(t: str) -> str:\n    return t.upper()\n"


class NothingInstalls:
    """An executor that installs nothing: what is measured before installing is all there is."""

    name = "none"

    def environment(self, dependencies: Sequence[str]) -> tuple[Any, Check]:
        return None, Check(ok=False, summary="nothing installs here")

    def imports(self, workspace: Path, env: Any, modules: Sequence[str]) -> Check:
        raise AssertionError("nothing is imported without an environment")

    def tests(self, workspace: Path, env: Any, command: str, timeout: int) -> Check:
        raise AssertionError("nothing is tested without an environment")


@pytest.fixture
def case(tmp_path: Path) -> Case:
    folder = tmp_path / "cli-upcase"
    (folder / "acceptance").mkdir(parents=True)
    (folder / "requirement.md").write_text(REQUIREMENT)
    return Case.model_validate(
        {
            "id": "cli-upcase",
            "module": "upcase",
            "kind": "cli",
            "title": "upper case",
            "interface": "python -m upcase FILE [--output OUT]",
            "names": ["upcase"],
            "test_timeout": 60,
            "folder": folder,
        }
    )


def run_folder(root: Path, module: str) -> Path:
    (root / "architecture").mkdir(parents=True)
    (root / PLAN_PATH).write_text(json.dumps(PLAN))
    (root / "upcase.py").write_text(module)
    return root


def test_a_run_folder_holding_the_skeleton_s_stub_counts_it(tmp_path: Path, case: Case) -> None:
    made = skeleton(read_requirement(REQUIREMENT))
    assert made is not None and made.path == "upcase.py"
    run = run_folder(tmp_path / "run", made.source + SHOUT)
    measured = measure(run, case, NothingInstalls(), tmp_path / "scratch")
    assert measured.stubs == ["upcase.py: transform"]
    assert "planned units delivered as stubs: upcase.py: transform" in measured.notes
    assert asdict(measured)["stubs"] == ["upcase.py: transform"]  # into results.json


def test_a_planned_symbol_left_a_stub_counts_and_a_written_folder_counts_none(
    tmp_path: Path, case: Case
) -> None:
    made = skeleton(read_requirement(REQUIREMENT))
    assert made is not None
    written = made.source.replace("    raise NotImplementedError\n", "    return text.upper()\n")
    stub = "\n\ndef shout(t: str) -> str:\n    pass\n"
    left = run_folder(tmp_path / "left", written + stub)
    assert delivered_stubs(left, read_plan(left), case.requirement) == ["upcase.py: shout"]
    done = run_folder(tmp_path / "done", written + SHOUT)
    assert measure(done, case, NothingInstalls(), tmp_path / "scratch").stubs == []


def test_results_written_before_stubs_were_counted_still_read() -> None:
    assert Measured().stubs == []


@pytest.mark.parametrize("case", load_cases(), ids=lambda c: c.id)
def test_no_reference_solution_is_counted_as_a_stub(case: Case) -> None:
    reference = case.reference_dir
    assert delivered_stubs(reference, read_plan(reference), case.requirement) == []
