"""No stub is ever accepted: the detector, and the check that names a unit left unwritten."""

from __future__ import annotations

import ast
from typing import Any

import pytest

from devfactory.checks.catalogue import CHECKS
from devfactory.checks.code import CheckContext, UnwrittenCheck
from devfactory.software.kinds import skeleton
from devfactory.software.plan import BuildPlan
from devfactory.software.requirement import read_requirement
from devfactory.software.source import stub_body, stubbed_names, unwritten

DOC = '    """Return the parity of ``n``."""\n'


def function(body: str, *, doc: bool = False) -> str:
    return "def parity(n: int) -> str:\n" + (DOC if doc else "") + body


@pytest.mark.parametrize(
    "body",
    [
        "    raise NotImplementedError\n",
        "    raise NotImplementedError()\n",
        '    raise NotImplementedError("parity is not written yet")\n',
        "    pass\n",
        "    ...\n",
        "    raise NotImplemented\n",
        '    """Not yet."""\n    pass\n    ...\n',
    ],
)
@pytest.mark.parametrize("doc", [False, True])
def test_every_form_of_a_stub_counts_with_or_without_a_docstring(body: str, doc: bool) -> None:
    assert unwritten(function(body, doc=doc), ["parity"]) == ["parity"]


def test_a_docstring_alone_is_a_stub() -> None:
    assert unwritten("def parity(n: int) -> str:\n" + DOC, ["parity"]) == ["parity"]
    assert stub_body(ast.parse('"""Only words."""').body)


@pytest.mark.parametrize(
    "body",
    [
        '    return "even" if n % 2 == 0 else "odd"\n',
        "    if n < 0:\n        raise ValueError(f'negative: {n}')\n    return str(n % 2)\n",
        "    raise ValueError('no parity for this input')\n",
        '    result = "even"\n    return result\n',
        "    if n is None:\n        raise NotImplementedError('None')\n    return str(n % 2)\n",
    ],
)
@pytest.mark.parametrize("doc", [False, True])
def test_a_real_body_is_not_a_stub(body: str, doc: bool) -> None:
    assert unwritten(function(body, doc=doc), ["parity"]) == []


def test_the_body_the_skeleton_wrote_is_a_stub_whatever_it_is() -> None:
    made = function("    return ''\n", doc=True)  # a placeholder of the skeleton's own
    assert unwritten(made, ["parity"]) == []  # a real body, on its own
    assert unwritten(made, ["parity"], skeleton=made) == ["parity"]
    moved = "import sys\n\n\n" + function("    return ''\n", doc=True)  # other lines around it
    assert unwritten(moved, ["parity"], skeleton=made) == ["parity"]
    written = function("    return 'even'\n", doc=True)
    assert unwritten(written, ["parity"], skeleton=made) == []


def test_classes_methods_and_interfaces() -> None:
    source = (
        "from typing import Protocol\n\n\n"
        'class Empty:\n    """A point."""\n\n    pass\n\n\n'
        'class ParseError(ValueError):\n    """The input does not parse."""\n\n\n'
        "class Stack:\n    def push(self, item):\n        raise NotImplementedError\n\n\n"
        "class Queue:\n    def push(self, item):\n        self.items.append(item)\n\n"
        "    def pop(self):\n        ...\n\n\n"
        "class Point:\n    x: int\n    y: int\n\n\n"
        "class Reader(Protocol):\n    def read(self) -> str: ...\n"
    )
    names = ["Empty", "ParseError", "Stack", "Queue", "Queue.pop", "Point", "Reader", "Gone"]
    assert unwritten(source, names) == ["Empty", "Stack", "Queue.pop"]


def test_a_module_that_does_not_parse_lists_nothing() -> None:
    assert unwritten("def parity(n:\n    pass\n", ["parity"]) == []


FILTER = """# upcase

Build a command-line program, run as `python -m upcase FILE [--output OUT]`, that prints
a UTF-8 text file in upper case. Exit codes: 0 on success; 1 when FILE cannot be read;
2 on usage errors. Standard library only.
"""


def filter_plan(**changes: Any) -> BuildPlan:
    plan: dict[str, Any] = {
        "kind": "cli",
        "summary": "Prints a file in upper case.",
        "modules": [],
        "files": [
            {"path": "upcase.py", "role": "code", "owner": "backend-engineering",
             "purpose": "the program"},
            {"path": "tests/test_upcase.py", "role": "tests", "owner": "qa-engineering",
             "purpose": "tests"},
        ],
        "entry_point": "python -m upcase",
    }  # fmt: skip
    plan.update(changes)
    return BuildPlan.model_validate(plan)


def test_the_skeleton_leaves_its_units_as_stubs_and_nothing_else() -> None:
    made = skeleton(read_requirement(FILTER))
    assert made is not None and made.path == "upcase.py"
    assert stubbed_names(made.source) == ["transform"]  # not _run, _read_input, main: tools wrote
    assert [u.name for u in made.units] == ["transform"]


def _check(plan: BuildPlan, files: dict[str, str], requirement: str = FILTER) -> list[str]:
    context = CheckContext(plan, files, ["backend-engineering"], requirement=requirement)
    return [p.line() for p in UnwrittenCheck().run(context).problems]


def test_the_check_names_a_unit_the_skeleton_left_that_is_still_a_stub() -> None:
    made = skeleton(read_requirement(FILTER))
    assert made is not None
    assert _check(filter_plan(), {"upcase.py": made.source}) == [
        "upcase.py [stubs]: not written: transform (its body is still a stub)"
    ]
    written = made.source.replace("    raise NotImplementedError\n", "    return text.upper()\n")
    assert "return text.upper()" in written
    assert _check(filter_plan(), {"upcase.py": written}) == []
    passed = made.source.replace("    raise NotImplementedError\n", "    pass\n")
    assert _check(filter_plan(), {"upcase.py": passed})  # another form, the same refusal
    assert _check(filter_plan(), {}) == []  # a file not written yet: plan coverage's news


def test_the_check_names_planned_symbols_without_a_requirement_and_skips_other_teams() -> None:
    plan = filter_plan(
        modules=[
            {"path": "upcase.py",
             "symbols": [{"name": "shout", "signature": "def shout(text: str) -> str"}]}
        ]
    )  # fmt: skip
    files = {"upcase.py": "def shout(text: str) -> str:\n    ...\n"}
    assert _check(plan, files, requirement="") == [
        "upcase.py [stubs]: not written: shout (its body is still a stub)"
    ]
    qa = CheckContext(plan, files, ["qa-engineering"], requirement="")
    assert UnwrittenCheck().run(qa).problems == []  # not a team done by now


def test_the_stubs_check_is_one_of_the_code_checks_and_runs_without_a_sandbox() -> None:
    check = next(c for c in CHECKS.code if c.name == "stubs")
    assert check.needs == frozenset()
