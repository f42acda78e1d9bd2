"""A tests file that does not parse keeps its complete tests; tests reading unbound names go."""

from __future__ import annotations

import ast
import json
from typing import Any

import pytest

from devfactory.software.plan import PLAN_PATH
from devfactory.software.salvage import (
    Salvaged,
    drop_unbound_tests,
    salvage_cut,
    salvage_tests,
    statements,
)

HEAD = '''"""Tests."""

import pytest

from wc import count


@pytest.mark.parametrize("n", [1, 2])
def test_one(n):
    assert count("a") == 1


def test_two():
    assert count(
        "a b"
    ) == 2
'''


def test_a_file_that_parses_is_left_alone() -> None:
    assert salvage_tests(HEAD) is None


def test_a_file_cut_off_keeps_its_complete_tests() -> None:
    cut = HEAD + '\n\ndef test_three():\n    assert count("a b c") == 3\n    assert count("x\n'
    saved = salvage_tests(cut)
    assert saved is not None
    assert saved.source == HEAD + '\n\ndef test_three():\n    assert count("a b c") == 3\n'
    assert saved.dropped == ('assert count("x (in test_three)',)
    # a test with no complete check left goes whole
    lost = salvage_tests(HEAD + '\n\ndef test_three():\n    assert count("x\n')
    assert lost is not None and lost.source == HEAD and lost.dropped == ("test_three",)


def test_a_broken_test_in_the_middle_is_dropped_and_the_rest_kept() -> None:
    broken = '\n\ndef test_bad():\n    assert count("unterminated) == 1\n'
    later = '\n\ndef test_later():\n    assert count("") == 0\n'
    saved = salvage_tests(HEAD + broken + later)
    assert saved is not None
    tree = ast.parse(saved.source)
    names = [n.name for n in tree.body if isinstance(n, ast.FunctionDef)]
    assert names == ["test_one", "test_two", "test_later"]
    assert saved.dropped == ("test_bad",)
    assert "@pytest.mark.parametrize" in saved.source  # a decorator stays with its test


def test_nothing_is_kept_when_no_test_survives() -> None:
    assert salvage_tests('import pytest\n\ndef test_only():\n    assert f("x) == 1\n') is None
    assert salvage_tests("def helper(:\n    pass\n") is None


def test_statements_keep_continuations_and_comments_with_their_statement() -> None:
    source = "x = (\n1,\n)\n# about f\n@d\ndef f():\n    pass\nelse_ = 1\n"
    assert statements(source) == [
        "x = (\n1,\n)\n",
        "# about f\n@d\ndef f():\n    pass\n",
        "else_ = 1\n",
    ]


def test_a_bracket_left_open_by_a_broken_line_does_not_swallow_the_tests_after_it() -> None:
    broken = '\n\ndef test_bad():\n    assert count(("x) == 1\n'
    later = '\n\ndef test_later():\n    assert count("") == 0\n'
    saved = salvage_tests(HEAD + broken + later)
    assert saved is not None
    assert "def test_later" in saved.source and saved.dropped == ("test_bad",)


def test_a_drafted_tests_file_cut_off_is_kept_without_its_broken_test() -> None:
    from langchain_core.messages import HumanMessage

    from devfactory.graph.model_io.structured import draft_file
    from tests.unit.test_imports import model

    reply = HEAD + '\n\ndef test_three():\n    assert count("x\n'
    got = draft_file(model(reply), [HumanMessage("x")], path="tests/test_wc.py", kind="python",
                     max_model_errors=1)  # fmt: skip
    assert got.artifact is not None and got.artifact.content.strip() == HEAD.strip()
    assert got.repairs[-1] == (
        "the file did not parse: kept its complete tests, dropped `test_three` [broken-tests]"
    )
    code = draft_file(model(reply), [HumanMessage("x")], path="wc.py", kind="python",
                      max_model_errors=1)  # fmt: skip
    assert code.artifact is not None and "test_three" in code.artifact.content  # code: untouched


def test_a_file_cut_off_loses_the_test_it_stopped_in_even_when_what_came_before_parses() -> None:
    # the cut fell after a complete line: the file parses, but test_three was not finished
    cut = HEAD + '\n\ndef test_three():\n    assert count("a b c") == 3\n'
    saved = salvage_cut(cut)
    assert saved is not None
    assert saved.source == HEAD
    assert saved.dropped == ("test_three",)
    broken = (
        HEAD + '\n\ndef test_bad():\n    assert count("x) == 1\n\n\ndef test_four():\n    x = ('
    )
    again = salvage_cut(broken)
    assert again is not None and again.source == HEAD
    assert again.dropped == ("test_bad", "test_four")


def test_a_cut_file_with_no_complete_test_is_not_salvaged() -> None:
    assert salvage_cut('import pytest\n\ndef test_one():\n    assert run({"files": ["a\n') is None
    assert salvage_cut("") is None


def test_a_files_one_test_cut_off_keeps_its_complete_checks() -> None:
    checks = (
        "import pytest\n\n\ndef test_count():\n    # the words\n"
        '    assert count("a b") == 2\n\n    # none\n    assert count("") == 0\n'
    )
    saved = salvage_cut(checks + '\n    # more\n    assert count("x y z") == "3')
    assert saved is not None and saved.source == checks
    assert saved.dropped == ("the rest of test_count",)
    # with a complete test before it, the test it stopped in goes whole, as before
    two = 'def test_one():\n    assert count("a") == 1\n\n\n' + checks.split("\n\n\n", 1)[1]
    again = salvage_cut(two + '    assert count("x y z") == "3')
    assert again is not None and "def test_count" not in again.source
    # a class of tests cut off in its last method keeps that method's complete checks
    methods = (
        "class TestCount:\n    def test_words(self):\n        assert count('a b') == 2\n\n"
        "    def test_more(self):\n        assert count('') == 0\n"
    )
    kept = salvage_cut(methods + "        assert count('x y z') == '3")
    assert kept is not None and kept.source == methods
    assert kept.dropped == ("the rest of TestCount",)
    # a test with no complete check keeps nothing
    assert salvage_cut('def test_one():\n    x = 1\n    assert run({"files": ["a\n') is None


ONE_TEST = """from checksum import transform
import pytest


def test_checksum():
    # sha256
    assert transform("abc", "sha256") == "ba78"
    assert transform("x, "md5") == "9dd4"
    with pytest.raises(ValueError):
        transform("abc", "nope")
    assert transform("a", "md5") == (
        "0cc1"
    )
"""


def test_a_files_one_test_with_a_broken_check_keeps_its_other_checks() -> None:
    # a small model writes every check in one function: one unterminated string lost them all
    saved = salvage_tests(ONE_TEST)
    assert saved is not None
    assert saved.source == ONE_TEST.replace('    assert transform("x, "md5") == "9dd4"\n', "")
    assert saved.dropped == ('assert transform("x, "md5") == "9dd4" (in test_checksum)',)
    # beside other tests, the broken test keeps its good checks too, and they keep their place
    two = ONE_TEST + '\n\ndef test_later():\n    assert transform("", "md5") == "d41d"\n'
    again = salvage_tests(two)
    assert again is not None
    names = [n.name for n in ast.parse(again.source).body if isinstance(n, ast.FunctionDef)]
    assert names == ["test_checksum", "test_later"]
    assert "pytest.raises(ValueError)" in again.source


def test_a_broken_test_whose_only_checks_are_broken_is_dropped_whole() -> None:
    only_setup = (
        'def test_bad():\n    x = 1\n    assert f("x) == x\n\n\ndef test_ok():\n    assert 1\n'
    )
    saved = salvage_tests(only_setup)
    assert saved is not None
    assert saved.dropped == ("test_bad",) and "x = 1" not in saved.source
    # a helper (not a test) that breaks the file is dropped whole, never cut
    helper = 'def helper():\n    y = 2\n    return f("x)\n\n\ndef test_ok():\n    assert 1\n'
    kept = salvage_tests(helper)
    assert kept is not None and kept.dropped == ("helper",) and "y = 2" not in kept.source


def test_a_drafted_tests_file_with_one_broken_check_is_kept_and_says_what_was_dropped() -> None:
    from langchain_core.messages import HumanMessage

    from devfactory.graph.model_io.structured import draft_file
    from tests.unit.test_imports import model

    broken = ONE_TEST.replace('"x, "md5"', '["x", "md5"')  # a bracket no repair can close
    got = draft_file(model(broken), [HumanMessage("x")], path="tests/test_checksum.py",
                     kind="python", max_model_errors=1)  # fmt: skip
    assert got.artifact is not None
    ast.parse(got.artifact.content)
    assert 'assert transform("abc", "sha256") == "ba78"' in got.artifact.content
    assert got.repairs[-1] == (
        "the file did not parse: kept its complete tests, dropped "
        '`assert transform(["x", "md5") == "9dd4" (in test_checksum)` [broken-tests]'
    )


def test_a_broken_test_keeps_its_own_lines_unchanged_and_a_string_across_lines_is_not_cut() -> None:
    # a continuation at column 0 inside brackets is kept as written, never re-indented
    test = (
        "def test_rows():\n    rows = f([\n1, 2,\n    ])\n"
        '    assert rows == [1, 2]\n    assert f("x) == 1\n'
    )
    saved = salvage_tests(test)
    assert saved is not None
    assert (
        saved.source
        == "def test_rows():\n    rows = f([\n1, 2,\n    ])\n    assert rows == [1, 2]\n"
    )
    # text of a string across lines could read as statements: the test is dropped whole
    spans = 'def test_text():\n    msg = """\n    assert True\n    """\n    assert f("x) == msg\n'
    assert salvage_tests(spans + '\n\ndef test_ok():\n    assert f("") == ""\n') == (
        Salvaged('def test_ok():\n    assert f("") == ""\n', ("test_text",))
    )


def test_a_dropped_check_is_named_by_its_code_not_the_comment_above_it() -> None:
    saved = salvage_tests('def test_one():\n    assert 1\n    # the md5\n    assert f("x) == 1\n')
    assert saved is not None and saved.dropped == ('assert f("x) == 1 (in test_one)',)


SHARED_STATE = """import pytest
from fastapi.testclient import TestClient

from recipebox import app

client = TestClient(app)


def test_create():
    recipe = client.post("/recipes", json={"title": "soup"}).json()
    assert recipe["title"] == "soup"


@pytest.mark.parametrize("missing", [999])
def test_read(missing):
    assert client.get(f"/recipes/{recipe['id']}").status_code == 200


def test_unknown():
    assert client.get("/recipes/999").status_code == 404


assert recipe["title"] == "soup"
print(client)


class TestList:
    LIMIT = 3

    def test_limit(self):
        assert len(client.get("/recipes").json()) <= LIMIT

    def test_listed(self):
        assert isinstance(client.get("/recipes").json(), list)
"""


def test_a_test_reading_a_name_another_test_assigned_is_dropped_with_its_decorators() -> None:
    saved = drop_unbound_tests(SHARED_STATE)
    assert saved is not None
    # not dropped: test_limit's LIMIT is its class's (read through the class: taken as bound)
    assert saved.dropped == (
        "test_read (reads `recipe`)",
        'line 23: `assert recipe["title"] == "soup"` (reads `recipe`)',  # at import
    )
    assert "print(client)" in saved.source
    tree = ast.parse(saved.source)
    names = [n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)]
    assert names == ["test_create", "test_unknown", "test_limit", "test_listed"]
    assert "parametrize" not in saved.source and "missing" not in saved.source
    assert saved.source.startswith(SHARED_STATE.split("\n\n\ndef test_create")[0])


def test_names_bound_anywhere_the_test_can_see_keep_it() -> None:
    source = """import json as j
from pathlib import Path

for SIZE in (1, 2):
    pass
if True:
    LIMIT = 3


def helper():
    global made
    made = 1


def test_a(tmp_path, *args, **kw):
    import os
    try:
        data = [x for x in range(SIZE)]
    except ValueError as err:
        raise AssertionError(err)
    with open(os.devnull) as handle:
        assert handle and data is not None and Path and j and LIMIT and made and len(args) >= 0


def test_b():
    assert undefined_name == 1
"""
    saved = drop_unbound_tests(source)
    assert saved is not None and saved.dropped == ("test_b (reads `undefined_name`)",)
    assert "def test_a" in saved.source


@pytest.mark.parametrize(
    "source",
    [
        "def test_a():\n    assert missing == 1\n",  # every test reads it: the model's to fix
        "def test_a():\n    assert 1\n",  # nothing unbound
        "def test_a(:\n",  # does not parse: broken-tests' business
        "from x import *\n\ndef test_a():\n    assert a\n\ndef test_b():\n    assert b\n",
        "class TestA:\n    def test_a(self):\n        assert missing\n\n"
        "def test_b():\n    assert 1\n",  # the class would be left empty
    ],
)
def test_files_the_repair_leaves_alone(source: str) -> None:
    assert drop_unbound_tests(source) is None


def test_the_qa_stage_drops_a_test_reading_another_tests_variable_after_the_imports(
    settings: Any,
) -> None:
    from tests.fakes import ScriptedModels, always_good, run_graph
    from tests.unit.test_build_plan import CLI_REQUIREMENT, cli_plan

    def script(call: Any) -> str:
        if call.kind == "draft" and call.path == PLAN_PATH:
            return json.dumps(cli_plan())
        if call.kind == "draft" and call.path == "wordcount/__init__.py":
            return "def count_words(text: str) -> int:\n    return len(text.split())\n"
        if call.kind == "draft" and call.path == "tests/test_wordcount.py":
            return (
                "def test_counts() -> None:\n    counted = count_words('a b')\n"
                "    assert counted == 2\n\n\ndef test_again() -> None:\n    assert counted == 2\n"
            )
        return always_good(call)

    state = run_graph("lean", ScriptedModels(script), settings, CLI_REQUIREMENT)
    qa = state["stages"]["qa-engineering"]
    assert qa["outcome"] == "PASSED" and qa["attempts"] == 1, qa["reason"]
    assert qa["repairs"] == [
        "tests/test_wordcount.py: `from wordcount import count_words` added (used, never imported)"
        " [project-imports]",
        "tests/test_wordcount.py: tests reading a name bound nowhere dropped: "
        "test_again (reads `counted`) [unbound-tests]",
    ]
    (tests,) = [a for a in qa["result"]["artifacts"] if a["path"] == "tests/test_wordcount.py"]
    assert "def test_counts" in tests["content"] and "test_again" not in tests["content"]
