"""Malformed model output is repaired or retried, then BLOCKED with a reason; never raised."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, HumanMessage

from devfactory.contracts import MAX_ARTIFACT_CHARS, Artifact, Status
from devfactory.graph.model_io.structured import (
    draft_file,
    parse_task_result,
    request_task_result,
)
from devfactory.models.loops import drop_repeats, line_loop, phrase_loop

ARTS = [Artifact(path="docs/readme.md", kind="markdown", content="# Hi\n")]
GOOD = {
    "reasoning": "done",
    "verified_facts": ["x"],
    "assumptions_made": [],
    "status": "COMPLETE",
    "confidence": 0.9,
    "blockers": [],
    "clarification_needed": None,
}


class Replies(GenericFakeChatModel):
    """Replies in order; an exception in the list is raised by that call."""

    def _generate(self, messages, *args, **kwargs):  # type: ignore[override]
        reply = next(self.messages)
        if isinstance(reply, Exception):
            raise reply
        return self._wrap(reply)

    @staticmethod
    def _wrap(reply: AIMessage):
        from langchain_core.outputs import ChatGeneration, ChatResult

        return ChatResult(generations=[ChatGeneration(message=reply)])


def model(*replies: str | Exception) -> Replies:
    def gen() -> Iterator[AIMessage | Exception]:
        for r in replies:
            if isinstance(r, Exception):
                yield r
            else:
                yield AIMessage(
                    r, usage_metadata={"input_tokens": 10, "output_tokens": 5, "total_tokens": 15}
                )

    return Replies(messages=gen())


def ask(m: Any, retries: int = 2, errors: int = 2):
    return request_task_result(
        m,
        [HumanMessage("report")],
        artifacts=ARTS,
        max_parse_retries=retries,
        max_model_errors=errors,
    )


def test_valid_reply_is_accepted_with_drafted_artifacts() -> None:
    reply = ask(model(json.dumps(GOOD)))
    assert reply.result.status is Status.COMPLETE
    assert reply.result.artifacts == ARTS
    assert reply.usage.calls == 1 and reply.usage.input_tokens == 10


@pytest.mark.parametrize(
    ("text", "repair"),
    [
        ("```json\n" + json.dumps(GOOD) + "\n```", "JSON syntax repaired"),
        (json.dumps(GOOD)[:-1] + ",}", "JSON syntax repaired"),
        (json.dumps(GOOD)[:-1], "JSON syntax repaired"),  # cut off at the end
        (json.dumps({**GOOD, "status": "complete"}), "status 'complete' -> 'COMPLETE'"),
        (json.dumps({**GOOD, "confidence": 85}), "confidence 85 read as a percentage [confidence]"),
        (json.dumps({**GOOD, "confidence": "90%"}), "confidence parsed from text [confidence]"),
        (json.dumps({**GOOD, "verified_facts": "one"}), "verified_facts wrapped in a list [lists]"),
        (json.dumps({**GOOD, "mood": "great"}), "dropped unknown fields ['mood'] [unknown-fields]"),
    ],
)
def test_mechanical_problems_are_repaired_and_recorded(text: str, repair: str) -> None:
    result, problem, repairs = parse_task_result(text, ARTS)
    assert result is not None, problem
    assert repair in repairs
    assert result.status is Status.COMPLETE


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("this is not json at all", "not a JSON object"),
        (json.dumps({**GOOD, "status": "DONE"}), "status: Input should be"),
        (
            json.dumps({k: v for k, v in GOOD.items() if k != "confidence"}),
            "confidence: Field required",
        ),
        (json.dumps({**GOOD, "reasoning": "x" * 5000}), "at most 1500 characters"),
        (json.dumps({**GOOD, "status": "BLOCKED"}), "requires at least one blocker"),
        ("", "empty"),
    ],
)
def test_invalid_output_is_retried_then_blocked_with_the_reason(text: str, needle: str) -> None:
    m = model(text, text, text, json.dumps(GOOD))  # a 4th, valid reply must never be asked for
    reply = ask(m, retries=2)
    assert reply.result.status is Status.BLOCKED
    assert reply.usage.calls == 3  # 1 + max_parse_retries, exactly
    assert "not a valid TaskResult after 3 tries" in reply.result.blockers[0]
    assert needle in reply.result.blockers[0] + reply.result.reasoning
    assert len(reply.problems) == 3


def test_a_retry_that_fixes_the_output_succeeds_and_saw_the_error() -> None:
    seen: list[list] = []

    class Spy(GenericFakeChatModel):
        def _generate(self, messages, *a, **k):  # type: ignore[override]
            seen.append(list(messages))
            return super()._generate(messages, *a, **k)

    m = Spy(
        messages=iter(
            [AIMessage(json.dumps({**GOOD, "status": "DONE"})), AIMessage(json.dumps(GOOD))]
        )
    )
    reply = ask(m)
    assert reply.result.status is Status.COMPLETE
    assert "status: Input should be" in str(seen[1][-1].content)  # error fed back


def test_model_errors_block_the_stage_after_the_cap() -> None:
    reply = ask(model(ConnectionError("refused"), ConnectionError("refused")), errors=2)
    assert reply.result.status is Status.BLOCKED
    assert "model call failed after 2 tries: ConnectionError" in reply.result.blockers[0]


def test_zero_parse_retries_means_one_call() -> None:
    reply = ask(model("nope", json.dumps(GOOD)), retries=0)
    assert reply.result.status is Status.BLOCKED
    assert reply.usage.calls == 1


def test_draft_cuts_oversized_files_and_refuses_empty_ones() -> None:
    over = MAX_ARTIFACT_CHARS + 1000
    big = draft_file(
        model("y" * over), [HumanMessage("x")], path="b.md", kind="markdown", max_model_errors=1
    )
    assert big.artifact is not None and len(big.artifact.content) == MAX_ARTIFACT_CHARS
    assert f"{over} characters, cut at {MAX_ARTIFACT_CHARS}" in big.problem
    empty = draft_file(
        model("   "), [HumanMessage("x")], path="c.md", kind="markdown", max_model_errors=1
    )
    assert empty.artifact is None and "empty" in empty.problem


@pytest.mark.parametrize(
    "meta", [{"finish_reason": "length"}, {"done_reason": "length"}, {"stop_reason": "max_tokens"}]
)
def test_a_draft_cut_off_at_the_token_limit_is_reported(meta: dict) -> None:
    cut = Replies(messages=iter([AIMessage("# Doc\n\nhalf a sent", response_metadata=meta)]))
    got = draft_file(cut, [HumanMessage("x")], path="a.md", kind="markdown", max_model_errors=1)
    assert got.artifact is not None
    assert "a.md: cut off at the token limit" in got.problem
    done = Replies(
        messages=iter([AIMessage("# Doc\n", response_metadata={"finish_reason": "stop"})])
    )
    assert (
        draft_file(
            done, [HumanMessage("x")], path="a.md", kind="markdown", max_model_errors=1
        ).problem
        == ""
    )


@pytest.mark.parametrize(
    ("reply", "kind", "expected"),
    [
        ("x = 1\n```\n\n```sql\nSELECT 1;\n```\nThis implements the spec.", "python", "x = 1"),
        ("Here is the file:\n```python\nx = 1\n```\nDone.", "python", "x = 1"),
        ("```sql\nCREATE TABLE t (id int);\n```\n```python\nx = 1\n```", "python", "x = 1"),
        ("```\nkey: 1\n```", "yaml", "key: 1"),
        ("key: 1\n", "yaml", "key: 1"),
        ("# Doc\n\n```python\nx = 1\n```\n", "markdown", "# Doc\n\n```python\nx = 1\n```"),
        ("```python\nprint(1)\n```", "python", "print(1)"),
        ("```markdown\n# Title\n\ntext", "markdown", "# Title\n\ntext"),  # wrapper cut off
        (
            "# Doc\n\n```mermaid\nflowchart LR\n  a --> b\n```\n",
            "markdown",
            "# Doc\n\n```mermaid\nflowchart LR\n  a --> b\n```",
        ),
        (
            "```markdown\n# Doc\n\n```mermaid\nflowchart LR\n  a --> b\n```\n\nEnd.\n```\n",
            "markdown",
            "# Doc\n\n```mermaid\nflowchart LR\n  a --> b\n```\n\nEnd.",
        ),
    ],
)
def test_files_are_extracted_from_chatty_replies(reply: str, kind: str, expected: str) -> None:
    got = draft_file(model(reply), [HumanMessage("x")], path="f", kind=kind, max_model_errors=1)
    assert got.artifact is not None
    assert got.artifact.content == expected
    assert got.problem == ""


class Seen(Replies):
    """Replies in order and keeps the messages of every call."""

    calls: list = []  # noqa: RUF012 - one list per test, set at construction

    def _generate(self, messages, *args, **kwargs):  # type: ignore[override]
        self.calls.append(messages)
        return super()._generate(messages, *args, **kwargs)


def test_a_tests_file_cut_off_keeps_its_complete_tests_and_is_not_refused() -> None:
    whole = "from m import f\n\n\ndef test_a():\n    assert f(1) == 2\n"
    cut = {"finish_reason": "length"}
    reply = AIMessage(whole + "\n\ndef test_b():\n    assert f(2) == 3\n", response_metadata=cut)
    got = draft_file(
        Replies(messages=iter([reply])),
        [HumanMessage("x")],
        path="tests/test_m.py",
        kind="python",
        max_model_errors=1,
    )
    assert got.artifact is not None and got.artifact.content == whole
    assert got.problem == ""
    assert got.repairs == [
        "cut off at the token limit: kept its complete tests, dropped `test_b` [cut-tests]"
    ]
    # no complete test before the cut, or a module that is not a tests file: refused as cut off
    for path, text in (("tests/test_m.py", "def test_a():\n    assert f(1"), ("m.py", whole)):
        reply = AIMessage(text, response_metadata=cut)
        again = draft_file(
            Replies(messages=iter([reply])),
            [HumanMessage("x")],
            path=path,
            kind="python",
            max_model_errors=1,
        )
        assert f"{path}: cut off at the token limit" in again.problem
    # switched off (repairs_off=cut-tests): the cut file is refused as any cut one is (what
    # does not parse still loses its broken test, by the registry's broken-tests)
    off = draft_file(
        Replies(messages=iter([AIMessage(whole + "\n\ndef test_b(", response_metadata=cut)])),
        [HumanMessage("x")],
        path="tests/test_m.py",
        kind="python",
        max_model_errors=1,
        repairs_off=("cut-tests",),
    )
    assert "tests/test_m.py: cut off at the token limit" in off.problem
    assert not any("[cut-tests]" in note for note in off.repairs)


def test_a_draft_cut_off_is_continued_where_it_stopped_up_to_the_cap() -> None:
    cut, stop = {"finish_reason": "length"}, {"finish_reason": "stop"}
    replies = [
        AIMessage("```markdown\n# Doc\n\nAC-1: the tool gre", response_metadata=cut),
        AIMessage("```markdown\nets NAME.\n\n```mermaid\nflowchart LR\n  a --> b\n```\n```",
                  response_metadata=stop),
    ]  # fmt: skip
    two = Seen(messages=iter(replies), calls=[])
    got = draft_file(
        two, [HumanMessage("x")], path="a.md", kind="markdown", max_model_errors=1,
        max_continuations=1,
    )  # fmt: skip
    assert got.problem == "" and got.artifact is not None
    assert got.artifact.content == "# Doc\n\nAC-1: the tool greets NAME.\n\n" + (
        "```mermaid\nflowchart LR\n  a --> b\n```"
    )  # the repeated opening fence is dropped, the inner mermaid fence kept
    assert len(two.calls) == 2
    asked = two.calls[1]
    assert asked[-2].content == replies[0].content  # the model sees what it wrote
    assert "Continue exactly where you stopped" in asked[-1].content
    # at the cap the file is reported unfinished, and no further call is made
    capped = Seen(messages=iter([AIMessage("# Doc\nhal", response_metadata=cut)] * 3), calls=[])
    still = draft_file(
        capped, [HumanMessage("x")], path="a.md", kind="markdown", max_model_errors=1,
        max_continuations=2,
    )  # fmt: skip
    assert len(capped.calls) == 3 and "a.md: cut off at the token limit" in still.problem
    assert still.artifact is not None and still.artifact.content == "# Doc\nhal# Doc\nhal# Doc\nhal"


def test_a_continuation_that_starts_the_file_over_is_dropped_and_the_cut_file_salvaged() -> None:
    cut, stop = {"finish_reason": "length"}, {"finish_reason": "stop"}
    head = "from m import f\n\n\ndef test_f():\n    assert f(1) == 2\n"
    cut_in_a_check = "```python\n" + head + "    assert f(2) == 3\n    assert f(3) == "
    replies = [
        AIMessage(cut_in_a_check, response_metadata=cut),
        AIMessage("```python\n" + head + "```", response_metadata=stop),
    ]
    two = Seen(messages=iter(replies), calls=[])
    got = draft_file(
        two, [HumanMessage("x")], path="tests/test_m.py", kind="python", max_model_errors=1,
        max_continuations=1,
    )  # fmt: skip
    assert len(two.calls) == 2 and got.problem == "" and got.artifact is not None
    assert got.artifact.content == head + "    assert f(2) == 3\n"  # one file, its checks whole
    assert got.usage.calls == 2  # the dropped continuation still counts


SECTION = (
    "## Components\n\n"
    "- **Reader**: reads each FILE, or standard input when FILE is `-`, as UTF-8 text.\n\n"
    "### Responsibilities\n\n"
    "The reader hands every line, without its line ending, to the counter in order.\n\n"
)


def test_a_looping_markdown_draft_ends_where_the_loop_began() -> None:
    cut = {"finish_reason": "length"}
    head = "# Architecture\n\n```mermaid\nflowchart LR\n  reader --> counter\n```\n\n"
    looping = head + SECTION * 4 + SECTION[:70]  # as the 0.5B model wrote cli-wordcount's
    model = Seen(messages=iter([AIMessage(looping, response_metadata=cut)] * 2), calls=[])
    got = draft_file(
        model, [HumanMessage("x")], path="a.md", kind="markdown", max_model_errors=1,
        max_continuations=1,
    )  # fmt: skip
    assert len(model.calls) == 1  # not continued: more would only repeat
    assert got.problem == "" and got.artifact is not None
    assert got.artifact.content == (head + SECTION).strip("\n")
    assert got.repairs == ["14 repeated paragraphs dropped (the reply looped) [repeats]"]
    # switched off (repairs_off=repeats): the reply is kept as it came, and is unfinished
    kept = draft_file(
        Seen(messages=iter([AIMessage(looping, response_metadata=cut)]), calls=[]),
        [HumanMessage("x")], path="a.md", kind="markdown", max_model_errors=1,
        repairs_off=("repeats",),
    )  # fmt: skip
    assert kept.repairs == [] and kept.artifact is not None
    assert kept.artifact.content.count("### Responsibilities") == 4  # every copy written
    assert "a.md: cut off at the token limit" in kept.problem
    # a draft cut off after a repeat, in new text, is still reported unfinished
    onward = head + SECTION * 2 + "## Data flow\n\nThe counter sums the lines and the wor"
    again = Seen(messages=iter([AIMessage(onward, response_metadata=cut)]), calls=[])
    unfinished = draft_file(again, [HumanMessage("x")], path="a.md", kind="markdown",
                            max_model_errors=1)  # fmt: skip
    assert "a.md: cut off at the token limit" in unfinished.problem
    assert unfinished.artifact is not None and "## Data flow" in unfinished.artifact.content


WORDS = (
    "alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november "
    "oscar papa quebec romeo sierra tango uniform victor whiskey xray yankee zulu"
).split()


def test_a_markdown_list_written_over_to_the_limit_ends_after_its_first_copy() -> None:
    cut = {"finish_reason": "length"}
    head = "# Requirements\n\n## Business rules\n\n" + "".join(
        f"{n}. The {word} order ships on the next working day.\n"
        for n, word in enumerate(WORDS[:20], 1)
    )
    same = "The input text will not contain any leading or trailing spaces."
    looping = head + "".join(f"{n}. {same}\n" for n in range(21, 50)) + "50."  # the 1.5B's BA
    model = Seen(messages=iter([AIMessage(looping, response_metadata=cut)] * 2), calls=[])
    got = draft_file(
        model, [HumanMessage("x")], path="analysis/requirements.md", kind="markdown",
        max_model_errors=1, max_continuations=1,
    )  # fmt: skip
    assert len(model.calls) == 1  # not continued: more would only repeat
    assert got.problem == "" and got.artifact is not None
    assert got.artifact.content == head + f"21. {same}"
    assert got.repairs == [f"the line `21. {same}` written 29 times until the token limit: "
                           "the repeats dropped [repeats]"]  # fmt: skip
    # a table counting up to the limit is a loop too; its first row is kept
    table = "| Id | Control |\n|---|---|\n" + "".join(
        f"| CC{n} | CC{n}.1 reviewed |\n" for n in range(10, 80)
    )
    counted = Seen(messages=iter([AIMessage(table + "| CC80 | CC8", response_metadata=cut)]),
                   calls=[])  # fmt: skip
    got = draft_file(counted, [HumanMessage("x")], path="c.md", kind="markdown",
                     max_model_errors=1)  # fmt: skip
    assert got.problem == "" and got.artifact is not None
    assert got.artifact.content == "| Id | Control |\n|---|---|\n| CC10 | CC10.1 reviewed |"
    # a list of different items cut at the limit is unfinished, as before
    items = head + "".join(f"{n}. The {word} order waits.\n" for n, word in enumerate(WORDS, 21))
    again = Seen(messages=iter([AIMessage(items + "47. The", response_metadata=cut)]), calls=[])
    unfinished = draft_file(again, [HumanMessage("x")], path="a.md", kind="markdown",
                            max_model_errors=1)  # fmt: skip
    assert "a.md: cut off at the token limit" in unfinished.problem
    # in code, cases that differ in their numbers are no loop
    rows = "".join(f"    ({n}, {n + 1}),\n" for n in range(40))
    assert line_loop("CASES = [\n" + rows + "    (4") is None


PHRASE = "and the morning ferry and the evening train "
GROWING = "# Requirements\n\n## Open questions\n\n- Which ports are open\n- Which " + PHRASE * 30


def test_a_markdown_line_that_repeats_a_phrase_is_asked_again_then_ends_after_its_first_copy():
    # the 1.5B's business analysis on a dev library, 3 attempts of 3: one open question
    # grew by the same eight words until the token limit (no line repeated)
    cut, stop = {"finish_reason": "length"}, {"finish_reason": "stop"}
    done = "# Requirements\n\n## Open questions\n\n- Which ports are open\n"
    first = Seen(messages=iter([AIMessage(GROWING + "and the mor", response_metadata=cut)] * 2),
                 calls=[])  # fmt: skip
    again = Seen(messages=iter([AIMessage(done, response_metadata=stop)]), calls=[])
    got = draft_file(
        first, [HumanMessage("x")], path="analysis/requirements.md", kind="markdown",
        max_model_errors=1, max_continuations=1, unloop=again,
    )  # fmt: skip
    assert len(first.calls) == 1 and len(again.calls) == 1  # asked again, never continued
    assert got.problem == "" and got.artifact is not None and got.artifact.content == done.strip()
    assert got.repairs == ["the words `and the morning ferry and the evening train` written 30 "
                           "times until the token limit: asked again with a penalty"]  # fmt: skip
    # looping again: the phrase's first copy stays, the document is not reported unfinished
    looping = [AIMessage(GROWING + "and the mor", response_metadata=cut)]
    still = draft_file(
        Seen(messages=iter(looping * 2), calls=[]), [HumanMessage("x")], path="a.md",
        kind="markdown", max_model_errors=1, max_continuations=1,
        unloop=Seen(messages=iter(looping), calls=[]),
    )  # fmt: skip
    assert still.problem == "" and still.artifact is not None
    assert still.artifact.content.endswith("- Which and the morning ferry and the evening train")
    assert still.artifact.content.count("ferry") == 1
    # code is not asked again for words it repeats inside a line (a line loop is its loop)
    assert phrase_loop("x = '" + "ab cd " * 40 + "ab") is not None
    coded = Seen(messages=iter([AIMessage("x = '" + "ab cd " * 40 + "ab", response_metadata=cut)]),
                 calls=[])  # fmt: skip
    unused = Seen(messages=iter([]), calls=[])
    draft_file(coded, [HumanMessage("x")], path="a.py", kind="python", max_model_errors=1,
               unloop=unused)  # fmt: skip
    assert len(coded.calls) == 1 and unused.calls == []


@pytest.mark.parametrize(
    ("text", "copies"),
    [
        ("Intro. " + PHRASE * 8 + "and", 8),  # eight copies, 64 words: a loop
        ("Intro. " + PHRASE * 5 + "and", None),  # five: not yet
        ("Intro. " + "one two " * 40 + "one", 40),  # a two-word phrase
        (" ".join(WORDS * 3) + " al", None),  # a long text that repeats whole, not a phrase
        ("Intro. " + PHRASE * 9, 9),  # the cut word left out: the last copy counts one less
    ],
)
def test_a_phrase_loop_is_a_few_words_written_over_to_the_end(
    text: str, copies: int | None
) -> None:
    found = phrase_loop(text)
    if copies is None:
        assert found is None
    else:
        assert found is not None and found.copies in (copies, copies - 1)
        assert text.startswith(found.kept) and found.kept.startswith("Intro. ")


def test_short_paragraphs_may_repeat_and_code_is_never_trimmed() -> None:
    doc = "# A\n\n### Inputs\n\nThe file.\n\n### Inputs\n\nThe options."
    assert drop_repeats(doc, cut=False) == (doc, 0, False)
    code = "x = 1\n\n" + "def f(a):\n    return a + 1  # the same helper, on purpose\n\n" * 2
    model = Seen(messages=iter([AIMessage(code, response_metadata={"finish_reason": "stop"})]),
                 calls=[])  # fmt: skip
    got = draft_file(model, [HumanMessage("x")], path="a.py", kind="python", max_model_errors=1)
    assert got.artifact is not None and got.artifact.content == code.strip("\n")
    assert got.repairs == []


ROW = '    ("example.txt", "sha1", "a591a6d40bf3e13ee8cc67d5e998798e"),\n'
TABLE_HEAD = (
    "```python\nimport pytest\nfrom checksum import main\n\n\n"
    '@pytest.mark.parametrize("path, algorithm, digest", [\n'
)
LOOPING = TABLE_HEAD + ROW * 40 + ROW[:30]  # one row until the limit, as the 1.5B wrote the demo's


def test_a_python_reply_that_loops_is_asked_again_once_with_a_penalty_and_not_continued() -> None:
    cut, stop = {"finish_reason": "length"}, {"finish_reason": "stop"}
    good = "from checksum import main\n\n\ndef test_sha1():\n    assert main(['a']) == 0\n"
    first = Seen(messages=iter([AIMessage(LOOPING, response_metadata=cut)] * 3), calls=[])
    again = Seen(messages=iter([AIMessage(good, response_metadata=stop)]), calls=[])
    got = draft_file(
        first, [HumanMessage("x")], path="tests/test_checksum.py", kind="python",
        max_model_errors=1, max_continuations=1, unloop=again,
    )  # fmt: skip
    assert len(first.calls) == 1 and len(again.calls) == 1  # no continuation of the loop
    assert again.calls[0] == first.calls[0]  # the same request, sampled with the penalty
    assert got.problem == "" and got.artifact is not None and got.artifact.content == good.strip()
    assert got.usage.calls == 2
    assert got.repairs[0].startswith('the line `("example.txt", "sha1", "a591a6d40bf3e13ee8cc67')
    assert "written 40 times until the token limit: asked again" in got.repairs[0]


def test_a_python_reply_that_still_loops_is_cut_after_the_first_copy_and_says_what_it_repeated():
    cut = {"finish_reason": "length"}
    for unloop in (
        None,
        Seen(messages=iter([AIMessage(LOOPING, response_metadata=cut)]), calls=[]),
    ):
        first = Seen(messages=iter([AIMessage(LOOPING, response_metadata=cut)] * 3), calls=[])
        got = draft_file(
            first, [HumanMessage("x")], path="checksum.py", kind="python", max_model_errors=1,
            max_continuations=2, unloop=unloop,
        )  # fmt: skip
        assert len(first.calls) == 1  # never continued: more would only repeat
        assert got.artifact is not None and got.artifact.content.count("a591a6d40bf3e") == 1
        assert got.problem.startswith("checksum.py: the line `(")
        assert got.problem.endswith(
            "written 40 times until the token limit; write each case once and finish the file"
        )
    # a tests file keeps its complete tests before the loop, and the loop is recorded
    whole = "from checksum import main\n\n\ndef test_help():\n    assert main(['-h']) == 0\n\n\n"
    looped = AIMessage(whole + LOOPING.removeprefix("```python\n"), response_metadata=cut)
    got = draft_file(
        Seen(messages=iter([looped]), calls=[]), [HumanMessage("x")],
        path="tests/test_checksum.py", kind="python", max_model_errors=1,
    )  # fmt: skip
    assert got.problem == "" and got.artifact is not None and "test_help" in got.artifact.content
    assert "a591a6d40bf3e" not in got.artifact.content
    assert any(
        "written 40 times until the token limit: the repeats dropped" in r for r in got.repairs
    )


@pytest.mark.parametrize(
    ("text", "loop"),
    [
        (TABLE_HEAD + ROW * 12 + "x", 12),  # twelve copies of one line: a loop
        (TABLE_HEAD + ROW * 11 + "x", None),  # eleven: a long table, maybe on purpose
        ("def t():\n" + "    assert f(1) == 2\n" * 5 + "    assert f(", None),  # a few equal checks
        ("x = [\n" + "\n" * 30 + "]\n" * 20 + "y", None),  # blank lines and brackets
        ("def t():\n" + "    a = f(1)\n    assert a == 2\n" * 6 + "  ", 12),  # a two-line block
    ],
)
def test_a_loop_is_a_block_written_over_to_the_end_not_a_few_equal_lines(
    text: str, loop: int | None
) -> None:
    found = line_loop(text)
    if loop is None:
        assert found is None
    else:
        assert found is not None and found.copies * len(found.block) == loop
        assert found.kept.count(found.block[-1]) == 1 and text.startswith(found.kept)


def test_a_loop_is_named_by_its_first_line_with_text() -> None:
    block = "\n\ndef test_same():\n    assert f() == 1\n"
    found = line_loop("import f\n" + block * 6 + "de")  # cut where the block's blank lines begin
    assert found is not None and found.block[:2] == ("", "") and found.copies == 6
    assert found.describe() == "the 4-line block with `def test_same():` written 6 times"


PROMPT = "Write the report. Without NAME it prints a usage message on stderr and exits with code 2."


def ask_about(m: Any, retries: int = 1):
    return request_task_result(
        m, [HumanMessage(PROMPT)], artifacts=ARTS, max_parse_retries=retries, max_model_errors=1
    )


def test_a_blocked_report_that_only_repeats_the_request_is_asked_again() -> None:
    echo = {**GOOD, "status": "BLOCKED", "confidence": 0.4}
    echo["blockers"] = ["Without NAME it prints a usage message on stderr and exits with code 2."]
    m = model(json.dumps(echo), json.dumps(GOOD))
    reply = ask_about(m)
    assert reply.result.status is Status.COMPLETE
    assert reply.usage.calls == 2
    assert "your blockers only repeat the request" in reply.problems[0]
    # nearly word for word (a recalled memory, retold) is an echo too
    echo["blockers"] = [f"Run 42 (default) FAILED: {PROMPT}"]
    assert ask_about(model(json.dumps(echo), json.dumps(GOOD))).usage.calls == 2


def test_a_real_blocker_is_kept_and_an_echo_at_the_cap_is_read_as_complete() -> None:
    taken = "The package name greet is already taken on PyPI, so it cannot be published"
    real = {**GOOD, "status": "BLOCKED", "confidence": 0.3, "blockers": [taken, "No NAME"]}
    reply = ask_about(model(json.dumps(real), json.dumps(GOOD)))
    assert reply.result.status is Status.BLOCKED and reply.usage.calls == 1
    assert reply.result.blockers == [taken, "No NAME"] and reply.repairs == []
    # one real blocker among echoes: a real report, not asked again
    mixed = {**real, "blockers": [taken, "it prints a usage message on stderr and exits"]}
    reply = ask_about(model(json.dumps(mixed), json.dumps(mixed)))
    assert reply.result.status is Status.BLOCKED and reply.usage.calls == 1
    echo = {**real, "blockers": ["it prints a usage message on stderr and exits with code 2"]}
    reply = ask_about(model(json.dumps(echo), json.dumps(echo)), retries=1)
    assert reply.usage.calls == 2  # asked again, echoed again: the status is read, recorded
    assert reply.result.status is Status.COMPLETE and reply.result.blockers == []
    assert reply.result.confidence == 0.3  # the gate still judges the confidence
    assert reply.repairs == [
        "status BLOCKED read as COMPLETE: every blocker repeated the request "
        "('it prints a usage message on stderr and exits with code 2')"
    ]
