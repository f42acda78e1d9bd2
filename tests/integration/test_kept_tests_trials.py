"""A fix round's trials run the tests a tests' team kept, in the real sandbox.

A kept test that fails on its assertion judges the unit it calls (what the
round is to fix); one that passes judges it too (what must stay right); one
that breaks before its assertion says nothing of the code and is left out.
"""

from __future__ import annotations

import pytest

from devfactory.graph.stage.build_loop.trials import TrialRunner
from devfactory.sandbox.runner import Limits, Sandbox
from devfactory.software.skeleton import Unit, UnitKind
from tests.unit.test_kept_tests import PLAN, TESTS  # the library and QA's tests file

LIMITS = Limits(
    cpu_seconds=30, memory_mb=1024, processes=32, wall_seconds=60, output_chars=5000, file_size_mb=8
)
KEPT = """from sizes import format_size, parse_size


def test_zero_is_whole_bytes():
    assert format_size(0) == "0 B"


def test_parses_kilobytes():
    assert parse_size("1 kB") == 1000


def test_calls_it_wrongly():
    assert format_size(0, "B", "extra") == "0 B"
"""
BUGGY = """def format_size(n):
    return f"{float(n)} B"


def parse_size(text):
    return int(text.split()[0]) * 1000
"""
FIXED = BUGGY.replace('f"{float(n)} B"', 'f"{n} B"')
UNITS = [Unit("format_size", UnitKind.FUNCTION, ()), Unit("parse_size", UnitKind.FUNCTION, ())]


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Sandbox:
    box = Sandbox(mode="bwrap", cache_dir=tmp_path_factory.mktemp("cache"), limits=LIMITS)
    box.check()
    return box


def test_the_kept_tests_judge_the_units_they_call_and_a_broken_one_is_left_out(
    sandbox: Sandbox,
) -> None:
    runner = TrialRunner.open(sandbox, PLAN, None, {TESTS: KEPT})
    assert runner.keep_judging(BUGGY, UNITS) == [f"{TESTS}::test_zero_is_whole_bytes"]
    assert runner.kept.judging == {
        f"{TESTS}::test_zero_is_whole_bytes",
        f"{TESTS}::test_parses_kilobytes",
    }  # the TypeError before its assertion says nothing of the code
    fmt, parse = UNITS
    wrong = runner.trial(BUGGY, fmt)
    assert (wrong.kept, wrong.kept_total, wrong.perfect) == (0, 1, False)
    assert "0.0 B" in wrong.failures[0] and 'format_size(0) == "0 B"' in wrong.failures[0]
    right = runner.trial(FIXED, fmt)
    assert right.perfect and (right.kept, right.kept_total) == (1, 1)
    assert right.score > wrong.score
    assert runner.trial(BUGGY, parse).perfect  # the unit the failing test does not call
