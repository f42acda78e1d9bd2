"""The report parser meets nested, huge and binary input and only ever says "invalid"."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, HumanMessage

from devfactory.contracts import Artifact, Status, TaskResult
from devfactory.graph.model_io.structured import parse_task_result, request_task_result

ARTS = [Artifact(path="docs/readme.md", kind="markdown", content="# Hi\n")]

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**4000), max_value=10**4000)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=200),
    lambda inner: (
        st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=20), inner, max_size=5)
    ),
    max_leaves=40,
)


def nested(depth: int, opener: str) -> str:
    closer = {"[": "]", "{": "}"}[opener]
    inner = '"a":' if opener == "{" else ""
    return (opener + inner) * depth + "1" + closer * depth


hostile = st.one_of(
    st.binary(max_size=3000).map(lambda b: b.decode("latin-1")),
    st.text(max_size=3000),
    json_values.map(lambda v: json.dumps(v)),
    st.builds(nested, st.integers(min_value=1, max_value=3000), st.sampled_from("[{")),
    st.integers(min_value=1, max_value=60_000).map(lambda n: "{" * n),
    st.integers(min_value=1, max_value=8_000).map(lambda n: '{"confidence": ' + "9" * n + "}"),
    st.integers(min_value=60_001, max_value=120_000).map(lambda n: " " * n + "{}"),
    st.text(alphabet='{}[]",:\\0123456789.e-\x00', max_size=2000),
)


@settings(max_examples=300, deadline=None)
@given(text=hostile)
def test_the_parser_never_raises_on_anything_a_model_could_send(text: str) -> None:
    result, problem, repairs = parse_task_result(text, ARTS)
    assert isinstance(repairs, list)
    if result is None:
        assert isinstance(problem, str) and problem  # invalid, and says why
    else:
        assert isinstance(result, TaskResult) and problem == ""
        assert "\x00" not in json.dumps(result.model_dump(mode="json"))


def replies(*texts: str) -> GenericFakeChatModel:
    def gen() -> Iterator[AIMessage]:
        for t in texts:
            yield AIMessage(
                t, usage_metadata={"input_tokens": 1, "output_tokens": 1, "total_tokens": 2}
            )

    return GenericFakeChatModel(messages=gen())


@settings(max_examples=60, deadline=None)
@given(texts=st.lists(hostile, min_size=3, max_size=3))
def test_hostile_replies_are_retried_then_blocked_with_the_reason(texts: list[str]) -> None:
    good = json.dumps(
        {
            "reasoning": "r",
            "verified_facts": [],
            "assumptions_made": [],
            "status": "COMPLETE",
            "confidence": 0.9,
            "blockers": [],
            "clarification_needed": None,
        }
    )
    reply = request_task_result(
        replies(*texts, good),
        [HumanMessage("report")],
        artifacts=ARTS,
        max_parse_retries=2,
        max_model_errors=1,
    )
    assert reply.usage.calls <= 3  # never past the cap
    parsed: Any = reply.result
    if reply.usage.calls == 3 and parsed.status is Status.BLOCKED:
        assert "not a valid TaskResult after 3 tries" in parsed.blockers[0]
