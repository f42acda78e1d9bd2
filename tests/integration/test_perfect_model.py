"""The process loses nothing good: a perfect model's run passes every hidden acceptance test.

A scripted model answers each unit request of the build loop with the case's
reference solution (the definition asked for, with the imports and helpers it
needs; a whole module where the reference has no single definition of the unit),
QA's test file with a small correct test, and every other call as a good model
would. The run, with the real sandbox judging every candidate, must complete with
no stage blocked, and the folder it delivers must pass every acceptance test of
the case, measured as the evaluation measures a run (``eval/measure.py``). A
perfect model must never be refused, repaired into something wrong, or cut off.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from devfactory.contracts import StageOutcome
from devfactory.factory.facade import Factory
from devfactory.factory.intake import StartRequest
from devfactory.graph.stage.build_loop.candidates import whole_module
from devfactory.graph.stage.build_loop.splice import SpliceError
from devfactory.settings import Settings
from devfactory.software.kinds import skeleton
from devfactory.software.requirement import read_requirement
from devfactory.software.skeleton import UnitKind
from eval.catalog import load_cases
from eval.executors import LocalExecutor
from eval.measure import measure
from tests.fakes import ScriptedModels
from tests.perfect import fenced, perfect_script, reference_module

PIPELINE = "mvp"  # the pipeline the evaluation runs (``python -m eval.run``'s default)

# QA's test file per case: one fact the reference (and so the requirement) makes true.
QA_TESTS = {
    "lib-textslug": (
        "from textslug import slugify\n\n\n"
        "def test_punctuation_becomes_one_separator():\n"
        '    assert slugify("Hello, World!") == "hello-world"\n'
    ),
    "lib-intervals": (
        "from intervals import merge, total_length\n\n\n"
        "def test_adjacent_intervals_merge():\n"
        "    assert merge([(4, 6), (1, 3)]) == [(1, 6)]\n"
        "    assert total_length([(1, 3), (2, 5)]) == 5\n"
    ),
    "cli-romanconv": (
        "from romanconv import from_roman, to_roman\n\n\n"
        "def test_round_trip():\n"
        '    assert to_roman(1994) == "MCMXCIV"\n'
        '    assert from_roman("mcmxciv") == 1994\n'
    ),
    "cli-wordcount": (
        "from wordcount import main\n\n\n"
        "def test_one_file_is_counted(tmp_path, capsys):\n"
        '    path = tmp_path / "a.txt"\n'
        '    path.write_text("one two\\n")\n'
        "    assert main([str(path)]) == 0\n"
        '    assert capsys.readouterr().out == f"1 2 8 {path}\\n"\n'
    ),
    "web-todo": (
        "from fastapi.testclient import TestClient\n\n"
        "from todo_api import app\n\n\n"
        "def test_a_created_todo_is_not_done():\n"
        "    client = TestClient(app)\n"
        '    made = client.post("/todos", json={"title": "  milk  "})\n'
        "    assert made.status_code == 201\n"
        '    assert made.json()["title"] == "milk" and made.json()["done"] is False\n'
    ),
}


@pytest.fixture
def settings(pg_settings: Settings) -> Settings:
    return pg_settings.with_overrides(run_code=True, unattended=True)


CASES = list(QA_TESTS)


@pytest.mark.parametrize("case_id", CASES)
def test_a_perfect_model_passes_every_acceptance_test(
    case_id: str, settings: Settings, tmp_path: Path
) -> None:
    [case] = load_cases([case_id])
    assert case.split == "dev"  # never tuned on the held-out cases
    source = reference_module(case.reference_dir, case.module)
    models = ScriptedModels(perfect_script(source, QA_TESTS[case_id]))
    out = tmp_path / "out"
    with Factory(settings, models=models) as factory:
        report = factory.start(StartRequest(case.requirement, pipeline=PIPELINE, out_dir=out))

    assert report.status == "COMPLETED", report.reason
    blocked = [(r.team, r.reason) for r in report.records if r.outcome is StageOutcome.BLOCKED]
    assert blocked == []
    units = [c for c in models.chat.calls if c.kind == "unit"]
    assert units, "the build loop wrote no unit: the model's code was never judged"
    repairs = [c.path for c in units if "did wrong" in c.prompt]
    assert repairs == []  # the reference never fails the requirement's own examples

    measured = measure(out, case, LocalExecutor(), tmp_path / "eval")
    assert measured.complete, measured.notes
    assert measured.imports, measured.notes
    assert measured.own_passed == measured.own_total, measured.notes
    assert measured.own_total, "QA's tests never ran"
    assert measured.acceptance_ok, (measured.acceptance_passed, measured.notes)
    assert measured.acceptance_passed == case.acceptance_count() > 0


def test_a_web_module_keeping_every_route_is_taken_whole() -> None:
    # routes are compared as (method, path), however quoted and whatever the parameter's name
    [case] = load_cases(["web-todo"])
    made = skeleton(read_requirement(case.requirement))
    assert made is not None and {u.kind for u in made.units} == {UnitKind.ROUTE}
    source = reference_module(case.reference_dir, case.module)
    assert whole_module(fenced(source), made) == source


def test_a_web_module_dropping_a_route_is_refused() -> None:
    [case] = load_cases(["web-todo"])
    made = skeleton(read_requirement(case.requirement))
    assert made is not None
    source = reference_module(case.reference_dir, case.module)
    first = next(line for line in source.splitlines() if line.startswith("@app.delete("))
    with pytest.raises(SpliceError, match="drops the route DELETE"):
        whole_module(fenced(source.replace(first, "")), made)
