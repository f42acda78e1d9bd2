"""The probes of one step (eval.reading, eval.proposed_tests) start the same way."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from eval import probe


def test_the_probes_take_the_same_options_with_their_own_split() -> None:
    args = probe.parser("python -m eval.x", None, split="dev").parse_args([])
    assert (args.split, args.cases, args.model, args.set, args.out) == ("dev", "", "", [], None)
    given = ["--split", "holdout", "--cases", "a,b", "--set", "x=1", "--out", "o"]
    args = probe.parser("python -m eval.x", None, split="all").parse_args(given)
    assert (args.split, args.cases, args.set, args.out) == ("holdout", "a,b", ["x=1"], Path("o"))


def test_an_unknown_case_or_a_bad_setting_stops_the_probe_as_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    parse = probe.parser("python -m eval.x", None, split="dev").parse_args
    assert probe.start(parse(["--cases", "no-such-case"]), "eval.x", "x", "factory/coder") == 2
    assert capsys.readouterr().err.startswith("eval.x: ")
    bad = parse(["--cases", "cli-caesar", "--set", "no-equals-sign", "--out", str(tmp_path)])
    assert probe.start(bad, "eval.x", "x", "factory/coder") == probe.EXIT_USAGE


@dataclass
class Row:
    case: str
    right: int


def test_a_probe_resolves_its_model_once_and_keeps_its_rows_after_each_case(
    tmp_path: Path,
) -> None:
    args = probe.parser("python -m eval.x", None, split="dev").parse_args(
        ["--cases", "cli-caesar", "--set", "models_factory=tests.browser.models:scripted",
         "--out", str(tmp_path / "out")]
    )  # fmt: skip
    run = probe.start(args, "eval.x", "x", "factory/coder")
    assert isinstance(run, probe.Probe)
    assert [c.id for c in run.cases] == ["cli-caesar"] and run.out.is_dir()
    assert run.label == "scripted:fake"
    run.keep("x", [Row("cli-caesar", 3)])
    kept = json.loads((run.out / "x.json").read_text())
    assert kept == {"model": "scripted:fake", "rows": [{"case": "cli-caesar", "right": 3}]}
