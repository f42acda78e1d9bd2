from devfactory.cli.terminal import SafeConsole
from devfactory.contracts import StageOutcome, StageRecord, TaskResult
from devfactory.factory.artifacts import commit_message
from devfactory.factory.summary import render_summary
from devfactory.shown import shown, with_article

TRICK = "approve \u202eexe.gnp\u202c \u2066x\u2069 \u200f\u200e\u061c \x1b[31mred\x1b[0m\x07\r"


def test_bidirectional_controls_are_made_visible_and_control_characters_dropped() -> None:
    text = shown(TRICK)
    assert text == (
        "approve <U+202E>exe.gnp<U+202C> <U+2066>x<U+2069> <U+200F><U+200E><U+061C> [31mred[0m"
    )
    assert shown("line one\n\tline two") == "line one\n\tline two"  # layout is kept


def test_the_cli_console_never_prints_a_bidirectional_control() -> None:
    console = SafeConsole(record=True, width=200, color_system=None)
    console.print(TRICK)
    out = console.export_text()
    assert "\u202e" not in out and "\x1b" not in out and "<U+202E>exe.gnp" in out


def test_commit_messages_and_the_summary_carry_no_bidirectional_control() -> None:
    result = TaskResult(status="COMPLETE", confidence=0.9, reasoning=TRICK, verified_facts=[TRICK])
    record = StageRecord(team="backend-engineering", outcome=StageOutcome.PASSED, result=result)
    doc = {"run_id": "r1", "status": "COMPLETED", "pipeline": "mvp", "requirement": TRICK,
           "reason": ""}  # fmt: skip
    for text in (commit_message(record, "Backend Engineering"), render_summary(doc, [record])):
        assert "\u202e" not in text and "\u2066" not in text and "\x1b" not in text
        assert "<U+202E>" in text


def test_a_word_takes_the_article_it_is_said_with() -> None:
    said = {
        "approver": "an approver",
        "admin": "an admin",
        "operator": "an operator",
        "escalation": "an escalation",
        "viewer": "a viewer",
        "reviewer": "a reviewer",
        "governance": "a governance",
        "user": "a user",
        "unit": "a unit",
        "hour": "an hour",
    }
    assert {word: with_article(word) for word in said} == said


def test_a_message_names_no_path_of_the_machine() -> None:
    from pathlib import Path

    from devfactory.shown import host_places, unhosted

    run = "/srv/factory/runs/r1"
    text = (
        f"tests: {run}/.venv/bin/python -m pytest -q {run}/tests → exit 1; "
        f'File "{Path.home()}/.pyenv/lib/python3.11/importlib/__init__.py", line 126; '
        "GET /health answered; see http://example.org/a/b and src/a/b.py; /home/alice/notes.txt"
    )
    said = unhosted(text, run)
    assert said == (
        "tests: .venv/bin/python -m pytest -q tests → exit 1; "
        'File "…/__init__.py", line 126; '
        "GET /health answered; see http://example.org/a/b and src/a/b.py; ~/notes.txt"
    )
    assert unhosted(f"cd {run} && ls", run) == "cd . && ls"
    assert str(Path.home()) in host_places() and "/" not in host_places()


def test_a_commit_message_of_a_run_names_its_files_relative_to_it() -> None:
    """A delivered branch carries no path of the factory's machine, cut or whole."""
    from pathlib import Path

    from devfactory.contracts import CheckRun

    run = Path.home() / ".devfactory" / "runs" / "20261128-abc"
    tests = CheckRun(
        name="tests",
        command=f"{run}/.venv/bin/python -I -m pytest -q {run}/tests/test_greet.py",
        exit_code=1,
        seconds=1.0,
        failed=1,
    )
    why = f'File "{run}/greet/__main__.py", line 3, in <module>: NameError'
    record = StageRecord(
        team="qa-engineering", outcome=StageOutcome.BLOCKED, reason=why, checks=[tests]
    )
    message = commit_message(record, "QA Engineering", run)
    assert str(Path.home()) not in message and "/root" not in message and "…/" not in message
    assert 'kept: File "greet/__main__.p' in message  # the subject, cut at 72
    assert ".venv/bin/python -I -m pytest -q tests/test_greet.py → exit 1" in message
    assert str(run) in commit_message(record, "QA Engineering")  # without the run: as it was
