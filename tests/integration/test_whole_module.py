"""The module written whole in one reply competes with the unit-by-unit build, and is delivered
when the plan blocks: a scripted model and the real sandbox.

The whole-module call is told apart by its one-line system prompt (``Call.kind``
"whole"); every other call is scripted as in ``test_build_loop``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from pydantic import ValidationError

from devfactory.factory.facade import Factory, RunReport
from devfactory.factory.intake import StartRequest
from devfactory.graph.stage.build_loop.whole import NOT_ACCEPTED
from devfactory.settings import Settings
from tests.fakes import Call, ScriptedModels, always_good, good_report

REQUIREMENT = """# doubler

Build a Python module `doubler` with one function `double(n: int) -> int` that returns
twice `n`. Standard library only.

Examples: `double(2)` is `4`; `double(-3)` is `-6`.
"""
RIGHT = "```python\ndef double(n: int) -> int:\n    return n * 2\n```"
OFF_BY_ONE = "```python\ndef double(n: int) -> int:\n    return n * 2 + 1\n```"
HALF_RIGHT = "```python\ndef double(n: int) -> int:\n    return 4 if n == 2 else 0\n```"
WHOLE = (  # a whole module, as one call writes it: a docstring, a helper, its own function
    '```python\n"""Double numbers."""\n\n\ndef _twice(n):\n    return n + n\n\n\n'
    "def double(n: int) -> int:\n    return _twice(n)\n```"
)
QA_TESTS = "from doubler import double\n\n\ndef test_double():\n    assert double(5) == 10\n"


@pytest.fixture
def settings(pg_settings: Settings) -> Settings:
    return pg_settings.with_overrides(run_code=True, candidates=2, repair_rounds=0)


def script(unit: str, whole: Callable[[Call], str]) -> Callable[[Call], str]:
    def answer(call: Call) -> str:
        if call.kind == "unit":
            return unit
        if call.kind == "whole":
            return whole(call)
        if call.kind == "draft" and call.path == "tests/test_doubler.py":
            return QA_TESTS
        if call.kind == "report":
            return json.dumps(good_report(call.spec))
        return always_good(call)

    return answer


def wholes(models: ScriptedModels) -> list[Call]:
    return [c for c in models.chat.calls if c.kind == "whole"]


def backend_notes(report) -> str:
    return " ".join(r for rec in report.records if rec.team == "backend-engineering"
                    for r in rec.repairs)  # fmt: skip


def test_a_whole_module_that_passes_more_examples_is_delivered_over_the_units(
    settings: Settings, tmp_path: Path
) -> None:
    models = ScriptedModels(script(OFF_BY_ONE, lambda call: WHOLE))
    with Factory(settings, models=models) as factory:
        report = factory.start(StartRequest(REQUIREMENT, pipeline="lean", out_dir=tmp_path / "out"))
    assert report.status == "COMPLETED", report.reason
    assert "return _twice(n)" in (tmp_path / "out" / "doubler.py").read_text()
    [asked] = wholes(models)  # one call per module and attempt: the first attempt passed
    assert str(asked.messages[0].content).startswith("You are an expert Python programmer.")
    assert "Write the complete Python module `doubler.py`." in asked.prompt
    assert "It is a library, imported as `doubler`. It defines `double`." in asked.prompt
    assert "one ```python code block holding the whole module" in asked.prompt
    notes = backend_notes(report)
    assert (
        "whole module: passes 2/2 examples, 0/0 behaviour tests; kept over the "
        "unit-by-unit build (0/2 examples, 0/0 behaviour tests)" in notes
    ), notes


def test_the_units_are_delivered_when_the_whole_module_does_worse(
    settings: Settings, tmp_path: Path
) -> None:
    models = ScriptedModels(script(RIGHT, lambda call: HALF_RIGHT))
    with Factory(settings, models=models) as factory:
        report = factory.start(StartRequest(REQUIREMENT, pipeline="lean", out_dir=tmp_path / "out"))
    assert report.status == "COMPLETED", report.reason
    assert "return n * 2\n" in (tmp_path / "out" / "doubler.py").read_text()
    assert len(wholes(models)) == 1
    notes = backend_notes(report)
    assert (
        "whole module: passes 1/2 examples, 0/0 behaviour tests; the unit-by-unit build "
        "kept (2/2 examples, 0/0 behaviour tests)" in notes
    ), notes


TWO = REQUIREMENT.replace(
    "one function `double(n: int) -> int` that returns\ntwice `n`.",
    "two functions: `double(n: int) -> int` returns twice `n`, and\n"
    "`triple(n: int) -> int` returns three times `n`.",
).replace("`double(-3)` is `-6`.", "`triple(2)` is `6`.")
TRIPLE_WRONG = "```python\ndef triple(n: int) -> int:\n    return n * 4\n```"
HALF_AND_HALF = (  # the whole module's `double` is wrong, its `triple` right
    "```python\nFACTOR = 3\n\n\ndef double(n: int) -> int:\n    return n\n\n\n"
    "def triple(n: int) -> int:\n    return n * FACTOR\n```"
)


def test_a_unit_the_whole_module_writes_better_is_taken_into_the_units(
    settings: Settings, tmp_path: Path
) -> None:
    assert "`triple(2)` is `6`" in TWO

    def units(call: Call) -> str:
        return RIGHT if call.path == "double" else TRIPLE_WRONG

    def answer(call: Call) -> str:
        return units(call) if call.kind == "unit" else script(RIGHT, lambda c: HALF_AND_HALF)(call)

    models = ScriptedModels(answer)
    with Factory(settings, models=models) as factory:
        report = factory.start(StartRequest(TWO, pipeline="lean", out_dir=tmp_path / "out"))
    assert report.status == "COMPLETED", report.reason
    source = (tmp_path / "out" / "doubler.py").read_text()
    assert "return n * 2\n" in source  # the units' `double`
    assert "return n * FACTOR" in source and "FACTOR = 3" in source  # the whole's `triple`
    notes = backend_notes(report)
    assert (
        "whole module: passes 1/2 examples, 0/0 behaviour tests; took triple from it into the "
        "unit-by-unit build (1/2 examples, 0/0 behaviour tests), which then passes "
        "2/2 examples, 0/0 behaviour tests" in notes
    ), notes


def test_a_whole_module_missing_a_planned_function_is_no_candidate(
    settings: Settings, tmp_path: Path
) -> None:
    other = "```python\ndef twice(n):\n    return n * 2\n```"
    models = ScriptedModels(script(RIGHT, lambda call: other))
    with Factory(settings, models=models) as factory:
        report = factory.start(StartRequest(REQUIREMENT, pipeline="lean", out_dir=tmp_path / "out"))
    assert report.status == "COMPLETED", report.reason
    assert "whole module: no usable answer (the reply does not define double)" in (
        backend_notes(report)
    )


def test_the_whole_module_calls_are_capped_and_zero_turns_them_off(
    settings: Settings, tmp_path: Path
) -> None:
    for cap, calls in ((0, 0), (3, 3)):
        models = ScriptedModels(script(RIGHT, lambda call: WHOLE))
        capped = settings.with_overrides(whole_module_candidates=cap)
        with Factory(capped, models=models) as factory:
            report = factory.start(
                StartRequest(REQUIREMENT, pipeline="lean", out_dir=tmp_path / f"out{cap}")
            )
        assert report.status == "COMPLETED", report.reason
        assert len(wholes(models)) == calls
        # a tie on every test keeps the units
        assert "return n * 2\n" in (tmp_path / f"out{cap}" / "doubler.py").read_text()
    with pytest.raises(ValidationError):
        settings.with_overrides(whole_module_candidates=4)


UNPLANNED = """# doubler

Build a Python module `doubler` that doubles numbers. It should be fast and well tested.
"""


def plan_blocks(whole: str) -> Callable[[Call], str]:
    def answer(call: Call) -> str:
        if call.kind == "whole":
            return whole
        if call.kind == "report" and call.team == "solution-architecture":
            return json.dumps(good_report(call.spec, confidence=0.1))  # under the threshold
        return always_good(call)

    return answer


def test_a_run_whose_plan_blocks_delivers_the_whole_module_marked_not_accepted(
    settings: Settings, tmp_path: Path
) -> None:
    models = ScriptedModels(plan_blocks(WHOLE))
    blocked = settings.with_overrides(max_human_retries=0, max_stage_attempts=1)
    with Factory(blocked, models=models) as factory:
        report = factory.start(StartRequest(UNPLANNED, pipeline="lean", out_dir=tmp_path / "out"))
    assert report.status == "FAILED"
    assert "solution-architecture" in report.reason
    [asked] = wholes(models)
    assert "It is a library, imported as `doubler`." in asked.prompt
    out = tmp_path / "out"
    assert "return _twice(n)" in (out / "doubler.py").read_text()
    summary = (out / "SUMMARY.md").read_text()
    assert "`doubler.py` (solution-architecture, BLOCKED)" in summary
    assert "NOT accepted" in summary
    recorded = json.loads((out / "run.json").read_text())
    [architect] = [s for s in recorded["stages"] if s["team"] == "solution-architecture"]
    assert f"doubler.py: {NOT_ACCEPTED}" in architect["result"]["assumptions_made"]
    assert any("delivered, NOT accepted (the plan blocked)" in r for r in architect["repairs"])
    assert recorded["usage_by_team"]["solution-architecture"]["calls"] >= 3  # the call counted


def test_a_run_whose_plan_blocks_asks_no_whole_module_when_the_text_names_none(
    settings: Settings, tmp_path: Path
) -> None:
    nameless = "# doubling\n\nBuild something that doubles numbers, fast and well tested.\n"
    models = ScriptedModels(plan_blocks(WHOLE))
    blocked = settings.with_overrides(max_human_retries=0, max_stage_attempts=1)
    with Factory(blocked, models=models) as factory:
        report = factory.start(StartRequest(nameless, pipeline="lean", out_dir=tmp_path / "out"))
    assert report.status == "FAILED"
    assert wholes(models) == []
    recorded = json.loads((tmp_path / "out" / "run.json").read_text())
    [architect] = [s for s in recorded["stages"] if s["team"] == "solution-architecture"]
    assert "whole module: not asked: the requirement names no module" in architect["repairs"]


SHOUTER = """# shouter

Build a Python module `shouter` with one function `shout(text: str) -> str`.
`shout` returns the text in upper case with one exclamation mark added at its end.
Standard library only.
"""
SAID = "`shout` returns the text in upper case with one exclamation mark added at its end."


LOUD = "```python\ndef shout(text: str) -> str:\n    return f'{text.upper()}!'\n```"


def shouted(settings: Settings, out: Path, expected: tuple[str, str], units: str) -> RunReport:
    """Run SHOUTER: the model's two tests expect ``expected``; the units write ``units``, the
    whole module LOUD."""
    made = [
        {"sentence": SAID, "arguments": [a], "expected": e, "raises": ""}
        for a, e in zip(("hi", "a b"), expected, strict=True)
    ]  # JSON values

    def answer(call: Call) -> str:
        if call.kind == "tests":
            return json.dumps({"tests": made})
        return script(units, lambda c: LOUD)(call)

    with Factory(settings, models=ScriptedModels(answer)) as factory:
        return factory.start(StartRequest(SHOUTER, pipeline="lean", out_dir=out))


def test_a_whole_module_wins_on_the_models_tests_the_units_fail_and_qa_starts_from_them(
    settings: Settings, tmp_path: Path
) -> None:
    quiet = "```python\ndef shout(text: str) -> str:\n    return text + '!'\n```"
    out = tmp_path / "out"
    report = shouted(settings, out, ("HI!", "A B!"), quiet)
    assert report.status == "COMPLETED", report.reason
    assert "return f'{text.upper()}!'" in (out / "shouter.py").read_text()
    notes = backend_notes(report)
    assert (
        "whole module: passes 0/0 examples, 2/2 behaviour tests; kept over the unit-by-unit "
        "build (0/0 examples, 0/2 behaviour tests (2 ending in kind))" in notes
    ), notes
    agreed = (out / "tests" / "test_agreed_behaviour.py").read_text()
    assert "assert shout('hi') == 'HI!'" in agreed and "assert shout('a b') == 'A B!'" in agreed


def test_where_every_expected_value_is_wrong_a_whole_module_answering_beats_units_refusing(
    settings: Settings, tmp_path: Path
) -> None:
    refuses = "```python\ndef shout(text: str) -> str:\n    raise ValueError(text)\n```"
    out = tmp_path / "out"
    report = shouted(settings, out, ("nope", "nope"), refuses)  # neither expected value right
    assert "return f'{text.upper()}!'" in (out / "shouter.py").read_text()
    notes = backend_notes(report)
    assert (
        "whole module: passes 0/0 examples, 0/2 behaviour tests (2 ending in kind); kept over "
        "the unit-by-unit build (0/0 examples, 0/2 behaviour tests (0 ending in kind))" in notes
    ), notes


FILTER = """# upcase

Build a command-line program, run as `python -m upcase FILE [--output OUT]`, that prints
a UTF-8 text file in upper case. Exit codes: 0 on success; 1 when FILE cannot be read;
2 on usage errors. Standard library only.
"""
WHOLE_CLI = """```python
import argparse
import sys


def main(argv=None):
    parser = argparse.ArgumentParser(prog="upcase")
    parser.add_argument("file", metavar="FILE")
    parser.add_argument("--output", metavar="OUT")
    args = parser.parse_args(argv)
    try:
        with open(args.file, encoding="utf-8") as handle:
            text = handle.read()
    except OSError as exc:
        print(f"upcase: {exc}", file=sys.stderr)
        return 1
    print(text.upper(), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
```"""


def test_a_whole_command_line_beats_units_left_a_stub(settings: Settings, tmp_path: Path) -> None:
    stub = "```python\ndef transform(text: str) -> str:\n    raise NotImplementedError\n```"
    models = ScriptedModels(script(stub, lambda call: WHOLE_CLI))
    with Factory(settings.with_overrides(max_human_retries=0), models=models) as factory:
        report = factory.start(StartRequest(FILTER, pipeline="lean", out_dir=tmp_path / "out"))
    [asked] = wholes(models)
    assert "It is run as `python -m upcase`" in asked.prompt
    assert "print(text.upper()" in (tmp_path / "out" / "upcase.py").read_text()
    notes = backend_notes(report)
    assert (
        "whole module: passes 3/3 examples, 0/0 behaviour tests; kept over the unit-by-unit "
        "build (3/3 examples, 0/0 behaviour tests, a unit left a stub)" in notes
    ), notes
