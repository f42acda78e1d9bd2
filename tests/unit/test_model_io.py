"""One model-I/O module: derived grammars agree with their models; one model-source hook."""

from __future__ import annotations

import json
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, HumanMessage
from pydantic import BaseModel, ValidationError

from devfactory.chat.talk import SpeakerChoice, speaker_schema
from devfactory.control.policy import Assessment, Risk
from devfactory.graph.broker import ResponderReply, responder_schema
from devfactory.memory.facts import Extraction, extraction_schema
from devfactory.models.io import ask_structured, parse_object
from devfactory.models.router import ModelRouter, model_source
from devfactory.settings import Settings
from devfactory.teams import load_teams
from tests.fakes import ScriptedModels

SPEC = load_teams()["backend-engineering"]

# (model, the schema its grammar gets, a reply at every bound, the same reply one step over)
CASES: list[tuple[type[BaseModel], dict[str, Any], dict[str, Any], dict[str, Any]]] = [
    (
        ResponderReply,
        responder_schema(SPEC),
        {
            "answer": "a" * 800,
            "status": "NEEDS_CLARIFICATION",
            "confidence": 1.0,
            "target_team": SPEC.may_ask[0],
            "question": "q" * 300,
        },
        {
            "answer": "a" * 801,
            "status": "ANSWERED",
            "confidence": 0.5,
            "target_team": None,
            "question": None,
        },
    ),
    (
        Assessment,
        Assessment.model_json_schema()
        and __import__("devfactory.models.io", fromlist=["grammar_schema"]).grammar_schema(
            Assessment
        ),
        {
            "reasons": ["r" * 200] * 4,
            "risk_factors": ["f" * 120] * 6,
            "risk": "LOW",
            "confidence": 0,
        },
        {"reasons": ["r"] * 5, "risk_factors": [], "risk": "LOW", "confidence": 0.5},
    ),
    (
        Extraction,
        extraction_schema(20),
        {"memory": [{"text": "t" * 300}]},
        {"memory": [{"text": "t" * 301}]},
    ),
    (
        SpeakerChoice,
        speaker_schema(["qa-engineering"]),
        {"speaker": "qa-engineering", "reason": "x" * 300},
        {"speaker": "qa-engineering", "reason": "x" * 301},
    ),
]


@pytest.mark.parametrize(("model", "schema", "at_bound", "over"), CASES)
def test_the_grammar_and_the_model_accept_and_refuse_the_same_replies(
    model: type[BaseModel], schema: dict[str, Any], at_bound: dict[str, Any], over: dict[str, Any]
) -> None:
    validator = Draft202012Validator(schema)
    assert validator.is_valid(at_bound)
    model.model_validate(at_bound)
    assert not validator.is_valid(over)
    with pytest.raises(ValidationError):
        model.model_validate(over)
    assert schema["required"] == list(schema["properties"])  # a decoder emits every field


def test_a_responder_may_name_only_the_teams_it_may_ask() -> None:
    target = responder_schema(SPEC)["properties"]["target_team"]
    assert target == {"anyOf": [{"enum": list(SPEC.may_ask)}, {"type": "null"}]}


def test_enum_case_is_repaired_for_every_model_and_bounds_are_fed_back() -> None:
    replies = iter(
        [
            AIMessage(
                json.dumps(
                    {"reasons": ["x"] * 5, "risk_factors": [], "risk": "high", "confidence": 0.9}
                )
            ),
            AIMessage(
                json.dumps(
                    {"reasons": ["x"], "risk_factors": [], "risk": "high", "confidence": 0.9}
                )
            ),
        ]
    )
    seen: list[list[Any]] = []

    class Spy(GenericFakeChatModel):
        def _generate(self, messages, *a, **k):  # type: ignore[no-untyped-def, override]
            seen.append(list(messages))
            return super()._generate(messages, *a, **k)

    answer = ask_structured(
        Spy(messages=replies),
        [HumanMessage("rate it")],
        Assessment,
        max_parse_retries=1,
        max_model_errors=1,
    )
    assert answer.value is not None and answer.value.risk is Risk.HIGH
    assert "risk 'high' -> 'HIGH'" in answer.repairs
    assert answer.problems == ["reasons: List should have at most 4 items after validation, not 5"]
    assert "at most 4 items" in str(seen[1][-1].content)  # the model saw what to fix


def test_every_entry_point_takes_its_models_from_one_hook(settings: Settings) -> None:
    router = model_source(settings)
    assert isinstance(router, ModelRouter) and model_source(settings) is router
    hooked = settings.with_overrides(models_factory="tests.browser.models:scripted")
    scripted = model_source(hooked)
    assert isinstance(scripted, ScriptedModels)
    assert model_source(hooked) is scripted  # built once per process, so calls are counted
    assert scripted.resolve("factory/coder").label == "scripted:fake"


class _Item(BaseModel):
    name: str
    size: int


class _Items(BaseModel):
    items: list[_Item]


def test_a_reply_cut_off_in_its_last_list_item_keeps_the_items_before_it() -> None:
    whole = '{"items": [{"name": "a", "size": 1}, {"name": "b", "size": 2}'
    value, problem, repairs = parse_object(whole + ', {"name": "c", "si', _Items)
    assert value is not None and [i.name for i in value.items] == ["a", "b"], problem
    assert repairs == ["JSON syntax repaired", "items: the last item, cut off, dropped"]
    # a reply that ends whole is not cut: its bad last item goes back to the model
    whole_bad = whole + ', {"name": "c"}]}'
    assert parse_object(whole_bad, _Items)[0] is None
    # only the last item is dropped: an earlier bad one refuses the reply
    early = '{"items": [{"name": "a"}, {"name": "b", "size": 2}, {"name": "c", "si'
    value, problem, _ = parse_object(early, _Items)
    assert value is None and "items.0.size: Field required" in problem
