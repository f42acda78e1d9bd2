"""A tests' team's test kept through its attempts: its failing assertion is the code's to fix."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from devfactory.checks.code.blame import KEPT, arbitrate, asserted, settled_tests
from devfactory.contracts import Artifact, ArtifactKind, StageOutcome, StageRecord, TaskResult
from devfactory.graph.stage.build_loop.trials import KeptTests, Trial, TrialRunner
from devfactory.graph.state import kept_files
from devfactory.sandbox.junit import TestCase
from devfactory.software.examples import PATH as EXAMPLES_PATH
from devfactory.software.plan import BuildPlan
from devfactory.software.skeleton import Unit, UnitKind

TESTS = "tests/test_sizes.py"
PLAN = BuildPlan.model_validate(
    {
        "kind": "library",
        "summary": "Formats sizes.",
        "files": [
            {"path": "sizes.py", "role": "code", "owner": "backend-engineering", "purpose": "it"},
            {"path": TESTS, "role": "tests", "owner": "qa-engineering", "purpose": "tests"},
        ],
        "test_command": "pytest -q",
    }
)
TEST_SOURCE = """from sizes import format_size, parse_size


def test_zero_bytes():
    assert format_size(0) == "0 B"


class TestParse:
    def test_kilobytes(self):
        assert parse_size("1 kB") == 1000


def test_runs_as_a_command():
    import subprocess, sys
    subprocess.run([sys.executable, "-m", "sizes"], check=True)


def helper():
    return format_size(1)
"""


def failed(message: str, name: str = "test_zero_bytes") -> TestCase:
    return TestCase(
        nodeid=f"{TESTS}::{name}",
        file=TESTS,
        name=name,
        outcome="failed",
        message=message,
        traceback=f"{TESTS}:5: in {name}\n    assert format_size(0) == '0 B'\nE   {message}",
    )


WRONG_RESULT = failed("AssertionError: assert '0.0 B' == '0 B'")


def test_a_kept_tests_failing_assertion_is_the_codes_with_a_note_saying_so(tmp_path: Path) -> None:
    (tmp_path / "tests").mkdir()
    (tmp_path / TESTS).write_text(TEST_SOURCE)
    settled = settled_tests(PLAN, ["qa-engineering"])
    assert settled == {TESTS}
    path, note = arbitrate(WRONG_RESULT, [WRONG_RESULT], PLAN, tmp_path, (), settled)
    assert (path, note) == ("sizes.py", KEPT)
    assert PLAN.owner_of(path) == "backend-engineering"
    # before its team has had its attempts the test is its author's to check
    assert arbitrate(WRONG_RESULT, [WRONG_RESULT], PLAN, tmp_path) == (TESTS, "")


def test_a_kept_test_that_breaks_before_its_assertion_stays_its_authors(tmp_path: Path) -> None:
    settled = frozenset({TESTS})
    wrong_call = failed("TypeError: format_size() takes 1 positional argument but 2 were given")
    assert not asserted(wrong_call)
    assert arbitrate(wrong_call, [wrong_call], PLAN, tmp_path, (), settled) == (TESTS, "")
    errored = TestCase(nodeid=TESTS, file=TESTS, name="x", outcome="error", message="assert 0")
    assert not asserted(errored)  # an error (a fixture, the file's import) is no assertion


def test_a_kept_test_beside_examples_that_vouch_for_the_code_still_goes_to_its_author(
    tmp_path: Path,
) -> None:
    example = TestCase(
        nodeid=f"{EXAMPLES_PATH}::test_format_size", file=EXAMPLES_PATH, name="test_format_size",
        outcome="passed",
    )  # fmt: skip
    cases = [example, WRONG_RESULT]
    path, note = arbitrate(WRONG_RESULT, cases, PLAN, tmp_path, {"test_format_size"}, {TESTS})
    assert path == TESTS and note.startswith("the code passes every one of the requirement's")


def test_only_a_team_that_writes_no_code_keeps_tests_for_another() -> None:
    assert settled_tests(PLAN, ["backend-engineering"]) == frozenset()
    both = BuildPlan.model_validate(
        {
            **PLAN.model_dump(mode="json"),
            "files": [
                {"path": path, "role": role, "owner": "backend-engineering", "purpose": "x"}
                for path, role in (("sizes.py", "code"), (TESTS, "tests"))
            ],
        }
    )
    assert settled_tests(both, ["backend-engineering"]) == frozenset()  # it fixes either


def record(team: str, path: str, outcome: StageOutcome = StageOutcome.PASSED) -> StageRecord:
    art = Artifact(path=path, kind=ArtifactKind.PYTHON, content=f"# {team}\n")
    result = TaskResult(status="COMPLETE", confidence=0.9, reasoning="r", artifacts=[art])
    return StageRecord(team=team, outcome=outcome, result=result)


def test_a_fix_round_lays_out_the_files_of_the_teams_that_keep_their_record() -> None:
    kept: Any = {
        "backend-engineering": record("backend-engineering", "sizes.py"),
        "qa-engineering": record("qa-engineering", TESTS),
        "documentation": record("documentation", "README.md"),
        "ux-ui-design": record("ux-ui-design", "ux.md", StageOutcome.SKIPPED),
    }
    state: Any = {
        "fix_round": 1,
        "fixes": {"backend-engineering": ["sizes.py [tests]: ..."], "documentation": ["x"]},
        "kept_stages": kept,
    }
    files, teams = kept_files(state, "backend-engineering")
    assert teams == ["qa-engineering"]  # not the team itself, nor one that redrafts
    assert files == {TESTS: "# qa-engineering\n"}
    assert kept_files({**state, "fix_round": 0}, "backend-engineering") == ({}, [])


def test_kept_tests_are_about_the_units_they_call_and_a_command_about_what_calls_none() -> None:
    kept = KeptTests.of({TESTS: TEST_SOURCE, "tests/broken.py": "def test_x(:\n"})
    assert set(kept.files) == {TESTS}  # one that does not parse says nothing
    assert set(kept.calls) == {
        f"{TESTS}::test_zero_bytes",
        f"{TESTS}::test_kilobytes",
        f"{TESTS}::test_runs_as_a_command",
    }
    kept.judging = set(kept.calls)
    names = frozenset({"format_size", "parse_size", "main"})
    fmt = Unit("format_size", UnitKind.FUNCTION, ())
    main = Unit("main", UnitKind.COMMAND, ())
    whole = Unit("sizes", UnitKind.MODULE, ())
    assert kept.about(fmt, names) == [f"{TESTS}::test_zero_bytes"]
    assert kept.about(main, names) == [f"{TESTS}::test_runs_as_a_command"]
    assert kept.about(whole, names) == sorted(kept.calls)
    kept.judging = {f"{TESTS}::test_kilobytes"}  # one that broke before its assertion: left out
    assert kept.about(fmt, names) == []


def test_a_trial_knows_a_kept_test_by_its_file_and_an_example_by_its_name() -> None:
    kept = KeptTests.of({TESTS: TEST_SOURCE})
    example = TestCase(nodeid="x", file=EXAMPLES_PATH, name="test_format_size[1]", outcome="passed")
    assert kept.key(example) == "test_format_size[1]"  # an example's name, as it always was
    param = TestCase(nodeid="y", file=TESTS, name="test_zero_bytes[1]", outcome="failed")
    assert kept.key(param) == f"{TESTS}::test_zero_bytes"
    runner = TrialRunner(None, None, None, "sizes", kept)
    fmt = Unit("format_size", UnitKind.FUNCTION, ())
    assert not runner.judges(fmt)  # nothing judges until the kept tests were run once
    assert runner.keep_judging("def format_size(n):\n    return ''\n", [fmt]) == []  # no sandbox
    runner.kept.judging = {f"{TESTS}::test_zero_bytes"}
    assert runner.judges(fmt) and runner.kept.about(fmt, runner.units) == [
        f"{TESTS}::test_zero_bytes"
    ]
    assert runner._names(fmt) == []  # the examples: none here


def test_a_trial_ranks_the_requirements_examples_above_the_kept_tests() -> None:
    both = Trial("a", passed=2, total=2, kept=0, kept_total=1)
    kept_only = Trial("b", passed=1, total=2, kept=1, kept_total=1)
    assert both.score > kept_only.score  # a kept test never outweighs an example
    assert not both.perfect and not kept_only.perfect  # each fails something of its unit
    assert Trial("c", passed=2, total=2, kept=1, kept_total=1).perfect
    assert Trial("d", kept=1, kept_total=1).perfect  # kept tests alone judge a unit too
    assert not Trial("e").perfect  # nothing judged it


def test_the_build_loop_runs_the_kept_tests_but_not_the_examples_a_second_time() -> None:
    from types import SimpleNamespace

    from devfactory.graph.stage.build_loop.build import _kept_tests

    plan = BuildPlan.model_validate(
        {
            **PLAN.model_dump(mode="json"),
            "files": [
                *PLAN.model_dump(mode="json")["files"],
                {"path": EXAMPLES_PATH, "role": "tests", "owner": "qa-engineering", "purpose": "x"},
            ],
        }
    )
    qa = record("qa-engineering", TESTS)
    assert qa.result is not None
    qa.result.artifacts.append(
        Artifact(path=EXAMPLES_PATH, kind=ArtifactKind.PYTHON, content="# examples\n")
    )
    state = {
        "fix_round": 1,
        "fixes": {"backend-engineering": ["x"]},
        "kept_stages": {"qa-engineering": qa},
    }
    spec = SimpleNamespace(slug="backend-engineering")
    settings = SimpleNamespace(generation=SimpleNamespace(kept_tests_to_code=True))
    work: Any = SimpleNamespace(
        plan=plan, state=state, setup=SimpleNamespace(spec=spec), settings=settings
    )
    assert _kept_tests(work) == {TESTS: "# qa-engineering\n"}
    settings.generation.kept_tests_to_code = (
        False  # the setting off: the loop runs the examples alone
    )
    assert _kept_tests(work) == {}
    settings.generation.kept_tests_to_code = True
    work.state = {**state, "fix_round": 0}
    assert _kept_tests(work) == {}
