"""Honest summaries (issue 27): facts only from checks that ran, one count of calls and tokens."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from devfactory import cli
from devfactory.cli import common
from devfactory.factory.facade import Factory
from devfactory.factory.intake import StartRequest
from devfactory.settings import Settings
from devfactory.store.runs_table import RunStatus
from tests.fakes import Call, ScriptedModels, always_good, good_report

CLI_TOOL = "A command-line tool that counts the words in a text file"
COPIED = "The mermaid flowchart shows every component and external system"


def section(summary: str, title: str) -> str:
    """Return the body of one ``## title`` section of a SUMMARY.md."""
    body = summary.split(f"\n## {title}\n", 1)[1]
    return body.split("\n## ", 1)[0]


def test_with_code_execution_off_no_check_is_shown_passed_or_sandboxed(
    pg_settings: Settings, tmp_path: Path
) -> None:
    assert pg_settings.generation.run_code is False  # the setting that turns code execution off
    out = tmp_path / "out"
    with Factory(pg_settings, models=ScriptedModels()) as factory:
        report = factory.start(StartRequest(CLI_TOOL, pipeline="mvp", out_dir=out))
    assert report.status == RunStatus.COMPLETED
    summary = (out / "SUMMARY.md").read_text()
    table = section(summary, "Checks: backend-engineering")
    assert "| run | - | not run: code not run: run_code is off | - | - | - |" in table
    check_rows = [ln for ln in summary.splitlines() if ln.startswith("| run |")]
    assert check_rows and not any("yes" in row or "passed" in row for row in check_rows)
    assert "## The built software: not checked" in summary
    facts = section(summary, "Verified facts (from checks that ran)")
    assert "- none: no check ran, so nothing here is verified" in facts
    assert "- backend-engineering · run: not run (code not run: run_code is off)" in facts
    assert "sandboxed)" not in facts and ": passed" not in facts
    # the teams' own "verified facts" are listed, once each, as claims
    claims = section(summary, "Claims by the teams (not verified)")
    assert "- **backend-engineering:** Backend Engineering checked the requirement\n" in claims
    doc = json.loads((out / "run.json").read_text())
    recorded = [c for s in doc["stages"] for c in s["checks"]]
    assert recorded and all(c["ran"] is False and c["sandboxed"] is False for c in recorded)


def _retry_once_and_copy_instructions(call: Call) -> str:
    """Script a run whose architects are sent back once and copy their criteria as facts."""
    if call.kind == "report" and call.team == "solution-architecture":
        confidence = 0.1 if call.n == 0 else 0.95  # the gate refuses the first attempt
        facts = [COPIED, "The plan names wordcount/__main__.py"]
        return json.dumps(
            good_report(
                call.spec, confidence=confidence, verified_facts=facts, assumptions_made=facts
            )
        )
    return always_good(call)


def test_run_json_usage_and_summary_count_the_same_calls_and_tokens(
    pg_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    settings = pg_settings.with_overrides(fact_memory=True)  # a fact-extraction call per stage
    models = ScriptedModels(_retry_once_and_copy_instructions)
    with Factory(settings, models=models) as factory:
        report = factory.start(StartRequest(CLI_TOOL, pipeline="mvp", out_dir=out))
        spent = factory.usage(report.run_id)
    assert report.status == RunStatus.COMPLETED
    made = models.chat.calls
    kinds = {c.kind for c in made}
    assert {"governance", "facts"} <= kinds  # calls outside any stage record
    assert models.chat.count("solution-architecture", "report") == 2  # one retry

    doc = json.loads((out / "run.json").read_text())
    tokens = spent.total.input_tokens + spent.total.output_tokens
    assert doc["usage"]["calls"] == spent.total.calls == len(made)
    assert doc["usage"]["total_tokens"] == tokens
    assert doc["usage_by_team"]["governance"]["calls"] == 1
    # what run.json counted before: the stage records, which miss governance and facts
    assert sum(s["usage"]["calls"] for s in doc["stages"]) < len(made)

    summary = (out / "SUMMARY.md").read_text()
    [total] = [ln for ln in summary.splitlines() if ln.startswith("| **run total** |")]
    cells = [c.strip() for c in total.strip("|").split("|")]
    assert cells[1:4] == [
        str(len(made)),
        f"{spent.total.input_tokens:,}",
        f"{spent.total.output_tokens:,}",
    ]

    monkeypatch.setattr(
        common, "open_factory", lambda _settings: Factory(settings, models=ScriptedModels())
    )
    shown = CliRunner().invoke(cli.app, ["usage", report.run_id])
    assert shown.exit_code == 0, shown.output
    [line] = [ln for ln in shown.stdout.splitlines() if "run total" in ln]
    assert re.findall(r"[\d,.]+", line)[:3] == [
        str(len(made)),
        f"{spent.total.input_tokens:,}",
        f"{spent.total.output_tokens:,}",
    ]

    # the architects' criteria, copied as "verified facts", are neither facts nor claims
    assert COPIED not in summary
    claims = section(summary, "Claims by the teams (not verified)")
    said = "- **solution-architecture:** The plan names wordcount/__main__.py\n"
    assert claims.count("The plan names wordcount/__main__.py") == 1 and said in claims
    assert "item(s) copied from the teams' instructions left out" in claims
