"""The build loop with a scripted model and the real sandbox: sample, run, select, repair.

A small library requirement whose words settle the plan (so tools plan it and
write its skeleton and example tests); the scripted model answers each unit
request with a candidate chosen by the test. Every candidate runs in the
bubblewrap sandbox against the requirement's own examples.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from devfactory.contracts import MAX_ARTIFACT_CHARS
from devfactory.factory.facade import Factory
from devfactory.factory.intake import StartRequest
from devfactory.repos.workspace import Workspace
from devfactory.settings import Settings
from devfactory.software.kinds import skeleton
from devfactory.software.requirement import read_requirement
from tests.fakes import Call, ScriptedModels, always_good, good_report

REQUIREMENT = """# doubler

Build a Python module `doubler` with one function `double(n: int) -> int` that returns
twice `n`. Standard library only.

Examples: `double(2)` is `4`; `double(-3)` is `-6`.
"""
RIGHT = "```python\ndef double(n: int) -> int:\n    return n * 2\n```"
OFF_BY_ONE = "```python\ndef double(n: int) -> int:\n    return n * 2 + 1\n```"
HALF_RIGHT = "```python\ndef double(n: int) -> int:\n    return 4 if n == 2 else 0\n```"
QA_TESTS = "from doubler import double\n\n\ndef test_double():\n    assert double(5) == {}\n"


@pytest.fixture
def settings(pg_settings: Settings) -> Settings:
    return pg_settings.with_overrides(run_code=True, candidates=3, repair_rounds=1)


def script(
    units: Callable[[Call], str],
    qa: Callable[[Call], str] | None = None,
    tests: Callable[[Call], str] | None = None,
):
    def answer(call: Call) -> str:
        if call.kind == "unit":
            return units(call)
        if call.kind == "tests" and tests is not None:  # the model's tests of one unit
            return tests(call)
        if call.kind == "draft" and call.path.startswith("tests/") and qa is not None:
            return qa(call)
        if call.kind == "draft" and call.path == "tests/test_doubler.py":
            return QA_TESTS.format(10)
        if call.kind == "report":
            return json.dumps(good_report(call.spec))
        return always_good(call)

    return answer


def run(settings: Settings, tmp_path: Path, models: ScriptedModels):
    with Factory(settings, models=models) as factory:
        return factory.start(StartRequest(REQUIREMENT, pipeline="lean", out_dir=tmp_path / "out"))


def units_asked(models: ScriptedModels) -> list[Call]:
    return [c for c in models.chat.calls if c.kind == "unit"]


def test_the_plan_skeleton_and_examples_are_made_by_tools(
    settings: Settings, tmp_path: Path
) -> None:
    models = ScriptedModels(script(lambda call: RIGHT))
    report = run(settings, tmp_path, models)
    assert report.status == "COMPLETED", report.reason
    architects = [c for c in models.chat.calls if c.team == "solution-architecture"]
    assert architects == []  # the plan, its overview and its report: no model call
    out = tmp_path / "out"
    plan = json.loads((out / "architecture" / "plan.json").read_text())
    assert [f["path"] for f in plan["files"]] == [
        "doubler.py",
        "tests/test_requirement_examples.py",
        "tests/test_agreed_behaviour.py",  # the model's tests of `double` the code passes
        "tests/test_doubler.py",
    ]
    examples = (out / "tests" / "test_requirement_examples.py").read_text()
    assert "assert double(2) == 4" in examples and "`double(-3)` is `-6`" in examples
    assert "return n * 2" in (out / "doubler.py").read_text()
    # the scripted model wrote no behaviour test: the examples alone chose, and QA's
    # starting tests say that none agreed
    agreed = (out / "tests" / "test_agreed_behaviour.py").read_text()
    assert agreed.startswith('"""No test the model wrote') and "def test" not in agreed
    [backend] = [r for r in report.records if r.team == "backend-engineering"]
    assert any("double: no behaviour test could be used" in r for r in backend.repairs)


def test_of_three_candidates_the_one_passing_the_examples_is_kept(
    settings: Settings, tmp_path: Path
) -> None:
    drawn = [OFF_BY_ONE, RIGHT, HALF_RIGHT]
    models = ScriptedModels(script(lambda call: drawn[call.n % 3]))
    report = run(settings, tmp_path, models)
    assert report.status == "COMPLETED", report.reason
    assert "return n * 2\n" in (tmp_path / "out" / "doubler.py").read_text()
    assert len(units_asked(models)) == 2  # the second passed every example: no third drawn


SLOPPY = (  # passes every example, but names what nobody defined on a path they miss
    "```python\ndef double(n: int) -> int:\n    if n > 10**9:\n"
    "        return undefined_total\n    return n * 2\n```"
)


def test_a_candidate_the_linter_refuses_does_not_stop_the_drawing_and_loses_a_tie(
    settings: Settings, tmp_path: Path
) -> None:
    drawn = [SLOPPY, RIGHT, SLOPPY]
    models = ScriptedModels(script(lambda call: drawn[call.n % 3]))
    report = run(settings, tmp_path, models)
    assert report.status == "COMPLETED", report.reason
    source = (tmp_path / "out" / "doubler.py").read_text()
    assert "return n * 2\n" in source and "undefined_total" not in source
    assert len(units_asked(models)) == 2  # the clean one passed everything: no third drawn


def test_lint_findings_are_shown_to_a_repair(settings: Settings, tmp_path: Path) -> None:
    def units(call: Call) -> str:
        return RIGHT if "did wrong" in call.prompt else SLOPPY

    models = ScriptedModels(script(units))
    report = run(settings, tmp_path, models)
    assert report.status == "COMPLETED", report.reason
    [repair] = [c for c in units_asked(models) if "did wrong" in c.prompt]
    assert "F821 Undefined name `undefined_total`" in repair.prompt
    assert "undefined_total" not in (tmp_path / "out" / "doubler.py").read_text()


def test_a_repair_shown_the_failing_assertion_passes(settings: Settings, tmp_path: Path) -> None:
    def units(call: Call) -> str:
        return RIGHT if "What your previous `double` did wrong" in call.prompt else OFF_BY_ONE

    models = ScriptedModels(script(units))
    report = run(settings, tmp_path, models)
    assert report.status == "COMPLETED", report.reason
    [repair] = [c for c in units_asked(models) if "did wrong" in c.prompt]
    assert "assert 5 == 4" in repair.prompt or "double(2) == 4" in repair.prompt
    assert "return n * 2\n" in (tmp_path / "out" / "doubler.py").read_text()


def test_a_later_attempts_fresh_candidates_are_not_shown_the_earlier_body(
    settings: Settings, tmp_path: Path
) -> None:
    def units(call: Call) -> str:  # wrong while the earlier body is in sight, right without it
        return OFF_BY_ONE if "n * 2 + 1" in call.prompt or call.n < 4 else RIGHT

    models = ScriptedModels(script(units))
    report = run(settings, tmp_path, models)
    assert report.status == "COMPLETED", report.reason
    asked = units_asked(models)
    assert len(asked) >= 5  # attempt 1: 3 candidates and a repair; then attempt 2
    later = asked[4:]
    repairs = [c for c in later if "did wrong" in c.prompt]
    fresh = [c for c in later if "did wrong" not in c.prompt]
    assert repairs and all("n * 2 + 1" in c.prompt for c in repairs)  # the repair sees it
    assert fresh and all("n * 2 + 1" not in c.prompt for c in fresh)
    assert all("raise NotImplementedError" in c.prompt for c in fresh)
    assert "return n * 2\n" in (tmp_path / "out" / "doubler.py").read_text()


def test_a_qa_test_contradicting_the_examples_goes_back_to_qa_and_the_code_is_kept(
    settings: Settings, tmp_path: Path
) -> None:
    def qa(call: Call) -> str:
        return QA_TESTS.format(11 if call.n == 0 else 10)  # wrong first, then right

    models = ScriptedModels(script(lambda call: RIGHT, qa))
    report = run(settings, tmp_path, models)
    assert report.status == "COMPLETED", report.reason
    qa_drafts = [c for c in models.chat.calls if c.team == "qa-engineering" and c.kind == "draft"]
    assert len(qa_drafts) == 2
    assert "passes every one of the requirement's own examples" in qa_drafts[1].prompt
    assert len(units_asked(models)) == 1  # the code was never asked for again


QA_MIXED = (
    "from doubler import double\n\n\ndef test_double_five():\n    assert double(5) == 10\n\n\n"
    "def test_double_zero_is_one():\n    assert double(0) == 1\n"
)


@pytest.mark.parametrize(("taken_from", "attempts"), [(1, 1), (2, 2), (0, 2), (5, 2)])
def test_from_the_set_attempt_a_qa_test_contradicting_the_examples_is_taken_out(
    settings: Settings, tmp_path: Path, taken_from: int, attempts: int
) -> None:
    # QA never mends its wrong test: from the attempt the setting names (0, or one past
    # the cap: the last) the test is taken out, the rest kept, and the stage passes on
    # them; the repairs say which test went and why
    models = ScriptedModels(script(lambda call: RIGHT, lambda call: QA_MIXED))
    settings = settings.with_overrides(max_stage_attempts=2, disagreeing_tests_attempt=taken_from)
    report = run(settings, tmp_path, models)
    assert report.status == "COMPLETED", report.reason
    delivered = (tmp_path / "out" / "tests" / "test_doubler.py").read_text()
    assert "def test_double_five" in delivered and "test_double_zero_is_one" not in delivered
    [qa] = [r for r in report.records if r.team == "qa-engineering"]
    assert qa.attempts == attempts  # before that attempt, sent back to mend the test
    assert (
        "tests/test_doubler.py: took out test_double_zero_is_one: it failed on code that "
        "passes every one of the requirement's own examples"
    ) in qa.repairs
    tests = next(c for c in qa.checks if c.name == "tests")
    assert tests.ok and tests.failed == 0


def test_a_qa_file_whose_every_test_contradicts_the_examples_is_not_emptied(
    settings: Settings, tmp_path: Path
) -> None:
    models = ScriptedModels(script(lambda call: RIGHT, lambda call: QA_TESTS.format(11)))
    settings = settings.with_overrides(max_stage_attempts=2, max_human_retries=0)
    report = run(settings, tmp_path, models)
    assert report.status == "FAILED"
    assert "qa-engineering BLOCKED" in report.reason
    assert "assert double(5) == 11" in (tmp_path / "out" / "tests" / "test_doubler.py").read_text()


def test_on_the_last_attempt_an_earlier_attempts_agreeing_tests_replace_all_wrong_ones(
    settings: Settings, tmp_path: Path
) -> None:
    # QA's first file holds one right test beside a wrong one; its last is all wrong: the
    # first attempt's right test is what the stage is judged on, and the repairs say so
    def qa(call: Call) -> str:
        return QA_MIXED if call.n == 0 else QA_TESTS.format(11)

    models = ScriptedModels(script(lambda call: RIGHT, qa))
    last = settings.with_overrides(max_stage_attempts=2, disagreeing_tests_attempt=0)
    report = run(last, tmp_path, models)
    assert report.status == "COMPLETED", report.reason
    delivered = (tmp_path / "out" / "tests" / "test_doubler.py").read_text()
    assert "def test_double_five" in delivered
    assert "test_double_zero_is_one" not in delivered and "== 11" not in delivered
    [qa_record] = [r for r in report.records if r.team == "qa-engineering"]
    assert qa_record.attempts == 2
    assert (
        "tests/test_doubler.py: kept an earlier attempt's version: 1 test of it passed on "
        "code passing every one of the requirement's own examples, 0 tests of this attempt's"
    ) in qa_record.repairs


# a long setup before five assertions: split one assertion per test, the setup is written
# five times, past the characters a file may hold
QA_LONG_SETUP = (
    "from doubler import double\n\n\ndef test_double():\n"
    f"    table = {list(range(700))!r}\n"
    "    assert double(table[1]) == 2\n    assert double(table[2]) == 4\n"
    "    assert double(table[3]) == 6\n    assert double(table[4]) == 8\n"
    "    assert double(table[5]) == 11\n\n\ndef test_double_two():\n    assert double(2) == 4\n"
)


def test_a_split_that_would_pass_the_file_cap_leaves_the_file_whole_and_the_run_finishes(
    settings: Settings, tmp_path: Path
) -> None:
    assert len(QA_LONG_SETUP) < MAX_ARTIFACT_CHARS < 5 * len(QA_LONG_SETUP)
    models = ScriptedModels(script(lambda call: RIGHT, lambda call: QA_LONG_SETUP))
    report = run(settings.with_overrides(max_stage_attempts=2), tmp_path, models)
    assert report.status == "COMPLETED", report.reason  # its files written, run.json too
    [qa_record] = [r for r in report.records if r.team == "qa-engineering"]
    [left] = [r for r in qa_record.repairs if "left as it was" in r]
    assert left.startswith("tests/test_doubler.py: left as it was: rewritten it would hold ")
    assert not any("split test_double" in r for r in qa_record.repairs)
    assert "tests/test_doubler.py: took out test_double: it failed" in " ".join(qa_record.repairs)
    assert qa_record.result is not None  # a model, read back from the run's checkpoint
    assert all(len(a.content) <= MAX_ARTIFACT_CHARS for a in qa_record.result.artifacts)
    delivered = (tmp_path / "out" / "tests" / "test_doubler.py").read_text()
    assert "def test_double_two" in delivered and "def test_double()" not in delivered


QA_CLUMPED = (
    "from doubler import double\n\n\ndef test_double():\n    assert double(5) == 10\n"
    "    assert double(0) == 1\n"
)


def test_taken_out_one_test_of_a_right_and_a_wrong_assertion_keeps_the_right_one(
    settings: Settings, tmp_path: Path
) -> None:
    models = ScriptedModels(script(lambda call: RIGHT, lambda call: QA_CLUMPED))
    report = run(settings.with_overrides(max_stage_attempts=2), tmp_path, models)
    assert report.status == "COMPLETED", report.reason
    delivered = (tmp_path / "out" / "tests" / "test_doubler.py").read_text()
    assert "def test_double_1():\n    assert double(5) == 10" in delivered
    assert "double(0) == 1" not in delivered
    [qa_record] = [r for r in report.records if r.team == "qa-engineering"]
    assert qa_record.repairs[-2:] == [
        "tests/test_doubler.py: split test_double into one test per assertion, to take out "
        "only the assertions that disagree",
        "tests/test_doubler.py: took out test_double_2: it failed on code that passes every "
        "one of the requirement's own examples",
    ]
    tests = next(c for c in qa_record.checks if c.name == "tests")
    assert tests.ok and tests.failed == 0


def test_a_split_that_takes_nothing_out_is_undone_so_the_next_attempt_sees_the_file_as_written(
    settings: Settings, tmp_path: Path
) -> None:
    # both of the one test's assertions are wrong: split, neither piece can go (the file
    # would keep no test), so the team's second attempt is shown its own file, not pieces
    wrong = QA_CLUMPED.replace("double(5) == 10", "double(5) == 11")
    models = ScriptedModels(script(lambda call: RIGHT, lambda call: wrong))
    settings = settings.with_overrides(max_stage_attempts=2, max_human_retries=0)
    report = run(settings, tmp_path, models)
    assert report.status == "FAILED"
    [qa_record] = [r for r in report.records if r.team == "qa-engineering"]
    assert not any("split test_double" in r for r in qa_record.repairs)
    drafts = [c for c in models.chat.calls if c.team == "qa-engineering" and c.kind == "draft"]
    assert len(drafts) == 2
    assert "def test_double():" in drafts[1].prompt and "test_double_1" not in drafts[1].prompt


QA_PARAMETRIZED = (
    "import pytest\n\nfrom doubler import double\n\n\n"
    "@pytest.mark.parametrize('n', [5, 0])\ndef test_double(n):\n    assert double(n) == 10\n"
)


def test_taken_out_a_parametrized_test_keeps_the_values_it_passed_with(
    settings: Settings, tmp_path: Path
) -> None:
    # the only test of QA's file, right for one value and wrong for the other: the wrong
    # value leaves the list, the test stays, and the stage passes on it
    models = ScriptedModels(script(lambda call: RIGHT, lambda call: QA_PARAMETRIZED))
    report = run(settings.with_overrides(max_stage_attempts=2), tmp_path, models)
    assert report.status == "COMPLETED", report.reason
    delivered = (tmp_path / "out" / "tests" / "test_doubler.py").read_text()
    assert "@pytest.mark.parametrize('n', [5])\ndef test_double(n):" in delivered
    [qa_record] = [r for r in report.records if r.team == "qa-engineering"]
    assert qa_record.repairs[-1] == (
        "tests/test_doubler.py: took out test_double[0]: it failed on code that passes every "
        "one of the requirement's own examples"
    )
    tests = next(c for c in qa_record.checks if c.name == "tests")
    assert tests.ok and tests.failed == 0 and tests.passed >= 1


def test_a_failed_run_delivers_the_best_candidate_and_says_it_was_not_accepted(
    settings: Settings, tmp_path: Path
) -> None:
    drawn = [OFF_BY_ONE, HALF_RIGHT, OFF_BY_ONE]
    models = ScriptedModels(script(lambda call: drawn[call.n % 3]))
    report = run(settings.with_overrides(max_human_retries=0), tmp_path, models)
    assert report.status == "FAILED"
    assert "backend-engineering BLOCKED" in report.reason
    out = tmp_path / "out"
    assert "return 4 if n == 2 else 0" in (out / "doubler.py").read_text()  # 1 of 2 examples
    summary = (out / "SUMMARY.md").read_text()
    assert "`doubler.py` (backend-engineering, BLOCKED)" in summary
    assert "NOT accepted" in summary
    log = Workspace(out).log()
    assert any("NOT ACCEPTED" in c.subject and "doubler.py" in c.files for c in log)


def test_a_run_stopped_in_the_middle_of_a_stage_leaves_its_best_version_so_far(
    settings: Settings, tmp_path: Path
) -> None:
    requirement = REQUIREMENT.replace(
        "one function `double(n: int) -> int` that returns\ntwice `n`.",
        "two functions: `double(n: int) -> int` returns twice `n`, and\n"
        "`triple(n: int) -> int` returns three times `n`.",
    )
    assert "triple" in requirement

    def unit(call: Call) -> str:
        if call.path == "triple":
            raise KeyboardInterrupt  # the process is stopped while the second unit is drawn
        return RIGHT

    with (
        Factory(settings, models=ScriptedModels(script(unit))) as factory,
        pytest.raises(KeyboardInterrupt),
    ):
        factory.start(StartRequest(requirement, pipeline="lean", out_dir=tmp_path / "out"))
    out = tmp_path / "out"
    kept = (out / "doubler.py").read_text()  # written as soon as its first unit was kept
    assert "return n * 2" in kept and "def triple" in kept
    assert all("doubler.py" not in c.files for c in Workspace(out).log())  # never committed


FILTER = """# upcase

Build a command-line program, run as `python -m upcase FILE [--output OUT]`, that prints
a UTF-8 text file in upper case. Exit codes: 0 on success; 1 when FILE cannot be read;
2 on usage errors. Standard library only.
"""
TRANSFORM = (  # the body asked for, with a `run` of the model's own that must not be taken
    "```python\nimport sys\n\n\ndef transform(text: str) -> str:\n    return text.upper()\n\n\n"
    "def run(args):\n    print('mine')\n    return 0\n```"
)


def test_a_filter_command_line_asks_the_model_for_its_transform_only(
    settings: Settings, tmp_path: Path
) -> None:
    models = ScriptedModels(script(lambda call: TRANSFORM))
    with Factory(settings.with_overrides(max_human_retries=0), models=models) as factory:
        factory.start(StartRequest(FILTER, pipeline="lean", out_dir=tmp_path / "out"))
    asked = units_asked(models)
    assert asked and {c.path for c in asked} == {"transform"}
    source = (tmp_path / "out" / "upcase.py").read_text()
    assert "return text.upper()" in source
    assert "print('mine')" not in source  # the skeleton's own `run` reads and writes
    assert "text = _read_input(args.file)" in source
    # what tools wrote is private: the interface is main and the transform
    assert "def _run(args: argparse.Namespace) -> int:" in source
    assert "return _run(build_parser().parse_args(argv))" in source


def _values(literal: str) -> Any:
    """Return a Python literal as the JSON value that stands for it (a tuple as a list)."""
    value = ast.literal_eval(literal)
    return [_values(repr(v)) for v in value] if isinstance(value, tuple | list) else value


def _tests(*tests: tuple[str, str, str]) -> str:
    """The model's tests as JSON: (sentence, arguments, expected)."""
    made = [
        {"sentence": q, "arguments": list(_values(a)), "expected": _values(e), "raises": ""}
        for q, a, e in tests
    ]  # the literals written as JSON values, as the model is asked to write them
    return json.dumps({"tests": made})


def test_a_filters_transform_is_chosen_by_agreement_with_the_models_tests(
    settings: Settings, tmp_path: Path
) -> None:
    lower = TRANSFORM.replace("text.upper()", "text.lower()")
    titled = TRANSFORM.replace("text.upper()", "text.title()")
    # the same output as the command writes it: a final newline is added to either
    stripped = TRANSFORM.replace("text.upper()", "text.upper().rstrip()")
    drawn = [lower, TRANSFORM, stripped, titled]  # all pass every example: --help, ...
    said = "prints a UTF-8 text file in upper case"
    models = ScriptedModels(
        script(
            lambda call: drawn[call.n % 4],
            tests=lambda call: _tests((said, "('Some text\\n',)", "'SOME TEXT\\n'")),
        )
    )
    capped = settings.with_overrides(max_human_retries=0, candidates=4)
    with Factory(capped, models=models) as factory:
        factory.start(StartRequest(FILTER, pipeline="lean", out_dir=tmp_path / "out"))
    assert len(units_asked(models)) == 4  # no early stop (no example judges a body), capped
    [asked] = [c for c in models.chat.calls if c.kind == "tests"]
    assert asked.path == "transform" and "`def transform(text: str) -> str:`" in asked.prompt
    assert "return text.upper()" in (tmp_path / "out" / "upcase.py").read_text()


LIBRARY = """# shouter

Build a Python module `shouter` with one function `shout(text: str) -> str`.
`shout` returns the text in upper case with one exclamation mark added at its end.
Standard library only.
"""
SHOUT = "```python\ndef shout(text: str) -> str:\n    return {}\n```"
SAID = "`shout` returns the text in upper case with one exclamation mark added at its end."


def test_candidates_that_disagree_are_chosen_by_dual_agreement_and_qa_starts_from_the_tests(
    settings: Settings, tmp_path: Path
) -> None:
    # no example judges `shout`: the first body is wrong, the other two agree and are right
    drawn = [SHOUT.format('text + "!"'), SHOUT.format('text.upper() + "!"'),
             SHOUT.format('f"{text.upper()}!"')]  # fmt: skip
    tests = _tests(
        (SAID, "('hi',)", "'HI!'"),
        (SAID, "('a b',)", "'A B!'"),
        ("shout shouts loudly at everyone", "('x',)", "'X!'"),  # quotes nothing: dropped
        (SAID, "(1, 2)", "'?'"),  # two arguments: dropped
    )
    models = ScriptedModels(script(lambda call: drawn[call.n % 3], tests=lambda call: tests))
    with Factory(settings, models=models) as factory:
        report = factory.start(StartRequest(LIBRARY, pipeline="lean", out_dir=tmp_path / "out"))
    assert report.status == "COMPLETED", report.reason
    out = tmp_path / "out"
    assert 'return text.upper() + "!"' in (out / "shouter.py").read_text()
    assert len(units_asked(models)) == 3  # every candidate drawn: the model's tests judge them
    agreed = (out / "tests" / "test_agreed_behaviour.py").read_text()
    assert "from shouter import shout\n" in agreed
    assert f"    # {SAID.replace('`', '')}\n    assert shout('hi') == 'HI!'\n" in agreed
    assert "assert shout('a b') == 'A B!'" in agreed and "'X!'" not in agreed
    backend = [r for r in report.records if r.team == "backend-engineering"]
    notes = " ".join(backend[0].repairs) if backend else ""
    assert "2 behaviour test(s) from the model; dropped 2" in notes, notes
    assert "kept candidate 2: 2 agree on the 2 of 2 behaviour test(s)" in notes, notes


def test_where_the_models_tests_all_expect_wrong_values_a_body_that_refuses_them_loses(
    settings: Settings, tmp_path: Path
) -> None:
    # no test passes anyone; the first body raises on every input, the second answers them
    refuses = "```python\ndef shout(text: str) -> str:\n    raise ValueError(text)\n```"
    drawn = [refuses, SHOUT.format('text.upper() + "!"'), SHOUT.format('text + "!"')]
    tests = _tests((SAID, "('hi',)", "'nope'"), (SAID, "('a b',)", "'nope'"))
    models = ScriptedModels(script(lambda call: drawn[call.n % 3], tests=lambda call: tests))
    with Factory(settings, models=models) as factory:
        report = factory.start(StartRequest(LIBRARY, pipeline="lean", out_dir=tmp_path / "out"))
    assert 'return text.upper() + "!"' in (tmp_path / "out" / "shouter.py").read_text()
    backend = [r for r in report.records if r.team == "backend-engineering"]
    notes = " ".join(backend[0].repairs) if backend else ""
    assert "kept candidate 2: 3 agree on the 0 of 2 behaviour test(s)" in notes, notes
    assert "as the tests expect in kind (a value or an error) in 2 of 2" in notes, notes


def test_a_model_that_echoes_the_stub_never_gets_it_accepted(
    settings: Settings, tmp_path: Path
) -> None:
    made = skeleton(read_requirement(FILTER))
    assert made is not None and "    raise NotImplementedError\n" in made.source
    echo = f"```python\n{made.source}```"  # the module it was shown, the stub as it was

    models = ScriptedModels(script(lambda call: echo))
    with Factory(settings.with_overrides(max_human_retries=0), models=models) as factory:
        report = factory.start(StartRequest(FILTER, pipeline="lean", out_dir=tmp_path / "out"))
    assert report.status == "FAILED"
    assert "backend-engineering BLOCKED" in report.reason
    assert "not written: transform" in report.reason
    assert units_asked(models)  # asked, and every candidate dropped
    out = tmp_path / "out"
    summary = (out / "SUMMARY.md").read_text()
    assert "`upcase.py` (backend-engineering, BLOCKED)" in summary
    assert "upcase.py [stubs]: not written: transform" in summary
    recorded = (out / "run.json").read_text()
    assert json.loads(recorded)["status"] == "FAILED"
    assert "candidate(s) still a stub, dropped; not written: transform" in recorded


def test_the_models_tests_are_asked_for_again_only_while_too_few_are_kept(
    settings: Settings, tmp_path: Path
) -> None:
    right = SHOUT.format('text.upper() + "!"')
    replies = [
        _tests((SAID, "('hi',)", "'HI!'")),  # one: fewer than the unit's cap of two
        _tests((SAID, "('hi',)", "'HI!'"), (SAID, "('a b',)", "'A B!'")),  # one repeats
        _tests((SAID, "('c',)", "'C!'")),  # never asked: the cap was reached
    ]
    models = ScriptedModels(script(lambda call: right, tests=lambda call: replies[call.n]))
    capped = settings.with_overrides(behaviour_test_calls=3, behaviour_tests_per_unit=2)
    with Factory(capped, models=models) as factory:
        report = factory.start(StartRequest(LIBRARY, pipeline="lean", out_dir=tmp_path / "out"))
    assert report.status == "COMPLETED", report.reason
    assert len([c for c in models.chat.calls if c.kind == "tests"]) == 2
    agreed = (tmp_path / "out" / "tests" / "test_agreed_behaviour.py").read_text()
    assert agreed.count("def test_shout_") == 2 and "'C!'" not in agreed
    [backend] = [r for r in report.records if r.team == "backend-engineering"]
    notes = " ".join(backend.repairs)
    assert "2 behaviour test(s) from the model; dropped 1: 1 repeating a call" in notes, notes
    assert "kept candidate 1: 3 agree on the 2 of 2 behaviour test(s)" in notes, notes


QA_MOCKLESS = (
    "from doubler import double\n\n\ndef test_double_five():\n    assert double(5) == 10\n\n\n"
    "def test_double_was_called():\n    double(1)\n    assert double.called\n"
)


@pytest.mark.parametrize("off", [(), ("refuted-tests",)])
def test_a_qa_test_reading_a_mock_attribute_from_a_function_is_taken_out_as_refuted(
    settings: Settings, tmp_path: Path, off: tuple[str, ...]
) -> None:
    # `double.called` fails on any code: taken out and named as refuted; with the repair
    # off it goes only as a test disagreeing with the examples (here they vouch)
    models = ScriptedModels(script(lambda call: RIGHT, lambda call: QA_MOCKLESS))
    settings = settings.with_overrides(max_stage_attempts=2, repairs_off=off)
    report = run(settings, tmp_path, models)
    assert report.status == "COMPLETED", report.reason
    delivered = (tmp_path / "out" / "tests" / "test_doubler.py").read_text()
    assert "def test_double_five" in delivered and ".called" not in delivered
    [qa_record] = [r for r in report.records if r.team == "qa-engineering"]
    [note] = [r for r in qa_record.repairs if "took out" in r]
    if off:
        assert note.endswith("requirement's own examples")
    else:
        assert note.startswith("tests/test_doubler.py: took out test_double_was_called: it ")
        assert note.endswith("that is no mock: it fails whatever the code does [refuted-tests]")
