"""A blocked stage's request shows its error first, with the output folded, and nothing twice.

One function finds the error line (``control/error_line.py``); the gate's reason,
the CLI's ``pending``, ``GET /pending`` and (through it) the console use it.
"""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from devfactory.api.run_routes import question
from devfactory.cli.terminal import FOLDED_LINES, pause_panel
from devfactory.control.error_line import MAX_LINE, error_line, lead_with_error
from devfactory.control.hitl import make_pause
from devfactory.control.policy import load_policy
from devfactory.factory.reports import Pending
from devfactory.graph.gate import Route, Verdict

ERROR = "ModuleNotFoundError: No module named 'backend'"
TRACEBACK = "\n".join(
    [
        "Traceback (most recent call last):",
        *(
            f'  File "/work/.venv/lib/python3.11/site-packages/pkg/mod{n}.py", line {n}, in call\n'
            f"    return importlib.import_module(name{n})"
            for n in range(1, 9)
        ),
        '  File "<frozen importlib._bootstrap>", line 1140, in _find_and_load_unlocked',
        ERROR,
    ]
)
CHAINED = (
    "Traceback (most recent call last):\n  File \"a.py\", line 1\nKeyError: 'x'\n\n"
    "During handling of the above exception, another exception occurred:\n\n"
    'Traceback (most recent call last):\n  File "a.py", line 3\n'
    "RuntimeError: the settings have no 'x'"
)


@pytest.mark.parametrize(
    ("text", "found"),
    [
        (TRACEBACK, ERROR),
        (CHAINED, "RuntimeError: the settings have no 'x'"),
        (
            "tests/test_app.py F\n    def test_add():\n>       assert add(1, 2) == 4\n"
            "E       assert 3 == 4\nE        +  where 3 = add(1, 2)\n1 failed",
            "assert 3 == 4",
        ),
        (
            "Collecting foo\nERROR: No matching distribution found for foo\n",
            "ERROR: No matching distribution found for foo",
        ),
        (
            "json.decoder.JSONDecodeError: Expecting value: line 1",
            "json.decoder.JSONDecodeError: Expecting value: line 1",
        ),
        ("confidence 0.40 is below the team's threshold 0.70", ""),
        ("", ""),
    ],
)
def test_the_error_line_is_the_line_that_says_what_went_wrong(text: str, found: str) -> None:
    assert error_line(text) == found


def test_an_error_line_is_bounded() -> None:
    assert len(error_line("ValueError: " + "x" * 5000)) == MAX_LINE


def test_the_error_leads_its_problem_and_survives_the_gates_cut() -> None:
    problem = "smoke: " + TRACEBACK
    assert len(problem) > 600  # the old reason, cut at 600, lost the error
    reason = Verdict(Route.BLOCK, [problem]).reason
    assert reason.startswith(f"smoke: {ERROR}\nTraceback") and len(reason) <= 600
    assert lead_with_error("status is FAILED: no tests") == "status is FAILED: no tests"
    assert lead_with_error(ERROR) == ERROR  # already first
    # a problem whose first line already says the error is left as it is: never said twice
    said = f"app.py [tests]: test_add failed: {ERROR}\n{TRACEBACK}"
    assert lead_with_error(said) == said


def blocked(reason: str) -> Pending:
    pause = make_pause(
        load_policy(None),
        "blocked",
        title="Backend Engineering is BLOCKED after 3 attempts",
        question=f"{reason}\nGive guidance and Backend Engineering tries again.",
        team="backend-engineering",
    ).model_copy(update={"reasoning": reason})
    return Pending("20261125-120000-abcdef", "0123456789abcdef", pause)


def test_pending_over_the_api_names_the_error_and_says_the_reason_once() -> None:
    item = blocked(Verdict(Route.BLOCK, ["smoke: " + TRACEBACK]).reason)
    shown = question(item)
    assert shown.error_line == f"smoke: {ERROR}"
    assert shown.reasoning == ""  # the question says it already
    assert item.pause.facts() == []  # the CLI and the chat show no "why" again either


def test_a_review_request_says_its_requirement_and_files_once() -> None:
    text = "Requirement: a todo API\nFiles: app.py (backend-engineering)"
    pause = make_pause(load_policy(None), "review", title="final review", question=text)
    pause = pause.model_copy(update={"reasoning": text})
    assert pause.why() == "" and question(Pending("r", "i", pause)).reasoning == ""
    other = pause.model_copy(update={"reasoning": "the checks passed with confidence 0.9"})
    assert other.why() == "the checks passed with confidence 0.9"


def test_the_cli_shows_the_error_line_first_and_the_traceback_bounded() -> None:
    item = blocked(lead_with_error("smoke: " + TRACEBACK))  # a reason of a longer cut
    out = io.StringIO()
    Console(file=out, width=200, color_system=None).print(
        pause_panel(item.run_id, item.interrupt_id, item.pause)
    )
    text = out.getvalue()
    first = next(line for line in text.splitlines() if "error:" in line or "Traceback" in line)
    assert "error:" in first and ERROR in first
    assert "why:" not in text
    assert text.count("Traceback (most recent call last)") == 1
    assert "more lines: `pending --json` shows all" in text
    lines = text.splitlines()
    start = next(n for n, line in enumerate(lines) if "error:" in line)
    end = next(n for n, line in enumerate(lines) if "more lines:" in line)
    assert end - start - 1 == FOLDED_LINES  # the output shown under the error, bounded


def test_a_checks_problem_names_its_file_and_check_and_still_leads_with_its_error() -> None:
    """The checks write a problem as ``path [check]: output`` (``Problem.line``)."""
    problem = f"wordcount/__main__.py [smoke]: {TRACEBACK}"
    reason = Verdict(Route.BLOCK, [problem]).reason
    assert reason.startswith(f"wordcount/__main__.py [smoke]: {ERROR}\n")
    assert question(blocked(reason)).error_line == f"wordcount/__main__.py [smoke]: {ERROR}"


def test_a_brief_line_keeps_the_error_where_a_cut_would_lose_it() -> None:
    from devfactory.control.error_line import brief

    failed = f"stage backend-engineering BLOCKED: gate failed 3 of 3 attempts; smoke: {TRACEBACK}"
    line = brief(failed, 160)
    assert len(line) <= 160 and "\n" not in line
    assert line.startswith("stage backend-engineering BLOCKED") and line.endswith(ERROR)
    assert " … " in line
    assert brief("status is FAILED:\n  no tests", 160) == "status is FAILED: no tests"
    assert brief("x" * 200, 160) == "x" * 159 + "…"  # no error line: cut, and says so
    said_first = f"smoke: {ERROR}\n{TRACEBACK}"
    assert brief(said_first, 80) == " ".join(said_first.split())[:79] + "…"
