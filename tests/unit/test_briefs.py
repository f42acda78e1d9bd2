"""A stage's request stays within what the model can take: its feedback and notes bounded.

The gate's feedback of an attempt whose tests failed one by one (forty parametrised
tests, each with its assertion's diff) was shown whole to the next attempt; the request
outgrew the model's context and the call was refused. The request is now bounded as a
whole (``request_budget``), its feedback and notes each (``feedback_tokens``).
"""

from __future__ import annotations

from langchain_core.messages import BaseMessage

from devfactory.contracts import Artifact, ArtifactKind
from devfactory.graph.model_io.briefs import draft_messages, report_messages, request_budget
from devfactory.memory.packing import approx_tokens
from devfactory.settings import Settings
from devfactory.teams import load_teams
from devfactory.teams.spec import Deliverable

SPEC = load_teams()["qa-engineering"]
REQUIREMENT = "Build `tally.py`: `tally(words)` counts each word.\n\n" + "\n\n".join(
    f"## Part {n}\n" + "The counts are kept in order of first sight. " * 30 for n in range(12)
)
FAILED = [
    f"tests/test_tally.py [tests]: test_tally_{n} failed: assert {{'a': 1}} == {{'a': 2}}\n"
    + "  - {'a': 2}\n  + {'a': 1}\n" * 12
    for n in range(40)
]
TESTS = Deliverable(path="tests/test_tally.py", kind=ArtifactKind.PYTHON, description="The tests.")
STATE = {"requirement": REQUIREMENT, "stages": {}, "mental_model": ""}


def _tokens(messages: list[BaseMessage]) -> int:
    return sum(approx_tokens(str(m.content)) for m in messages)


def _draft(
    settings: Settings, feedback: list[str], notes: tuple[str, ...] = ()
) -> list[BaseMessage]:
    return draft_messages(
        SPEC,
        STATE,
        TESTS,
        needs=[],
        names={},
        settings=settings,
        feedback=feedback,
        notes=notes,
        previous="def test_tally():\n    assert tally(['a']) == {'a': 1}\n" * 40,
    )


def test_forty_failing_tests_are_said_once_within_the_feedback_budget() -> None:
    settings = Settings(feedback_tokens=600)
    ask = str(_draft(settings, FAILED)[1].content)
    block = ask[ask.index("The gate rejected your last attempt:") : ask.index("Your previous")]
    assert FAILED[0].splitlines()[0] in ask  # the first failure stands for the others
    assert "(and 39 more like it, only numbers differ)" in block
    assert "test_tally_7 failed" not in ask
    assert approx_tokens(block) <= 600


def test_feedback_that_fits_is_shown_as_it_came() -> None:
    few = ["tests/t.py: test_a failed: 1 != 2", "tests/t.py: test_b failed: 3 != 4"]
    ask = str(_draft(Settings(), few)[1].content)
    assert "- tests/t.py: test_a failed: 1 != 2\n- tests/t.py: test_b failed: 3 != 4" in ask
    assert "more like it" not in ask and "not shown" not in ask


def test_unalike_feedback_over_the_budget_says_how_many_were_left_out() -> None:
    words = ["apple", "pear", "plum", "fig", "kiwi", "lime", "date", "sloe"]
    unalike = [f"problem {w}: " + f"{w} " * 150 for w in words]
    ask = str(_draft(Settings(feedback_tokens=300), unalike)[1].content)
    assert "problem apple:" in ask
    assert "problem sloe:" not in ask
    assert "more not shown)" in ask


def test_the_whole_draft_request_fits_the_models_context_less_its_replies() -> None:
    sizes = {"stage_max_tokens": 768, "context_tokens": 6000, "requirement_tokens": 4000}
    settings = Settings(embedded_ctx=3072, max_continuations=1, **sizes)
    assert request_budget(settings) == 3072 - 2 * 768
    notes = [f"answer {n}: " + "use the order of first sight " * 20 for n in range(30)]
    messages = _draft(settings, FAILED, tuple(notes))
    assert _tokens(messages) <= request_budget(settings) + 16
    assert "Requirement: Build `tally.py`" in str(messages[1].content)  # cut, never dropped
    roomy = _draft(
        Settings(embedded_ctx=32_768, max_continuations=1, **sizes), FAILED, tuple(notes)
    )
    assert _tokens(roomy) > _tokens(messages) + 2000  # with room, nothing is cut so far


def test_the_report_request_is_bounded_as_the_draft_is() -> None:
    settings = Settings(embedded_ctx=5120, stage_max_tokens=768, context_tokens=6000)
    assert request_budget(settings) == 5120 - 2 * 768  # a continuation by default
    messages = report_messages(
        SPEC,
        STATE,
        [Artifact(path="tests/test_tally.py", kind=ArtifactKind.PYTHON, content="x = 1\n" * 400)],
        needs=[],
        names={},
        settings=settings,
        feedback=FAILED,
        attempt=2,
        max_attempts=3,
        checks=[f"check {chr(97 + n) * 3}: " + "it failed again " * 40 for n in range(26)],
    )
    ask = str(messages[1].content)
    assert _tokens(messages) <= request_budget(settings) + 16
    assert "(and 39 more like it, only numbers differ)" in ask
    assert "more not shown)" in ask  # the checks' findings, cut to their budget


def test_a_request_with_room_to_spare_asks_the_tokenizer_nothing_more() -> None:
    counted: list[str] = []

    def count(text: str) -> int:
        counted.append(text)
        return approx_tokens(text)

    few = ["tests/t.py: test_a failed: 1 != 2"]
    messages = draft_messages(
        SPEC, STATE, TESTS, needs=[], names={}, settings=Settings(), feedback=few, count=count
    )
    assert counted  # the requirement's view and the packed context are counted, as always
    assert str(messages[0].content) not in counted
    assert not any("The gate rejected" in text or "Reply with" in text for text in counted)
    assert "Reply with the complete content" in str(messages[1].content)
