"""The report schema admits only consistent results, and compiles to a small grammar."""

from __future__ import annotations

import json
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from devfactory.graph.model_io.schema import report_schema
from devfactory.models.server_chat import json_schema_grammar
from devfactory.teams import load_teams
from tests.fakes import good_report

TEAMS = load_teams()


def valid(schema: dict, doc: dict) -> bool:
    return Draft202012Validator(schema).is_valid(doc)


def test_report_schema_allows_each_status_only_with_what_it_needs() -> None:
    spec = TEAMS["backend-engineering"]
    schema = report_schema(spec)
    assert valid(schema, good_report(spec))
    question = {"target_team": "api-design", "question": "Which auth scheme?"}
    assert valid(
        schema, good_report(spec, status="NEEDS_CLARIFICATION", clarification_needed=question)
    )
    assert not valid(schema, good_report(spec, status="NEEDS_CLARIFICATION"))  # no question
    assert not valid(
        schema,
        good_report(
            spec,
            status="NEEDS_CLARIFICATION",
            clarification_needed={"target_team": "backend-engineering", "question": "me?"},
        ),
    )  # not in may_ask
    assert valid(schema, good_report(spec, status="BLOCKED", blockers=["no spec"]))
    assert not valid(schema, good_report(spec, status="BLOCKED"))  # no blocker
    assert not valid(schema, good_report(spec, blockers=["but complete"]))
    assert not valid(schema, good_report(spec, status="DONE"))
    assert not valid(schema, good_report(spec, confidence=1.5))
    assert not valid(schema, {**good_report(spec), "artifacts": []})  # drafted apart


@pytest.mark.parametrize("slug", sorted(TEAMS))
def test_every_team_schema_compiles_to_a_bounded_grammar(slug: str) -> None:
    gbnf = json_schema_grammar(json.dumps(report_schema(TEAMS[slug]), sort_keys=True))
    assert len(gbnf) < 20_000  # compact {m,n} repetition, not thousands of nested optionals
    assert "char{1,600}" in gbnf and "char{1,300}" in gbnf
    char_rule = next(line for line in gbnf.splitlines() if line.startswith("char ::="))
    assert r"\x00-\x1F" in char_rule  # raw control characters can never be emitted
    assert "root ::= alternative-0 | alternative-1 | alternative-2" in gbnf


@pytest.mark.parametrize("slug", [s for s, spec in load_teams().items() if spec.may_ask])
def test_each_team_gets_a_request_clarification_tool_for_the_teams_it_may_ask(slug: str) -> None:
    from pydantic import ValidationError

    from devfactory.graph.clarification_tools import clarification_tool, tool_arguments_schema
    from devfactory.graph.model_io.briefs import system_prompt

    spec = load_teams()[slug]
    tool = clarification_tool(spec)
    target = spec.may_ask[0]
    assert tool.name == "request_clarification"
    assert tool.invoke({"target_team": target, "question": "Which?"}) == {
        "target_team": target,
        "question": "Which?",
    }
    with pytest.raises(ValidationError):
        tool.invoke({"target_team": slug, "question": "Myself?"})  # never its own team
    asking = next(
        v
        for v in report_schema(spec)["anyOf"]
        if v["properties"]["status"] == {"const": "NEEDS_CLARIFICATION"}
    )
    assert asking["properties"]["clarification_needed"] == tool_arguments_schema(spec)
    assert asking["properties"]["clarification_needed"]["properties"]["target_team"]["enum"] == (
        list(spec.may_ask)
    )
    prompt = str(system_prompt(spec).content)
    assert "## Tool: request_clarification(target_team, question)" in prompt
    assert ", ".join(spec.may_ask) in prompt


def test_a_report_that_can_no_longer_ask_is_not_offered_a_question() -> None:
    spec = TEAMS["solution-architecture"]
    settled = report_schema(spec, can_ask=False)
    statuses = [v["properties"]["status"]["const"] for v in settled["anyOf"]]
    assert statuses == ["COMPLETE", "BLOCKED"]
    question = {"target_team": "product-management", "question": "What is it for?"}
    asking = good_report(spec, status="NEEDS_CLARIFICATION", clarification_needed=question)
    assert valid(report_schema(spec), asking) and not valid(settled, asking)
    gbnf = json_schema_grammar(json.dumps(settled, sort_keys=True))
    assert "root ::= alternative-0 | alternative-1\n" in gbnf + "\n"


class RecordingModels:
    """Scripted models that keep every report schema a stage binds, beside the call count."""

    def __init__(self) -> None:
        from tests.fakes import ScriptedModels

        self.inner = ScriptedModels()
        self.chat = self.inner.chat
        self.bound: list[tuple[int, list[str]]] = []

    def resolve(self, alias: str) -> Any:
        from devfactory.models.router import ResolvedModel

        def bind(chat: Any, schema: dict[str, Any]) -> Any:
            variants = schema.get("anyOf", [])
            statuses = [v["properties"]["status"]["const"] for v in variants if "status" in str(v)]
            if statuses:
                self.bound.append((len(self.chat.calls), statuses))
            return chat

        return ResolvedModel(alias, "scripted:fake", self.chat, bind)


@pytest.mark.parametrize(("max_clarifications", "first"), [(0, False), (2, True)])
def test_the_report_offers_a_question_only_while_one_can_be_routed(
    settings: Any, max_clarifications: int, first: bool
) -> None:
    from tests.fakes import run_graph

    models = RecordingModels()
    tuned = settings.with_overrides(max_clarifications=max_clarifications, max_stage_attempts=2)
    run_graph("mvp", models, tuned, "A REST API for a personal todo list")  # type: ignore[arg-type]
    assert models.bound, "no report schema was bound"
    offered = ["NEEDS_CLARIFICATION" in statuses for _n, statuses in models.bound]
    assert all(offered) is first and any(offered) is first
