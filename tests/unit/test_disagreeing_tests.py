"""A model's tests that fail on code passing every example are taken out, and only those."""

from __future__ import annotations

import ast
from dataclasses import replace
from pathlib import Path

from devfactory.checks.code.blame import OUTSIDE_TESTS, arbitrate
from devfactory.sandbox.junit import TestCase, TestReport
from devfactory.software.disagreeing_tests import (
    WHY,
    agreeing,
    best_kept,
    count_tests,
    disagreeing,
    named_by,
    outcomes_by_case,
    prune,
    refuted,
    split_assertions,
    split_disagreeing,
    why_refuted,
    without_cases,
    without_tests,
)
from devfactory.software.examples import PATH as EXAMPLES_PATH
from devfactory.software.plan import BuildPlan

TESTS = "tests/test_shelf.py"
SOURCE = '''"""Tests of the shelf."""

import pytest

from shelf import count


def test_counts_books():
    assert count(["a", "b"]) == 2


@pytest.mark.parametrize("n", [1, 2])
def test_counts_nothing_as_zero(n):
    assert count([]) == n


class TestLabels:
    def test_upper(self):
        assert count(["A"]) == 1

    def test_lower(self):
        assert count(["a"]) == 7


def helper():
    return 3
'''


def case(nodeid: str, outcome: str) -> TestCase:
    return TestCase(nodeid=nodeid, file=nodeid.split("::")[0], name=nodeid, outcome=outcome)


def report(*cases: TestCase) -> TestReport:
    return TestReport(cases=list(cases))


EXAMPLE_PASSED = case(f"{EXAMPLES_PATH}::test_count", "passed")
FAILED = (
    case(f"{TESTS}::test_counts_nothing_as_zero[1]", "failed"),
    case(f"{TESTS}::test_counts_nothing_as_zero[2]", "failed"),
    case(f"{TESTS}::TestLabels::test_lower", "failed"),
)


def test_a_node_id_names_its_test_without_its_parameters() -> None:
    assert named_by("tests/t.py::test_x[a-b]") == ("test_x",)
    assert named_by("tests/t.py::TestY::test_z") == ("TestY", "test_z")
    assert named_by("tests/t.py") == ()


ANCHORS = {"test_count"}  # the example tests that show behaviour


def test_only_failures_beside_passing_examples_disagree() -> None:
    passed = case(f"{TESTS}::test_counts_books", "passed")
    found = disagreeing(report(EXAMPLE_PASSED, passed, *FAILED), [TESTS], ANCHORS)
    assert found == {TESTS: {("test_counts_nothing_as_zero",), ("TestLabels", "test_lower")}}
    # an example that fails: the code is not known to be right, nothing disagrees
    failing_example = case(f"{EXAMPLES_PATH}::test_count", "failed")
    assert disagreeing(report(failing_example, *FAILED), [TESTS], ANCHORS) == {}
    # no example at all: nothing is known either
    assert disagreeing(report(*FAILED), [TESTS], ANCHORS) == {}
    # files that are not the team's, and the examples themselves, are never judged here
    assert disagreeing(report(EXAMPLE_PASSED, *FAILED), ["tests/other.py"], ANCHORS) == {}


def test_examples_that_show_no_behaviour_anchor_nothing() -> None:
    # a command line's --help and usage errors pass on code that does nothing at all
    helped = case(f"{EXAMPLES_PATH}::test_help", "passed")
    assert disagreeing(report(helped, *FAILED), [TESTS], ANCHORS) == {}
    assert disagreeing(report(EXAMPLE_PASSED, helped, *FAILED), [TESTS], ANCHORS) != {}


def test_the_disagreeing_tests_are_taken_out_and_the_rest_kept_as_written() -> None:
    found = without_tests(SOURCE, {("test_counts_nothing_as_zero",), ("TestLabels", "test_lower")})
    assert found is not None
    pruned, taken = found
    assert taken == [("test_counts_nothing_as_zero",), ("TestLabels", "test_lower")]
    tree = ast.parse(pruned)
    names = [n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)]
    assert sorted(names) == ["helper", "test_counts_books", "test_upper"]
    assert "@pytest.mark.parametrize" not in pruned  # the decorator went with its test
    assert 'def test_counts_books():\n    assert count(["a", "b"]) == 2\n' in pruned
    assert "import pytest" in pruned and "class TestLabels:" in pruned


def test_a_class_whose_tests_all_disagree_goes_whole() -> None:
    found = without_tests(SOURCE, {("TestLabels", "test_upper"), ("TestLabels", "test_lower")})
    assert found is not None
    assert "class TestLabels" not in found[0] and "def test_counts_books" in found[0]


def test_a_file_is_never_left_without_a_test_nor_pruned_when_it_does_not_parse() -> None:
    every = {("test_counts_books",), ("test_counts_nothing_as_zero",)}
    every |= {("TestLabels", "test_upper"), ("TestLabels", "test_lower")}
    assert without_tests(SOURCE, every) is None
    assert without_tests("def test_x(:\n", {("test_x",)}) is None
    assert without_tests(SOURCE, {("test_not_there",)}) is None


def test_prune_says_what_it_took_out_and_why() -> None:
    files = {TESTS: SOURCE, "tests/other.py": "x = 1\n"}
    cut = prune(report(EXAMPLE_PASSED, *FAILED), files, ANCHORS)
    assert set(cut.files) == {TESTS}
    assert cut.notes == [
        f"{TESTS}: took out TestLabels.test_lower: it failed on code that passes every one "
        "of the requirement's own examples",
        f"{TESTS}: took out test_counts_nothing_as_zero: it failed on code that passes every "
        "one of the requirement's own examples",
    ]
    assert prune(None, {TESTS: SOURCE}, ANCHORS).files == {}


# --- whose a failing test is: the examples vouch for the code only where they show behaviour ---

PLAN = BuildPlan.model_validate(
    {
        "kind": "cli",
        "summary": "Shelves books.",
        "files": [
            {"path": "shelf.py", "role": "code", "owner": "backend-engineering", "purpose": "it"},
            {"path": TESTS, "role": "tests", "owner": "qa-engineering", "purpose": "tests"},
        ],
        "test_command": "pytest -q",
        "entry_point": "python -m shelf",
    }
)
WRONG_RESULT = TestCase(  # an assertion on what the code returned: it ends in the test itself
    nodeid=f"{TESTS}::test_counts_books",
    file=TESTS,
    name="test_counts_books",
    outcome="failed",
    traceback=f"{TESTS}:9: in test_counts_books\n    assert count(['a']) == 1\nE  assert 0 == 1",
)
HELP_PASSED = case(f"{EXAMPLES_PATH}::test_help", "passed")


def test_a_test_failing_beside_a_passing_behaviour_example_goes_back_to_its_author_saying_so(
    tmp_path: Path,
) -> None:
    cases = [HELP_PASSED, EXAMPLE_PASSED, WRONG_RESULT]
    path, note = arbitrate(WRONG_RESULT, cases, PLAN, tmp_path, {"test_count"})
    assert path == TESTS
    assert note.startswith("the code passes every one of the requirement's own examples")


def test_examples_that_show_only_an_interface_vouch_for_no_code(tmp_path: Path) -> None:
    # --help passes on code that does nothing: the test is not told the code is right
    cases = [HELP_PASSED, WRONG_RESULT]
    assert arbitrate(WRONG_RESULT, cases, PLAN, tmp_path, {"test_count"}) == (TESTS, "")
    # nor does a behaviour example vouch when another example fails
    failing = case(f"{EXAMPLES_PATH}::test_help", "failed")
    cases = [failing, EXAMPLE_PASSED, WRONG_RESULT]
    assert arbitrate(WRONG_RESULT, cases, PLAN, tmp_path, {"test_count"}) == (TESTS, "")


def test_a_file_is_cut_to_the_tests_that_agreed_only_where_the_examples_vouch() -> None:
    passed = (
        case(f"{TESTS}::test_counts_books", "passed"),
        case(f"{TESTS}::TestLabels::test_upper", "passed"),
    )
    kept = agreeing(report(EXAMPLE_PASSED, *passed, *FAILED), {TESTS: SOURCE}, ANCHORS)
    assert set(kept) == {TESTS}
    assert count_tests(kept[TESTS]) == 2  # test_counts_books and TestLabels.test_upper
    assert "test_lower" not in kept[TESTS] and "test_counts_nothing_as_zero" not in kept[TESTS]
    # the examples do not vouch: nothing is known to agree
    failing_example = case(f"{EXAMPLES_PATH}::test_count", "failed")
    assert agreeing(report(failing_example, *passed), {TESTS: SOURCE}, ANCHORS) == {}
    # an error of the file itself (its import) fails every test in it: none is known to agree
    broken = case(TESTS, "error")
    assert agreeing(report(EXAMPLE_PASSED, broken, *passed), {TESTS: SOURCE}, ANCHORS) == {}
    # nothing of the file passed: nothing is kept
    assert agreeing(report(EXAMPLE_PASSED, *FAILED), {TESTS: SOURCE}, ANCHORS) == {}


def test_the_best_kept_version_has_the_most_tests_and_the_newest_wins_a_tie() -> None:
    one = "def test_a():\n    assert 1\n"
    two = one + "\n\ndef test_b():\n    assert 1\n"
    other = "def test_c():\n    assert 1\n"
    assert best_kept({TESTS: two}, {TESTS: one}) == {TESTS: two}
    assert best_kept({TESTS: one}, {TESTS: two}) == {TESTS: two}
    assert best_kept({TESTS: one}, {TESTS: other}) == {TESTS: other}
    assert best_kept({}, {TESTS: one}) == {TESTS: one}
    assert count_tests("def broken(:\n") == 0


CLUMPED = '''"""Tests of the shelf."""

import pytest

from shelf import count


def test_everything():
    """What the shelf does."""
    books = ["a", "b"]
    assert count(books) == 2
    more = books + ["c"]
    with pytest.raises(TypeError):
        count(7)
    with open("missing.txt") as handle:
        assert count(handle.read().split()) == 0
    print("done")


class TestLabels:
    def test_both(self):
        assert count(["A"]) == 1
        assert count(["a"]) == 7

    def test_one(self):
        assert count([]) == 0
'''


def test_a_test_of_several_assertions_is_split_into_one_per_assertion_after_its_setup() -> None:
    found = split_assertions(CLUMPED, {("test_everything",), ("TestLabels", "test_both")})
    assert found is not None
    source, split = found
    assert split == [("test_everything",), ("TestLabels", "test_both")]
    tree = ast.parse(source)
    functions = {n.name: n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
    assert set(functions) == {
        "test_everything_1",
        "test_everything_2",
        "test_everything_3",
        "test_both_1",
        "test_both_2",
        "test_one",
    }
    second = ast.unparse(functions["test_everything_2"])
    # the setup before it (not the assertion before it), then its own check
    assert "books = ['a', 'b']" in second and "more = books" in second
    assert "count(books) == 2" not in second and "pytest.raises(TypeError)" in second
    third = ast.unparse(functions["test_everything_3"])
    assert "open('missing.txt')" in third and "print('done')" in third  # the last keeps the rest
    assert "test_one" in source and ast.unparse(functions["test_both_2"]).count("assert") == 1
    # a test with one assertion, or one not asked for, is left whole: nothing to split
    assert split_assertions(CLUMPED, {("TestLabels", "test_one")}) is None
    assert split_assertions("def broken(:\n", {("broken",)}) is None


def test_only_the_pieces_that_disagree_are_taken_out_after_a_split() -> None:
    failing = case(f"{TESTS}::test_everything", "failed")
    split = split_disagreeing(report(EXAMPLE_PASSED, failing), {TESTS: CLUMPED}, ANCHORS)
    assert list(split.files) == [TESTS]
    assert split.notes == [
        f"{TESTS}: split test_everything into one test per assertion, to take out only "
        "the assertions that disagree"
    ]
    # judged again: the third piece (the missing file) fails, and only it goes
    pieces = (
        case(f"{TESTS}::test_everything_1", "passed"),
        case(f"{TESTS}::test_everything_2", "passed"),
        case(f"{TESTS}::test_everything_3", "failed"),
    )
    cut = prune(report(EXAMPLE_PASSED, *pieces), split.files, ANCHORS)
    assert "test_everything_3" not in cut.files[TESTS] and "test_everything_2" in cut.files[TESTS]
    # nothing is split where the examples do not vouch for the code
    unvouched = split_disagreeing(report(failing), {TESTS: CLUMPED}, ANCHORS)
    assert not unvouched.files


TRAILING = """from shelf import count


def test_counts():
    assert count(["a"]) == 1
    assert count([]) == 5
    # and two books: written next, never finished


def test_two():
    assert count(["a", "b"]) == 3
    # a comment indented under its last statement


def test_three():
    assert count(["a", "b", "c"]) == 4


# a comment of the file's own, about what follows
def test_none():
    assert count([]) == 0
"""


def test_taking_tests_out_leaves_no_runs_of_blank_lines_nor_their_orphaned_comments() -> None:
    split = split_assertions(TRAILING, {("test_counts",)})
    assert split is not None
    assert "written next" not in split[0]  # unparsed into pieces: its trailing comment goes
    found = without_tests(split[0], {("test_counts_2",), ("test_two",), ("test_three",)})
    assert found is not None
    pruned = found[0]
    assert "\n\n\n\n" not in pruned, pruned
    assert "indented under" not in pruned and "# a comment of the file's own" in pruned
    assert pruned == (
        "from shelf import count\n\n\n"
        "def test_counts_1():\n    assert count(['a']) == 1\n\n\n"
        "# a comment of the file's own, about what follows\n"
        "def test_none():\n    assert count([]) == 0\n"
    )


# --- a parametrized test whose cases partly pass loses only the failing cases ---

PARAMETRIZED = """import pytest

from checksum import digest


@pytest.mark.parametrize('text', ['abc', 'hello'])
def test_digest_1(text: str):
    assert digest(text) == 'ba78'


@pytest.mark.parametrize('text', ['abc', 'hello'])
def test_digest_2(text: str):
    assert digest(text) == 'd8c4'


class TestPairs:
    @pytest.mark.parametrize(
        "text, n",
        [("a", 1), ("b", -2), (None, 3.5)],
    )
    def test_pair(self, text, n):
        assert digest(text) == n
"""


def test_only_the_failing_cases_of_a_partly_passing_parametrized_test_are_taken_out() -> None:
    cases = (
        case(f"{TESTS}::test_digest_1[abc]", "passed"),
        case(f"{TESTS}::test_digest_1[hello]", "failed"),
        case(f"{TESTS}::test_digest_2[abc]", "failed"),
        case(f"{TESTS}::test_digest_2[hello]", "failed"),
        case(f"{TESTS}::TestPairs::test_pair[a-1]", "passed"),
        case(f"{TESTS}::TestPairs::test_pair[b--2]", "error"),
        case(f"{TESTS}::TestPairs::test_pair[None-3.5]", "passed"),
    )
    cut = prune(report(EXAMPLE_PASSED, *cases), {TESTS: PARAMETRIZED}, ANCHORS)
    pruned = cut.files[TESTS]
    tree = ast.parse(pruned)
    names = [n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)]
    assert names == ["test_digest_1", "test_pair"]  # test_digest_2 failed everywhere: it went
    assert "@pytest.mark.parametrize('text', ['abc'])\ndef test_digest_1" in pruned
    assert "    @pytest.mark.parametrize('text, n', [('a', 1), (None, 3.5)])\n" in pruned
    assert cut.notes == [
        f"{TESTS}: took out TestPairs.test_pair[b--2]: {WHY}",
        f"{TESTS}: took out test_digest_1[hello]: {WHY}",
        f"{TESTS}: took out test_digest_2: {WHY}",
    ]
    # what agreed is kept the same way between attempts
    kept = agreeing(report(EXAMPLE_PASSED, *cases), {TESTS: PARAMETRIZED}, ANCHORS)
    assert kept == {TESTS: pruned}


def test_parameters_are_narrowed_only_where_the_ids_are_known_from_the_source() -> None:
    outcomes = {("test_x",): {"abc": "passed", "hello": "failed"}}
    # ids pytest would give other than these, ids= of its own, stacked decorators: untouched
    for decorators in (
        "@pytest.mark.parametrize('s', ['abc', 'hello', 'more'])",
        "@pytest.mark.parametrize('s', ['abc', 'hello'], ids=['one', 'two'])",
        "@pytest.mark.parametrize('s', ['abc', 'hello'])\n@pytest.mark.parametrize('t', [1])",
        "@pytest.mark.parametrize('s', VALUES)",
    ):
        source = f"import pytest\n\n\n{decorators}\ndef test_x(s):\n    assert s\n"
        assert without_cases(source, outcomes) is None, decorators
    decorator = "@pytest.mark.parametrize('s', ['abc', 'hello'])"
    source = f"import pytest\n\n\n{decorator}\ndef test_x(s):\n    assert s\n"
    # every case failed, or none: the whole test is judged as before
    assert without_cases(source, {("test_x",): {"abc": "failed", "hello": "failed"}}) is None
    assert without_cases(source, {("test_x",): {"abc": "passed", "hello": "passed"}}) is None
    narrowed = without_cases(source, outcomes)
    assert narrowed is not None
    assert narrowed[1] == [(("test_x",), "hello")]
    assert "['abc']" in narrowed[0]
    # a value that is no plain literal is named by its argument and index, as pytest names it
    source = source.replace("'hello'", "object()")
    outcomes = {("test_x",): {"abc": "passed", "s1": "failed"}}
    assert without_cases(source, outcomes) == (
        source.replace(", object()", ""),
        [(("test_x",), "s1")],
    )
    assert outcomes_by_case([case(f"{TESTS}::T::test_y[a-b]", "failed")], TESTS) == {
        ("T", "test_y"): {"a-b": "failed"}
    }


def test_the_ids_are_those_pytest_gives() -> None:
    # as pytest named these cases in its JUnit report (pytest 8, this project's pin)
    values = "['abc', 'a b', 'ü', '', 'tab\\there', 1.5, -2, None, True, (1, 2), b'x']"
    source = (
        f"import pytest\n\n\n@pytest.mark.parametrize('s', {values})\ndef test_x(s):\n    ...\n"
    )
    reported = ["abc", "a b", "\\xfc", "", "tab\\there", "1.5", "-2", "None", "True", "s9", "x"]
    outcomes = {("test_x",): dict.fromkeys(reported, "passed") | {"s9": "failed"}}
    narrowed = without_cases(source, outcomes)
    assert narrowed is not None and narrowed[1] == [(("test_x",), "s9")]
    assert "(1, 2)" not in narrowed[0] and "b'x'" in narrowed[0]


# --- tests that fail on any code: taken out, examples or not ---

PARSER_TESTS = "tests/test_cli.py"
PARSER_SOURCE = """from unittest.mock import patch

from cli import build_parser, main


def test_runs():
    assert main([]) == 0


def test_called():
    main([])
    assert build_parser.called


def test_conflict():
    parser = build_parser()
    parser.add_argument("--largest-first")


def test_mock_ok():
    with patch("cli.build_parser") as built:
        main([])
        built.assert_called_once()


def test_wrong_sum():
    assert main(["2"]) == 1
"""


def failed(name: str, message: str, raised_in: str = PARSER_TESTS) -> TestCase:
    """A failure as pytest's JUnit report has it: its traceback ends where it was raised."""
    nodeid = f"{PARSER_TESTS}::{name}"
    error = message.split(":", 1)[0]
    where = f">       ...\nE       {message}\n\n{raised_in}:12: {error}"
    return TestCase(nodeid, PARSER_TESTS, name, "failed", message=message, traceback=where)


NOT_A_MOCK = failed("test_called", "AttributeError: 'function' object has no attribute 'called'")
CONFLICT = failed(
    "test_conflict",
    "argparse.ArgumentError: argument --largest-first: conflicting option string: --largest-first",
)
MOCK_ASSERTED = failed(  # a real mock, asserted: the code may call it, and then it passes
    "test_mock_ok",
    "AssertionError: Expected 'build_parser' to have been called once. Called 0 times.",
)
WRONG_SUM = failed("test_wrong_sum", "assert 0 == 1")


def test_a_mock_attribute_read_from_what_is_no_mock_fails_on_any_code() -> None:
    tree = ast.parse(PARSER_SOURCE)
    nodes = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
    assert "which only a mock has, from a function" in why_refuted(NOT_A_MOCK, None)
    method = failed("test_x", "AttributeError: 'method' object has no attribute 'assert_called'")
    assert why_refuted(method, None)
    # a spec'd mock's own refusal names no quoted type; an attribute a real object could have
    spec = failed("test_x", "AttributeError: Mock object has no attribute 'called'")
    plain = failed("test_x", "AttributeError: 'Namespace' object has no attribute 'count'")
    magic = failed("test_x", "AttributeError: 'MagicMock' object has no attribute 'called'")
    assert why_refuted(spec, None) == why_refuted(plain, None) == why_refuted(magic, None) == ""
    # the same error raised in the code (a decorator's wrapper.called read) is the code's
    in_code = failed("test_x", NOT_A_MOCK.message, raised_in="cli.py")
    assert why_refuted(in_code, None) == ""
    absolute = failed("test_x", NOT_A_MOCK.message, raised_in=f"/work/ws/{PARSER_TESTS}")
    assert why_refuted(absolute, None)
    assert why_refuted(TestCase("t.py::t", "t.py", "t", "failed", NOT_A_MOCK.message), None) == ""
    # a conflicting option refutes only a test that adds options itself
    assert "tests argparse, not the code" in why_refuted(CONFLICT, nodes["test_conflict"])
    assert why_refuted(CONFLICT, nodes["test_runs"]) == ""  # the code's parser adds it twice
    assert why_refuted(CONFLICT, None) == ""
    other = CONFLICT.message.replace("--largest-first", "--top")  # not the option it adds
    assert why_refuted(failed("test_conflict", other), nodes["test_conflict"]) == ""
    both = (
        "argparse.ArgumentError: argument -l/--largest-first: conflicting option strings: "
        "-l, --largest-first"
    )
    assert why_refuted(failed("test_conflict", both), nodes["test_conflict"])
    # a request sent through the app's route decorator, by the test itself
    route = failed(
        "test_add",
        "TypeError: FastAPI.post() got an unexpected keyword argument 'json'",
    )
    sends = ast.parse("def test_add():\n    r = app.post('/items', json={'a': 1})\n").body[0]
    client = ast.parse("def test_add():\n    r = client.post('/items', data={})\n").body[0]
    assert isinstance(sends, ast.FunctionDef) and isinstance(client, ast.FunctionDef)
    assert "not a test client (TestClient(app).post)" in why_refuted(route, sends)
    assert why_refuted(route, client) == ""  # the call with json= is not the test's own
    in_code = failed("test_add", route.message, raised_in="shop.py")
    assert why_refuted(in_code, sends) == ""
    # what some code could mend is never refuted; nor is a test that passed
    assert why_refuted(MOCK_ASSERTED, nodes["test_mock_ok"]) == ""
    assert why_refuted(WRONG_SUM, nodes["test_wrong_sum"]) == ""
    passed = TestCase(NOT_A_MOCK.nodeid, PARSER_TESTS, "test_called", "passed", NOT_A_MOCK.message)
    assert why_refuted(passed, None) == ""


def test_refuted_tests_are_taken_out_without_examples_and_named() -> None:
    failures = report(NOT_A_MOCK, CONFLICT, MOCK_ASSERTED, WRONG_SUM)  # no example at all
    files = {PARSER_TESTS: PARSER_SOURCE}
    assert set(refuted(failures, files)[PARSER_TESTS]) == {("test_called",), ("test_conflict",)}
    cut = prune(failures, files, ANCHORS)
    tree = ast.parse(cut.files[PARSER_TESTS])
    names = {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
    assert {"test_runs", "test_mock_ok", "test_wrong_sum"} <= names
    assert not {"test_called", "test_conflict"} & names
    assert len(cut.notes) == 2
    assert all(n.endswith("[refuted-tests]") for n in cut.notes)
    assert cut.notes[0].startswith(f"{PARSER_TESTS}: took out test_called: it reads called")
    # switched off (repairs_off=refuted-tests): without vouching examples nothing goes
    assert prune(failures, files, ANCHORS, refute=False).files == {}
    # with vouching examples the disagreeing ones go too, the refuted ones keeping their why
    vouched = prune(report(EXAMPLE_PASSED, *failures.cases), files, ANCHORS, refute=False)
    assert len(vouched.notes) == 4 and all(n.endswith(WHY) for n in vouched.notes)
    both = prune(report(EXAMPLE_PASSED, *failures.cases), files, ANCHORS)
    assert sum(n.endswith("[refuted-tests]") for n in both.notes) == 2
    assert sum(n.endswith(WHY) for n in both.notes) == 2


def test_a_refuted_test_of_several_assertions_is_split_to_keep_the_others() -> None:
    source = PARSER_SOURCE.replace(
        "    main([])\n    assert build_parser.called\n",
        "    assert main([]) == 0\n    assert build_parser.called\n",
    )
    files = {PARSER_TESTS: source}
    done = split_disagreeing(report(NOT_A_MOCK), files, ANCHORS)
    assert "def test_called_1():" in done.files[PARSER_TESTS]
    assert "def test_called_2():" in done.files[PARSER_TESTS]
    assert split_disagreeing(report(NOT_A_MOCK), files, ANCHORS, refute=False).files == {}


def test_a_command_a_tests_file_runs_outside_any_test_that_exits_is_its_authors(
    tmp_path: Path,
) -> None:
    # pytest's internal error: the file's top level called the command, which exited
    (tmp_path / "tests").mkdir()
    (tmp_path / TESTS).write_text("from shelf import main\n\nresult = main(['--bad'])\n")
    trace = (
        f'File "{tmp_path / TESTS}", line {{line}}, in <module>\n'
        f'File "{tmp_path / "shelf.py"}", line 7, in main\n    parser.error("bad")\n'
        'File "/usr/lib/python3.11/argparse.py", line 2630, in error\nSystemExit: 2'
    )
    stopped = TestCase(nodeid="internal", file="", name="internal", outcome="error")
    path, note = arbitrate(replace(stopped, traceback=trace.format(line=3)), [], PLAN, tmp_path)
    assert (path, note) == (TESTS, OUTSIDE_TESTS)
    # pytest's own short form of the same frame
    short = f"{TESTS}:3: in <module>\n    result = main(['--bad'])\nshelf.py:7: in main"
    assert arbitrate(replace(stopped, traceback=short), [], PLAN, tmp_path)[0] == TESTS
    # through its import line the code failed as it was imported: the code's
    at_import = replace(stopped, traceback=trace.format(line=1))
    assert arbitrate(at_import, [], PLAN, tmp_path) == ("shelf.py", "")
    # a collection failure that is no exit (the code's NameError) stays the code's
    failed = replace(stopped, nodeid=TESTS, file=TESTS, name="", traceback=trace.format(line=3))
    assert arbitrate(failed, [], PLAN, tmp_path) == ("shelf.py", "")
