"""The script kind: one file run by its path (``python name.py``), from the words to the smoke run.

The requirements here are written for these tests; no eval case has their sentences.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from devfactory.checks.code.plan_commands import environment_for, smoke_for
from devfactory.graph.planning.plan_start import tool_plan
from devfactory.graph.stage.build_loop.splice import fragment, splice
from devfactory.software.kinds import (
    examples_file,
    reading,
    shape_for,
    shape_of,
    skeleton,
    starting,
)
from devfactory.software.kinds.command_line import COMMAND_LINE
from devfactory.software.kinds.script import SCRIPT
from devfactory.software.overview import overview
from devfactory.software.plan import FileRole, Named, SoftwareKind
from devfactory.software.requirement import read_requirement
from tests.unit.test_requirement_parser import CLI

SHELVES = """# shelfcount

Write a script `shelfcount.py`, run as `python shelfcount.py LISTFILE [--min N] [--json]`,
that counts the books on each shelf of a library's list.

- Each line of LISTFILE is a shelf code, a tab and a book title.
- `--min N`: show only the shelves holding at least N books.
- `--json`: print one JSON object mapping shelf codes to counts.
- `shelf_of(line: str) -> str` returns the shelf code of a line: `shelf_of("B7\\tDune")` is
  `"B7"`.
- Exit status: 0 on success; 1 when LISTFILE cannot be read; 2 on a usage error.
"""

TWO_SCRIPTS = """Two helpers: `python pack.py DIR` packs a folder and `python unpack.py FILE`
unpacks it again."""

OWNERS = {
    "solution-architecture": [FileRole.DOCS],
    "backend-engineering": [FileRole.CODE],
    "qa-engineering": [FileRole.TESTS],
}

RIGHT = """
def shelf_of(line: str) -> str:
    return line.split("\\t", 1)[0]


def run(args: argparse.Namespace) -> int:
    try:
        with open(args.listfile, encoding="utf-8") as handle:
            lines = handle.read().splitlines()
    except OSError:
        return 1
    counts: dict[str, int] = {}
    for line in lines:
        counts[shelf_of(line)] = counts.get(shelf_of(line), 0) + 1
    print(counts)
    return 0
"""


def _pytest(root: Path) -> subprocess.CompletedProcess[str]:
    """Run the tests as the checks do: ``python -m pytest`` in the project's folder."""
    argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"]
    return subprocess.run(argv, cwd=root, capture_output=True, text=True, timeout=120)


def test_a_usage_line_run_by_path_is_a_script_with_its_options_and_exit_codes() -> None:
    found = reading(read_requirement(SHELVES))
    assert found is not None and found.shape is SCRIPT
    facts = found.facts
    assert facts.module == "shelfcount"
    [usage] = facts.usages
    assert usage.line == "python shelfcount.py LISTFILE [--min N] [--json]"  # as written
    assert [p.name for p in usage.positionals] == ["LISTFILE"]
    assert {o.flags: o.integer for o in usage.options} == {("--min",): True, ("--json",): False}
    assert [e.code for e in facts.exit_codes] == [0, 1, 2]
    assert [f.name for f in facts.functions] == ["shelf_of"]
    assert SCRIPT.read(facts) == facts  # read again, the same facts


def test_a_module_run_with_dash_m_or_two_scripts_are_not_a_script() -> None:
    assert shape_of(read_requirement(CLI)) is COMMAND_LINE
    assert SCRIPT.read(read_requirement(CLI)) is None
    assert SCRIPT.read(read_requirement(TWO_SCRIPTS)) is None
    assert SCRIPT.read(read_requirement("Run `python -m tool FILE` or `python tool.py`.")) is None


def test_the_plan_by_tools_is_a_script_run_by_its_path() -> None:
    plan = tool_plan(SHELVES, OWNERS)
    assert plan is not None
    assert (plan.kind, plan.entry_point) == (SoftwareKind.SCRIPT, "python shelfcount.py")
    assert [f.path for f in plan.files] == [
        "shelfcount.py",
        "tests/test_requirement_examples.py",
        "tests/test_agreed_behaviour.py",  # its planned function's sentences: the model's tests
        "tests/test_shelfcount.py",
        "README.md",
    ]
    assert [c.usage for c in plan.commands] == ["python shelfcount.py LISTFILE [--min N] [--json]"]
    assert shape_for(plan) is SCRIPT
    smoke = smoke_for(plan)
    assert smoke is not None and (smoke.kind, smoke.argv) == ("cli", ("python", "shelfcount.py"))
    assert environment_for(plan) == []
    told = overview(plan)
    assert "user[user at a terminal]" in told and "runs `python shelfcount.py`" in told


def test_the_skeleton_answers_help_and_its_examples_run_the_script_by_path(tmp_path: Path) -> None:
    facts = read_requirement(SHELVES)
    made = skeleton(facts, "Count the books on each shelf.")
    assert made is not None and made.path == "shelfcount.py"
    assert [u.name for u in made.units] == ["shelf_of", "run"]
    (tmp_path / "shelfcount.py").write_text(made.source)
    done = subprocess.run([sys.executable, "shelfcount.py", "--help"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 0 and "--min" in done.stdout
    tests = examples_file(facts)
    assert tests is not None
    assert "Run as `python shelfcount.py`" in tests.source
    assert "parents[1] / 'shelfcount.py'" in tests.source
    assert sorted(set(tests.about.values())) == ["cli", "shelf_of"]
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_requirement_examples.py").write_text(tests.source)
    stubbed = _pytest(tmp_path)
    assert stubbed.returncode == 1 and "test_shelf_of" in stubbed.stdout  # the stub fails it
    written = made.source
    for unit in ("shelf_of", "run"):
        written = splice(written, fragment(RIGHT, unit, others=frozenset({"shelf_of"})), unit)
    (tmp_path / "shelfcount.py").write_text(written)
    right = _pytest(tmp_path)
    assert right.returncode == 0, right.stdout


def test_a_script_starts_no_plan_and_a_package_run_with_dash_m_starts_as_a_command_line() -> None:
    names = Named(modules=("tally",))
    assert SCRIPT.starting(names, "tally") is None  # a starting plan is a package's
    part = starting(names, "tally")
    assert part is not None and part == COMMAND_LINE.starting(names, "tally")
    assert part.kind == SoftwareKind.CLI and part.entry_point == "python -m tally"
    assert part.files == (
        ("tally/__main__.py", "the command line (argparse); usage errors exit 2"),
    )
