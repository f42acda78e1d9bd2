"""Team tools generated from the registry: ``request_clarification`` per team.

The tool's arguments are generated from the team's ``may_ask`` list, so a
team can only name teams it is allowed to ask. Teams call it through their
report (``status: NEEDS_CLARIFICATION`` with ``clarification_needed`` set to
the tool's arguments): the report schema embeds the tool's argument schema, so
a grammar-constrained model can only produce a valid call, and the gate hands
it to the broker. The broker checks every rule again, for models whose output
is not constrained.
"""

from __future__ import annotations

from functools import cache
from typing import Any, Literal

from langchain_core.tools import StructuredTool
from pydantic import BaseModel, Field, create_model

from devfactory.contracts import Clarification
from devfactory.models.io import JsonSchema, grammar_schema
from devfactory.teams.spec import TeamSpec

TOOL_NAME = "request_clarification"


def _arguments(spec: TeamSpec) -> type[BaseModel]:
    targets = tuple(spec.may_ask) or ("none",)
    target_type: Any = Literal[targets]  # generated from the registry, per team
    described = Field(description="The team that can answer: " + ", ".join(targets))
    return create_model(
        "RequestClarification",
        target_team=(target_type, described),
        question=(str, Field(min_length=1, max_length=300, description="One precise question.")),
    )


@cache
def clarification_tool(spec: TeamSpec) -> StructuredTool:
    """Return ``spec``'s ``request_clarification`` tool."""

    def request_clarification(target_team: str, question: str) -> dict[str, Any]:
        return Clarification(target_team=target_team, question=question).model_dump()

    return StructuredTool.from_function(
        func=request_clarification,
        name=TOOL_NAME,
        description=(
            "Ask another team for a decision you cannot make yourself; the factory's broker "
            "asks that team (or a person) and you get the answer on your next attempt. Ask one "
            "precise question, never about what you can decide yourself."
        ),
        args_schema=_arguments(spec),
    )


def tool_arguments_schema(spec: TeamSpec) -> JsonSchema:
    """JSON schema of the tool's arguments, as report grammars embed it."""
    return grammar_schema(clarification_tool(spec).args_schema)  # type: ignore[arg-type]
