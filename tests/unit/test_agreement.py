"""Dual agreement and the model's behaviour tests: chosen and checked by code alone.

The selection (``graph/stage/build_loop/agreement.choose``) on hand-made pass matrices, and
the checks every model-written test goes through (``software/behaviour``)
before any candidate runs it; the requirement here is one of its own.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from devfactory.graph.stage.build_loop.agreement import choose
from devfactory.software.behaviour import (
    BehaviourTest,
    Hints,
    Limits,
    ProposedTest,
    ProposedValueTest,
    arity,
    as_passed,
    checked,
    coerced,
    examples_said,
    hints_of,
    matrix,
    passes,
    render,
)
from devfactory.software.examples import Example

T, F = True, False

# --- the selection ---------------------------------------------------------------------------


def test_a_small_group_passing_many_tests_beats_a_big_group_passing_few() -> None:
    # CodeT's own shape: three alike bodies pass 1 test; two others pass 4 of 5
    passed = [
        (T, F, F, F, F),
        (F, T, T, T, T),
        (T, F, F, F, F),
        (F, T, T, T, T),
        (T, F, F, F, F),
    ]
    choice = choose([(1, 2)] * 5, passed)
    assert (choice.index, choice.group, choice.passed, choice.tests) == (1, 2, 4, 5)
    assert choice.score == 8 and choice.tied == 5  # 2 x 4 against 3 x 1


def test_a_big_group_beats_a_lone_candidate_passing_a_little_more() -> None:
    passed = [(T, T, F), (T, T, T), (T, T, F), (T, T, F)]
    choice = choose([0, 0, 0, 0], passed)
    assert (choice.index, choice.group, choice.passed) == (0, 3, 2)  # 3 x 2 against 1 x 3


def test_the_examples_rank_first_and_only_the_tied_are_compared() -> None:
    # the last two agree on every test, but the first passes one more example
    passed = [(F, F), (T, T), (T, T)]
    choice = choose([(1, 3), (1, 2), (1, 2)], passed)
    assert (choice.index, choice.group, choice.passed, choice.tied) == (0, 1, 0, 1)


def test_ties_go_to_more_tests_passed_then_to_the_earlier_candidate() -> None:
    # 2 x 2 against 1 x 4: the same score; the group passing more tests wins
    passed = [(T, T, F, F), (T, T, F, F), (T, T, T, T)]
    assert choose([0, 0, 0], passed).index == 2
    # the same score and tests: the earlier candidate
    assert choose([0, 0], [(T, F), (F, T)]).index == 0
    # no test passed by anyone: the first of those best on the examples stays
    assert choose([0, 1, 1], [(F,), (F,), (F,)]).index == 1


def test_where_no_test_passes_a_body_refusing_valid_input_loses_to_one_that_answers() -> None:
    # the model's expected values are all wrong; its inputs are right: two expect a value,
    # the third an error. The first body refuses every input, the second answers them
    passed = [(F, F, F), (F, F, F), (F, F, F)]
    outcomes = [
        ("!ValueError", "!ValueError", "!ValueError"),
        ("'a,1\\n'", "'b,2\\n'", "!ValueError"),
        ("!KeyError", "'b,2\\n'", "'x'"),
    ]
    choice = choose([0, 0, 0], passed, outcomes, [False, False, True])
    assert (choice.index, choice.kind, choice.alike, choice.group) == (1, 3, 1, 3)


def test_then_the_outcomes_more_candidates_share_exactly_win() -> None:
    passed = [(F, F)] * 4
    outcomes = [("'1'", "'2'"), ("'3'", "'4'"), ("'1'", "'5'"), ("'3'", "'4'")]
    choice = choose([0] * 4, passed, outcomes, [False, False])
    assert (choice.index, choice.kind, choice.alike) == (1, 2, 2)
    # without outcomes (or with all alike) the earliest stays, as before
    assert choose([0] * 4, passed).index == 0
    assert choose([0] * 4, passed, [("'1'", "'2'")] * 4, [False, False]).index == 0


def test_dual_agreement_comes_before_the_kind_of_outcome() -> None:
    # the group passing a test is kept, though the other body ends every call in kind
    passed = [(F, F), (T, F)]
    outcomes = [("'x'", "'y'"), ("'ok'", "!ValueError")]
    choice = choose([0, 0], passed, outcomes, [False, False])
    assert (choice.index, choice.passed, choice.kind) == (1, 1, 1)


def test_a_call_that_timed_out_or_a_body_that_did_not_run_ends_in_no_kind() -> None:
    passed = [(F, F)] * 3
    outcomes = [("!timeout", "!timeout"), (), ("'v'", "!timeout")]
    choice = choose([0, 0, 0], passed, outcomes, [False, False])
    assert (choice.index, choice.kind) == (2, 1)  # only its one value counts
    assert choose([0, 0], passed[:2], outcomes[:2], [True, True]).kind == 0  # no error was raised
    with pytest.raises(ValueError):
        choose([0, 0], passed[:2], outcomes[:1], [False, False])


def test_a_candidate_without_a_row_is_refused() -> None:
    with pytest.raises(ValueError):
        choose([0, 0], [(T,)])
    with pytest.raises(ValueError):
        choose([], [])


def test_the_note_says_what_was_chosen_and_why() -> None:
    note = choose([0, 0, 0], [(T, F), (T, F), (F, F)]).note("fold")
    assert note == (
        "fold: of 3 candidate(s) tied on the examples, kept candidate 1: 2 agree on the 1 of "
        "2 behaviour test(s) they pass (score 2)"
    )
    told = choose(
        [0, 0, 0], [(T, F), (T, F), (F, F)], [("1", "!E"), ("1", "2"), ()], [False, False]
    ).note("fold")
    assert told.endswith(
        "(score 2); within them its calls end as the tests expect in kind (a value or an "
        "error) in 2 of 2, and 1 candidate(s) give its outcomes"
    )
    assert "kept candidate 2:" in told


# --- outcomes against tests ------------------------------------------------------------------


def test_outcomes_are_compared_as_values_and_a_raise_by_its_class_name() -> None:
    three = BehaviourTest("f", "q", "(1,)", "3")
    assert passes("3", three) and not passes("4", three) and not passes("!ValueError", three)
    floats = BehaviourTest("f", "q", "(1,)", "[1.0, 2]")
    assert passes("[1, 2.0]", floats)  # equal values, written otherwise
    raising = BehaviourTest("f", "q", "(1,)", raises="ValueError")
    assert passes("!ValueError", raising) and not passes("!TypeError", raising)
    assert not passes("'x'", BehaviourTest("f", "q", "(1,)", "'x\\n'"))
    newline = BehaviourTest("f", "q", "(1,)", "'x'")
    written = {"'x'": "'x\\n'"}
    assert passes("'x\\n'", newline, lambda o: written.get(o, o))  # as the program writes it


def test_a_candidate_that_could_not_run_passes_no_test() -> None:
    tests = [BehaviourTest("f", "q", "(1,)", "2"), BehaviourTest("f", "q", "(2,)", "4")]
    assert matrix([("2", "5"), (), ("2", "4")], tests) == [(T, F), (F, F), (T, T)]


# --- checking what the model wrote -----------------------------------------------------------

REQUIREMENT = """# knots

The module `knots` has `tie(rope: str, turns: int = 1) -> str`.

`tie` wraps the rope in
brackets once per turn. A turn count below
zero raises `ValueError`.

Example: `tie("a")` is `"[a]"`.
"""
LIMITS = Limits(per_sentence=2, per_unit=4)
WRAPS = "tie wraps the rope in brackets once per turn."  # backticks and a line break dropped


def _check(*tests: ProposedTest, limits: Limits = LIMITS) -> tuple[list[BehaviourTest], dict]:
    found = checked(
        list(tests),
        unit="tie",
        requirement=REQUIREMENT,
        takes=(1, 2),
        limits=limits,
        said={("tie", "('a',)"): "'[a]'"},
    )
    return found.tests, dict(found.dropped)


def _test(sentence: str = WRAPS, arguments: str = "('b', 2)", expected: str = "'[[b]]'",
          raises: str = "") -> ProposedTest:  # fmt: skip
    return ProposedTest(sentence=sentence, arguments=arguments, expected=expected, raises=raises)


def test_a_test_quoting_the_requirement_with_literals_that_fit_is_kept() -> None:
    kept, dropped = _check(
        _test(),
        _test("A turn count below zero raises `ValueError`.", "('b', -1)", "", "ValueError"),
        _test(arguments="'c'", expected="'[c]'"),  # one argument, written without a tuple
    )
    assert dropped == {}
    assert kept == [
        BehaviourTest("tie", WRAPS, "('b', 2)", "'[[b]]'"),
        BehaviourTest(
            "tie", "A turn count below zero raises ValueError.", "('b', -1)", raises="ValueError"
        ),
        BehaviourTest("tie", WRAPS, "('c',)", "'[c]'"),
    ]


@pytest.mark.parametrize(
    ("test", "why"),
    [
        (_test("tie wraps the rope in ribbons."), "quoting no sentence of the requirement"),
        (_test("once per turn"[:8]), "quoting no sentence of the requirement"),  # too short
        (_test(""), "quoting no sentence of the requirement"),
        (_test(arguments="(rope, 2)"), "with arguments that are no literal"),
        (_test(arguments="('b', 2"), "with arguments that are no literal"),
        (_test(expected="'[' + 'b' + ']'"), "expecting no literal"),
        (_test(expected=""), "expecting no literal"),
        (_test(arguments="()"), "with the wrong number of arguments"),
        (_test(arguments="('b', 2, 3)"), "with the wrong number of arguments"),
        (_test(raises="Value Error"), "raising no class name"),
        (_test(arguments="('a',)", expected="'a'"), "contradicting an example"),
    ],
)
def test_a_bad_test_is_dropped_and_counted(test: ProposedTest, why: str) -> None:
    kept, dropped = _check(test)
    assert kept == [] and dropped == {why: 1}


def test_a_raise_the_words_never_name_is_dropped_where_they_name_some() -> None:
    from devfactory.software.behaviour import raisable

    named = raisable(REQUIREMENT, "To refuse the input, raise `ValueError(message)`.")
    assert named == {"ValueError"}
    below = "A turn count below zero raises `ValueError`."
    tests = [
        _test(below, "('b', -1)", "", "ValueError"),
        _test(below, "('b', -2)", "", "TypeError"),  # a class no word names
        _test(WRAPS, "(3, 1)", "", "AttributeError"),
    ]
    found = checked(
        tests, unit="tie", requirement=REQUIREMENT, takes=(1, 2), limits=LIMITS, raisable=named
    )
    assert [t.raises for t in found.tests] == ["ValueError"]
    assert dict(found.dropped) == {"raising what the requirement never names": 2}
    # words that name no exception refuse none
    unnamed = checked(
        tests, unit="tie", requirement=REQUIREMENT, takes=(1, 2), limits=LIMITS, raisable=()
    )
    assert len(unnamed.tests) == 3 and raisable("It exits 2 on a bad line.") == frozenset()


def test_the_caps_per_sentence_and_per_unit_hold_and_repeats_are_dropped() -> None:
    wraps = [_test(arguments=f"('b', {n})", expected=f"'{'[' * n}b{']' * n}'") for n in range(4)]
    raising = "A turn count below zero raises `ValueError`."
    below = [_test(raising, f"('b', {n})", "", "ValueError") for n in (-1, -2, -3)]
    kept, dropped = _check(*wraps, wraps[0], *below)
    assert [t.arguments for t in kept] == ["('b', 0)", "('b', 1)", "('b', -1)", "('b', -2)"]
    assert dropped == {"over the cap": 3, "repeating a call": 1}
    assert len(kept) == LIMITS.per_unit  # exactly at the cap
    kept, dropped = _check(*wraps, limits=Limits(per_sentence=8, per_unit=3))
    assert len(kept) == 3 and dropped == {"over the cap": 1}


def test_json_values_are_read_as_literals_and_checked_the_same_way() -> None:
    def valued(arguments: list, expected: object, raises: str = "", sentence: str = WRAPS) -> Any:
        return ProposedValueTest(
            sentence=sentence, arguments=arguments, expected=expected, raises=raises
        )

    kept, dropped = _check(
        valued(["b", 2], "[[b]]"),  # a text written bare as JSON: no literal inside a string
        valued(["b", -1], None, "ValueError", "A turn count below zero raises `ValueError`."),
        valued(["a"], "a"),  # what the requirement's example says otherwise
        valued([], "[]"),  # too few arguments
    )
    assert kept == [
        BehaviourTest("tie", WRAPS, "('b', 2)", "'[[b]]'", alike=True),
        BehaviourTest(
            "tie", "A turn count below zero raises ValueError.", "('b', -1)", raises="ValueError",
            alike=True,
        ),
    ]  # fmt: skip
    assert dropped == {"contradicting an example": 1, "with the wrong number of arguments": 1}
    none = valued(["b", 0], None).as_literals()
    assert (none.arguments, none.expected) == ("('b', 0)", "None")  # null is a result of None


def test_json_text_is_read_as_the_annotation_says_and_text_meant_as_text_stays() -> None:
    assert coerced("1994", "int") == 1994 and coerced("2.5", "float") == 2.5
    assert coerced("True", "int") == "True" and coerced("True", "float") == "True"  # nor a number
    assert coerced("True", "bool") is True
    assert coerced("[(1, 3), (4, 6)]", "list[tuple[int, int]]") == [(1, 3), (4, 6)]
    assert coerced("[(1, 3)]", "") == [(1, 3)]  # no annotation: a container literal is read
    assert coerced("0306406152", "") == "0306406152"  # but digits meant as text stay text
    assert coerced("1994", "str") == "1994" and coerced("abc", "int") == "abc"
    assert coerced([255, 136, 0], "tuple[int, int, int]") == (255, 136, 0)
    assert coerced([1, 2], "") == [1, 2] and coerced(None, "int") is None
    source = "def f(n: int, spans, *, x: str = '') -> tuple[int, int]:\n    ...\n"
    assert hints_of(source, "f") == Hints(("int", ""), "tuple[int, int]")
    assert hints_of(source, "g") == Hints() and hints_of("def (", "f") == Hints()
    test = ProposedValueTest(
        sentence=WRAPS, arguments=["7", "[(1, 2)]"], expected=[1, 2], raises=""
    )
    literal = test.as_literals(hints_of(source, "f"))
    assert (literal.arguments, literal.expected) == ("(7, [(1, 2)])", "(1, 2)")


def test_an_optional_annotation_reads_a_text_as_the_type_beside_none() -> None:
    assert coerced("3", "int | None") == 3 and coerced("3", "Optional[int]") == 3
    assert coerced("[1]", "list[int] | None") == [1]
    assert coerced("3", "int | str") == "3"  # a union of two types: neither is read
    assert coerced("3", "str | None") == "3"


SUMMARY = "def summary(text: str, top: int | None = None) -> str:\n    ...\n"


def test_an_object_expected_of_a_function_returning_text_is_its_json_text() -> None:
    # a command's transform returns the JSON it prints: the model gives the object, not its text
    hints = hints_of(SUMMARY, "summary")
    shown = {"lines": 2, "top": [["a", 2]]}
    found = checked(
        [
            ProposedValueTest(sentence=WRAPS, arguments=["a\na", "1"], expected=shown, raises=""),
            ProposedValueTest(sentence=WRAPS, arguments=["b"], expected={"lines": 9}, raises=""),
            ProposedValueTest(sentence=WRAPS, arguments=["c"], expected=[1], raises=""),
            ProposedValueTest(sentence=WRAPS, arguments=["d"], expected="x", raises=""),
        ],
        unit="summary", requirement=REQUIREMENT, takes=(1, 2), limits=Limits(4, 4),
        said={("summary", "('b',)"): repr('{"lines": 1}\n'), ("summary", "('c',)"): "'[1]'"},
        hints=hints,
    )  # fmt: skip
    assert [(t.arguments, t.json_text) for t in found.tests] == [
        ("('a\\na', 1)", True),  # the option's text read as the int it annotates
        ("('c',)", True),  # an example's text with the same value does not contradict it
        ("('d',)", False),  # a text expected of a text is compared as text
    ]
    assert dict(found.dropped) == {"contradicting an example": 1}  # {"lines": 9} against 1
    test = found.tests[0]
    assert passes(repr('{"lines":2,"top":[["a",2]]}'), test)  # however it is spaced
    assert passes(repr('{\n  "top": [["a", 2]],\n  "lines": 2\n}\n'), test, str.upper)
    assert not passes(repr('{"lines": 3, "top": [["a", 2]]}'), test)
    assert not passes(repr(str(shown)), test) and not passes(repr(shown), test)  # no JSON text
    assert not passes('\'{"lines": 2, "top": [["a", 2]\'', test)  # a text cut short
    assert as_passed(repr('{"lines":2,"top":[["a",2]]}'), test) is test


def test_json_text_expected_of_a_function_returning_text_is_compared_parsed() -> None:
    # asked for a result that is JSON text, the model may write the text, spaced its own way
    hints = hints_of(SUMMARY, "summary")
    found = checked(
        [
            ProposedValueTest(sentence=WRAPS, arguments=["a"], expected='[{"k":1}]', raises=""),
            ProposedValueTest(sentence=WRAPS, arguments=["b"], expected="[not json", raises=""),
            ProposedValueTest(sentence=WRAPS, arguments=["c"], expected='"k"', raises=""),
        ],
        unit="summary", requirement=REQUIREMENT, takes=(1, 2), limits=Limits(4, 4), hints=hints,
    )  # fmt: skip
    assert [(t.arguments, t.expected, t.json_text) for t in found.tests] == [
        ("('a',)", "[{'k': 1}]", True),
        ("('b',)", "'[not json'", False),  # no JSON: a text compared as text
        ("('c',)", "'\"k\"'", False),  # JSON, but no object or array
    ]
    assert passes(repr('[\n  {\n    "k": 1\n  }\n]'), found.tests[0])  # however it is spaced
    assert not passes(repr('[{"k": 2}]'), found.tests[0])
    text = hints_of("def f(s: str) -> int:\n    ...\n", "f")  # a function returning no text
    other = checked(
        [ProposedValueTest(sentence=WRAPS, arguments=["a"], expected="[1]", raises="")],
        unit="f", requirement=REQUIREMENT, takes=(1, 1), limits=Limits(4, 4), hints=text,
    )  # fmt: skip
    assert [t.json_text for t in other.tests] == [False]


def test_a_test_whose_text_met_the_grammars_bound_is_dropped_as_cut() -> None:
    # a value as long as the bound was stopped by the grammar, not ended by the model
    found = checked(
        [
            ProposedValueTest(sentence=WRAPS, arguments=["a" * 9], expected="x", raises=""),
            ProposedValueTest(sentence=WRAPS, arguments=["b" * 10], expected="x", raises=""),
            ProposedValueTest(sentence=WRAPS, arguments=["c"], expected="y" * 10, raises=""),
            ProposedTest(sentence=WRAPS, arguments=repr(("d" * 7,)), expected="'x'", raises=""),
        ],
        unit="summary", requirement=REQUIREMENT, takes=(1, 2), limits=Limits(4, 4, 10),
    )  # fmt: skip
    assert [t.arguments for t in found.tests] == [repr(("a" * 9,))]
    assert dict(found.dropped) == {"with a value cut at 10 characters": 3}
    unbounded = checked(
        [ProposedValueTest(sentence=WRAPS, arguments=["b" * 10], expected="x", raises="")],
        unit="summary", requirement=REQUIREMENT, takes=(1, 2), limits=Limits(4, 4),
    )  # fmt: skip
    assert len(unbounded.tests) == 1


def test_json_text_is_asserted_parsed_in_the_agreed_tests(tmp_path: Path) -> None:
    module = (
        "import json\n\n\ndef summary(text: str, top: int | None = None) -> str:\n"
        "    return json.dumps({'lines': len(text.splitlines())}, indent=2)\n"
    )
    tests = [
        BehaviourTest("summary", WRAPS, "('a\\nb',)", "{'lines': 2}", alike=True, json_text=True),
        BehaviourTest("summary", "below zero raises", "('',)", raises="ValueError"),
    ]
    source = render(tests, "digest", module)
    assert source is not None
    assert "import json\nimport pytest\n" in source
    assert "    assert json.loads(summary('a\\nb')) == {'lines': 2}\n" in source
    (tmp_path / "digest.py").write_text(module)
    (tmp_path / "test_agreed.py").write_text(render(tests[:1], "digest", module) or "")
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_agreed.py"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    (tmp_path / "digest.py").write_text(module.replace("len(text.splitlines())", "1"))
    failed = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_agreed.py"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert failed.returncode == 1, failed.stdout


def test_the_agreed_tests_file_keeps_within_the_artifact_cap_dropping_its_longest_tests() -> None:
    from devfactory.contracts import MAX_ARTIFACT_CHARS
    from devfactory.software.behaviour import PATH, agreed_file
    from devfactory.software.plan import BuildPlan
    from devfactory.software.skeleton import Skeleton

    plan = BuildPlan.model_validate(
        {"kind": "library", "summary": "Ties knots.", "test_command": "pytest -q", "files": [
            {"path": "knots.py", "role": "code", "owner": "backend-engineering", "purpose": "it"},
            {"path": PATH, "role": "tests", "owner": "qa-engineering", "purpose": "tests"}]}
    )  # fmt: skip
    made = Skeleton("knots.py", "def tie(rope, turns=1):\n    ...\n", ())
    short = [BehaviourTest("tie", WRAPS, f"('{n}',)", f"'[{n}]'") for n in "abc"]
    long = [BehaviourTest("tie", WRAPS, f"('{n}',)", repr(n * 1_990)) for n in "defghij"]
    [whole] = agreed_file(plan, made, made.source, [*short, *long[:2]])
    assert whole.content.count("def test_tie_") == 5  # within the cap: every test
    [cut] = agreed_file(plan, made, made.source, [*short, *long])  # 7 x 2,000 characters
    assert len(cut.content) <= MAX_ARTIFACT_CHARS
    assert all(f"assert tie('{n}') == '[{n}]'" in cut.content for n in "abc")  # the short kept
    assert 3 < cut.content.count("def test_tie_") < 10  # some of the long ones dropped, not all
    assert agreed_file(None, made, made.source, short) == []


def test_json_lists_match_tuples_and_the_kept_test_says_what_the_code_returned() -> None:
    pair = BehaviourTest("f", "q", "(1,)", "[1, [2, 3]]", alike=True)
    assert passes("(1, (2, 3))", pair) and passes("[1, [2, 3]]", pair)
    assert not passes("(1, (2, 4))", pair)
    strict = BehaviourTest("f", "q", "(1,)", "[1, [2, 3]]")  # literals say which they mean
    assert not passes("(1, (2, 3))", strict)
    written = as_passed("(1, (2, 3))", pair)
    assert (written.expected, written.alike) == ("(1, (2, 3))", False)
    assert as_passed("(1, (2, 3))", strict) is strict


def test_the_note_says_how_many_calls_gave_no_test_and_why_the_first() -> None:
    found = checked([], unit="tie", requirement=REQUIREMENT, takes=(1, 2), limits=LIMITS)
    assert found.note("tie") == "tie: 0 behaviour test(s) from the model"
    found.empty = ["no reply validated: tests: Field required", "a reply with no test"]
    assert found.note("tie") == (
        "tie: 0 behaviour test(s) from the model; 2 call(s) gave none "
        "(first: no reply validated: tests: Field required)"
    )
    found.empty = ["model call failed: " + "x" * 300]
    assert found.note("tie").endswith("x" * 98 + "...)") and len(found.note("tie")) < 200


def test_the_note_counts_what_was_dropped_and_why_showing_the_first_of_each() -> None:
    long = "('" + "x" * 200 + "', 1, 2)"
    found = checked(
        [_test(), _test(arguments="(x,)"), _test(arguments=long), _test(arguments="('a', 1, 2)")],
        unit="tie",
        requirement=REQUIREMENT,
        takes=(1, 2),
        limits=LIMITS,
    )
    shown = f"{long} -> '[[b]]'"[:117] + "..."
    assert len(shown) == 120
    assert found.note("tie") == (
        "tie: 1 behaviour test(s) from the model; dropped 3: "
        "1 with arguments that are no literal (first: (x,) -> '[[b]]'), "
        f"2 with the wrong number of arguments (first: {shown})"
    )


def test_the_arity_is_read_from_the_signature() -> None:
    source = "def tie(rope: str, turns: int = 1) -> str:\n    raise NotImplementedError\n"
    assert arity(source, "tie") == (1, 2)
    assert arity("def many(*parts): ...\n", "many") == (0, 1_000)
    assert arity("def other(): ...\n", "tie") is None and arity("def (", "tie") is None


def test_what_the_examples_say_of_calls_is_read_from_their_tests() -> None:
    said = examples_said(
        [
            Example("tie", "q", "    assert tie('a') == '[a]'\n", "tie"),
            Example("tie", "q", "    with pytest.raises(ValueError):\n        tie('a', -1)\n", "t"),
            Example("cli", "q", "    assert run_cli('--help').returncode == 0\n", "cli"),
        ]
    )
    assert said == {("tie", "('a',)"): "'[a]'", ("tie", "('a', -1)"): "!ValueError"}  # by call


def test_the_agreed_tests_render_as_pytest_asserts_quoting_their_sentences() -> None:
    tests = [
        BehaviourTest("tie", WRAPS, "('b', 2)", "'[[b]]'"),
        BehaviourTest("tie", "below zero raises", "('b', -1)", raises="ValueError"),
        BehaviourTest("tie", "a knot error", "('b', 99)", raises="KnotError"),  # not defined
    ]
    source = render(tests, "knots", "def tie(rope, turns=1):\n    return rope\n")
    assert source is not None
    ast.parse(source)
    assert "from knots import tie\n" in source
    assert f"    # {WRAPS}\n    assert tie('b', 2) == '[[b]]'\n" in source
    assert "    with pytest.raises(ValueError):\n        tie('b', -1)\n" in source
    assert "KnotError" not in source  # the module defines no such class: left out
    own = render(tests[2:], "knots", "class KnotError(Exception):\n    pass\n")
    assert own is not None and "from knots import KnotError, tie\n" in own
    assert render([], "knots", "") is None


VERSION = "Version(major=1, minor=2, patch=3, prerelease=('rc', '1'))"  # a dataclass's repr


@pytest.mark.parametrize(
    ("expected", "alike", "right"),
    [
        ("{'major': 1, 'minor': 2, 'patch': 3, 'prerelease': ['rc', '1']}", True, True),
        ("[1, 2, 3, ['rc', '1']]", True, True),  # its fields in order
        ('\'Version(1, 2, 3, ("rc", "1"))\'', True, True),  # its call written as text
        ('\'Version(1, 2, patch=3, prerelease=("rc", "1"))\'', True, True),
        ("{'major': 1, 'minor': 2, 'patch': 4, 'prerelease': ['rc', '1']}", True, False),
        ("[1, 2, 3]", True, False),  # a field short
        ("'Version(1, 2, 3)'", True, False),
        ('\'Other(1, 2, 3, ("rc", "1"))\'', True, False),  # another class
        ("{'major': 1, 'minor': 2, 'patch': 3, 'prerelease': ('rc', '1')}", False, True),
    ],
)
def test_a_record_the_code_returns_passes_a_test_giving_its_fields(
    expected: str, alike: bool, right: bool
) -> None:
    # parse('1.2.3-rc.1') returns a dataclass: JSON has none, so the model gives its fields
    test = BehaviourTest("parse", "q", "('1.2.3-rc.1',)", expected, alike=alike)
    assert passes(VERSION, test) is right
    assert not passes("<semverlite.Version object at 0x7f>", test)


def test_a_passed_record_is_asserted_as_the_code_gave_it_importing_its_class(
    tmp_path: Path,
) -> None:
    module = (
        "from dataclasses import dataclass\n\n\n@dataclass(frozen=True)\nclass Version:\n"
        "    major: int\n    minor: int\n    patch: int\n    prerelease: tuple[str, ...]\n\n\n"
        "def parse(text):\n    head, _, pre = text.partition('-')\n"
        "    numbers = [int(n) for n in head.split('.')]\n"
        "    return Version(*numbers, tuple(pre.split('.')) if pre else ())\n"
    )
    test = BehaviourTest("parse", "q", "('1.2.3-rc.1',)", "[1, 2, 3, ['rc', '1']]", alike=True)
    kept = as_passed(VERSION, test)
    assert (kept.expected, kept.alike) == (VERSION, False)
    source = render([kept], "semverlite", module)
    assert source is not None and "from semverlite import Version, parse\n" in source
    assert f"    assert parse('1.2.3-rc.1') == {VERSION}\n" in source
    assert render([kept], "semverlite", "def parse(text):\n    return text\n") is None  # no class
    (tmp_path / "semverlite.py").write_text(module)
    (tmp_path / "test_agreed.py").write_text(source)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_agreed.py"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    wrong = module.replace("tuple(pre.split('.'))", "(pre,)")
    (tmp_path / "semverlite.py").write_text(wrong)
    failed = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_agreed.py"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert failed.returncode == 1, failed.stdout


@pytest.mark.parametrize("values", ["literal", "json"])
def test_the_request_asks_for_the_form_the_settings_choose(values: str) -> None:
    from devfactory.graph.stage.build_loop.model_tests import tests_request
    from devfactory.settings import get_settings
    from devfactory.software.behaviour import ProposedTests, ProposedValueTests
    from devfactory.software.requirement import read_requirement
    from devfactory.software.skeleton import Unit, UnitKind

    settings = get_settings().with_overrides(behaviour_test_values=values)
    source = "def tie(rope: str, turns: int = 1) -> str:\n    raise NotImplementedError\n"
    unit = Unit("tie", UnitKind.FUNCTION, (WRAPS,))
    asked = tests_request(REQUIREMENT, read_requirement(REQUIREMENT), source, unit, settings, "QA")
    prompt = str(asked.messages[-1].content)
    arguments = asked.schema["properties"]["tests"]["items"]["properties"]["arguments"]
    assert asked.takes == (1, 2) and asked.said == {("tie", "('a',)"): "'[a]'"}
    if values == "json":
        import json

        from devfactory.models.server_chat import json_schema_grammar

        assert asked.form is ProposedValueTests and arguments["type"] == "array"
        assert (arguments["minItems"], arguments["maxItems"]) == (1, 2)  # as many as it takes
        assert "as a JSON array of values" in prompt and "Python literal" not in prompt
        grammar = json_schema_grammar(json.dumps(asked.schema, sort_keys=True)).splitlines()
        assert "tests-item-expected ::= tests-item-expected-0 | tests-item-expected-1" in grammar
        assert (
            "tests-item-expected-1 ::= number | integer | boolean | null | array | "
            "tests-item-expected-1-5" in grammar
        )  # any value beside a bounded text; llama.cpp reads {} as an object
    else:
        assert asked.form is ProposedTests and arguments["type"] == "string"
        assert "as a Python literal tuple" in prompt and "JSON array" not in prompt
    assert "(`tie` takes from 1 to 2 arguments, in this order: `rope`, `turns`)" in prompt


def test_a_calls_values_are_bounded_by_the_units_arity_in_the_grammar_itself() -> None:
    import json

    from devfactory.graph.stage.build_loop.model_tests import tests_request
    from devfactory.models.server_chat import json_schema_grammar
    from devfactory.settings import get_settings
    from devfactory.software.requirement import read_requirement
    from devfactory.software.skeleton import Unit, UnitKind

    settings = get_settings().with_overrides(behaviour_test_values="json")
    unit = Unit("tie", UnitKind.FUNCTION, (WRAPS,))

    def request(source: str) -> tuple[dict[str, object], str, str]:
        asked = tests_request(REQUIREMENT, read_requirement(REQUIREMENT), source, unit, settings,
                              "QA")  # fmt: skip
        arguments = asked.schema["properties"]["tests"]["items"]["properties"]["arguments"]
        grammar = json_schema_grammar(json.dumps(asked.schema, sort_keys=True))
        return arguments, grammar, str(asked.messages[-1].content)

    body = "    raise NotImplementedError\n"
    two, grammar, prompt = request(f"def tie(text: str, by: str) -> str:\n{body}")
    assert (two["minItems"], two["maxItems"]) == (2, 2)
    assert "takes exactly 2 arguments, in this order: `text`, `by`" in prompt
    # the grammar admits two values and no third (llama.cpp writes the bound out)
    arguments_rule = next(
        r for r in grammar.splitlines() if r.startswith("tests-item-arguments ::=")
    )
    assert arguments_rule.count('"," space') == 1, arguments_rule
    many, _, prompt = request(f"def tie(rope: str, *knots: int) -> str:\n{body}")
    assert many["minItems"] == 1 and "maxItems" not in many  # a *args has no bound
    assert "takes 1 or more arguments, in this order: `rope`, `*knots`" in prompt


@pytest.mark.parametrize("values", ["json", "literal"])
def test_a_tests_values_text_is_bounded_in_the_grammar_itself(values: str) -> None:
    # a model repeating lines inside an argument until the token limit would leave no test
    import json

    from devfactory.graph.stage.build_loop.model_tests import tests_request
    from devfactory.models.server_chat import json_schema_grammar
    from devfactory.settings import get_settings
    from devfactory.software.requirement import read_requirement
    from devfactory.software.skeleton import Unit, UnitKind

    settings = get_settings().with_overrides(
        behaviour_test_values=values, behaviour_test_value_chars=57
    )
    source = "def tie(text: str, by: str) -> str:\n    raise NotImplementedError\n"
    asked = tests_request(REQUIREMENT, read_requirement(REQUIREMENT), source,
                          Unit("tie", UnitKind.FUNCTION, (WRAPS,)), settings, "QA")  # fmt: skip
    fields = asked.schema["properties"]["tests"]["items"]["properties"]
    validator = Draft202012Validator(asked.schema)
    arguments = [["a" * 57, "b"], ["a" * 58, "b"]] if values == "json" else ["a" * 57, "a" * 58]
    replies = [
        {"tests": [{"sentence": WRAPS, "arguments": a, "expected": "x", "raises": ""}]}
        for a in arguments
    ]
    assert validator.is_valid(replies[0]) and not validator.is_valid(replies[1])
    long_result = {"tests": [{**replies[0]["tests"][0], "expected": "e" * 58}]}
    assert not validator.is_valid(long_result)
    if values == "json":  # no bound on the other types a value may be
        assert validator.is_valid({"tests": [{**replies[0]["tests"][0], "arguments": [1, 2]}]})
    grammar = json_schema_grammar(json.dumps(asked.schema, sort_keys=True))
    assert grammar.count("{0,57}") == 2, grammar  # the converter writes the bound out
    assert "sentence" not in [k for k, v in fields.items() if "maxLength" in json.dumps(v)]


def test_the_tests_request_says_what_the_tools_say_of_the_unit_below_its_signature() -> None:
    from devfactory.graph.stage.build_loop.model_tests import tests_request
    from devfactory.settings import get_settings
    from devfactory.software.requirement import read_requirement
    from devfactory.software.skeleton import Unit, UnitKind

    settings = get_settings()
    source = "def tie(rope: str, turns: int = 1) -> str:\n    raise NotImplementedError\n"
    told = ("`rope` is the whole input, already read.", "`turns` is the option --turns.")
    plain, said = (
        str(tests_request(REQUIREMENT, read_requirement(REQUIREMENT), source, unit, settings,
                          "QA").messages[-1].content)
        for unit in (Unit("tie", UnitKind.FUNCTION, (WRAPS,)),
                     Unit("tie", UnitKind.COMMAND, (WRAPS,), told))
    )  # fmt: skip

    signature = "`def tie(rope: str, turns: int=1) -> str:`"  # as ast.unparse writes it
    assert f"## The function\n{signature}\n\nWhat the requirement says of it:" in plain
    assert f"## The function\n{signature}\n{told[0]}\n{told[1]}\n\nWhat the" in said
    assert said.replace(f"\n{told[0]}\n{told[1]}", "") == plain


def test_the_tests_request_sees_a_long_requirement_as_far_as_its_budget() -> None:
    from devfactory.graph.stage.build_loop.model_tests import tests_request
    from devfactory.memory.packing import approx_tokens
    from devfactory.settings import get_settings
    from devfactory.software.requirement import read_requirement
    from devfactory.software.skeleton import Unit, UnitKind

    settings = get_settings().with_overrides(requirement_tokens=300)
    long = REQUIREMENT + "".join(
        f"\n\n## Note {n}\n" + "Ropes are sold by length. " * 40 for n in range(9)
    )
    source = "def tie(rope: str, turns: int = 1) -> str:\n    raise NotImplementedError\n"
    unit = Unit("tie", UnitKind.FUNCTION, (WRAPS,))
    asked = tests_request(long, read_requirement(long), source, unit, settings, "QA")
    prompt = str(asked.messages[-1].content)
    assert approx_tokens(long) > 2000 and "## Note 8" not in prompt
    assert REQUIREMENT.strip().splitlines()[0] in prompt  # the overview is kept
    assert approx_tokens(prompt) < 300 + 600
