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
