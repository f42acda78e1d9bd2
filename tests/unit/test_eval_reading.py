"""eval.reading says, per case, whether the plan made from the run's reading names what it needs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from eval.catalog import load_cases
from eval.reading import Read, judge, judge_arguments, positionals, read_case, render, units_of


class _NoModel:
    """A model source that fails the test if the reading asks it (the parser should suffice)."""

    def resolve(self, alias: str) -> Any:
        raise AssertionError(f"a model was asked for {alias}")


def _owners() -> dict[str, Any]:
    from devfactory.pipelines import load_pipeline
    from devfactory.teams import load_teams

    teams = load_teams()
    return {slug: teams[slug].owns for slug in load_pipeline("lean").teams}


def test_each_kind_of_case_has_its_units() -> None:
    by_id = {c.id: c for c in load_cases(["lib-isbncheck", "cli-caesar", "web-recipebox"])}
    assert units_of(by_id["lib-isbncheck"]) == ["is_valid", "to_isbn13"]
    assert units_of(by_id["cli-caesar"]) == ["--shift", "--decode"]
    assert units_of(by_id["web-recipebox"]) == ["/recipes"]


@pytest.mark.parametrize(
    ("usage", "module", "shapes"),
    [
        ("python -m caesar [FILE] [--shift N] [--decode]; shift 3", "caesar", [(False, True)]),
        ("python -m wordcount FILE... [--lines] [--json]; exit 0", "wordcount", [(True, False)]),
        ("python -m mdtable CSV_FILE [--align SPEC]", "mdtable", [(False, False)]),
        ("wordcount [FILE...] --top N", "wordcount", [(True, True)]),
        ("python -m dedupe [--count] [--output OUT]", "dedupe", []),
        ("python -m romanconv to-roman N | from-roman NUMERAL", "romanconv", None),
        ("python -m caesar FILE", "other", None),  # another module's line
    ],
)
def test_a_usage_lines_positional_arguments_are_read_by_their_shape(
    usage: str, module: str, shapes: list[tuple[bool, bool]] | None
) -> None:
    assert positionals(usage, module) == shapes


def test_a_command_lines_plan_is_judged_by_its_positional_arguments() -> None:
    case = load_cases(["cli-caesar"])[0]  # python -m caesar [FILE] [--shift N] [--decode]
    said = {"commands": [{"usage": "caesar [FILE] [--shift N] [--decode]"}]}
    dropped = {"commands": [{"usage": "python -m caesar [--shift N] [--decode]"}]}
    assert judge_arguments(said, case) == ""
    assert judge_arguments(dropped, case) == "positional arguments [A], planned none"
    assert judge_arguments({}, case) == "positional arguments [A], planned none"
    assert judge_arguments(said, load_cases(["lib-isbncheck"])[0]) is None  # a library


def test_a_plan_is_judged_by_its_module_file_and_the_units_it_states() -> None:
    case = load_cases(["lib-isbncheck"])[0]
    plan = {
        "files": [{"path": "isbncheck.py"}],
        "modules": [{"path": "isbncheck.py", "symbols": [{"name": "is_valid"}]}],
    }
    assert judge(plan, case) == (True, ["to_isbn13"])
    assert judge({"files": [{"path": "isbn.py"}]}, case) == (False, ["is_valid", "to_isbn13"])


@pytest.mark.parametrize("case_id", ["cli-caesar", "lib-isbncheck"])
def test_a_case_the_parser_reads_is_planned_by_tools_with_no_model(case_id: str) -> None:
    from devfactory.settings import get_settings

    case = load_cases([case_id])[0]
    found = read_case(case, get_settings(), _NoModel(), _owners())
    assert found.read_module == case.module and found.parser_only and found.calls == 0
    assert found.plan_by == "tools" and found.plan_module and found.missing == []
    assert found.named


def test_the_report_counts_by_split_and_style(tmp_path: Path) -> None:
    good = Read("a-x", "dev", "prose", "library", "x", ["f"], "x", True, 0, 1.0, "tools", True)
    bad = Read("b-y", "dev", "prose", "cli", "y", ["--z"], "", False, 1, 9.0, "", False, ["--z"])
    table = render([good, bad], "Reading")
    assert "| dev | prose | 2 | 1 | 1 | 1 |" in table
    assert "| b-y | dev | prose | (none) (not y) | 1 | 9 | none | --z |" in table
    assert json.dumps(bad.missing) == '["--z"]' and not bad.named
