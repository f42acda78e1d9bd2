"""The JSON schema of a team's report (the TaskResult contract, minus artifacts)."""

from __future__ import annotations

from typing import Any

from devfactory.contracts import Status, TaskResult
from devfactory.graph.tools import tool_arguments_schema
from devfactory.models.io import grammar_schema
from devfactory.teams.spec import TeamSpec


def report_schema(spec: TeamSpec) -> dict[str, Any]:
    """Return the JSON schema of a team's report: a TaskResult without artifacts.

    Artifacts are drafted as plain files first (small models write files far
    better outside JSON strings) and joined to the report afterwards. One
    variant per status carries only what that status allows (COMPLETE: no
    blockers, no question; NEEDS_CLARIFICATION: the arguments of the team's
    ``request_clarification`` tool; BLOCKED: at least one blocker), so a
    grammar-constrained decoder can only emit a consistent report. Reasoning
    and facts come before the status and confidence, so the model reviews
    before it rates.
    """
    base = grammar_schema(TaskResult)["properties"]
    question = tool_arguments_schema(spec)  # the team's request_clarification tool
    blockers = base["blockers"]

    def variant(status: Status, blockers_schema: dict[str, Any], clar: dict[str, Any]) -> dict:
        props = {
            "reasoning": {**base["reasoning"], "maxLength": 600},
            "verified_facts": {**base["verified_facts"], "maxItems": 6},
            "assumptions_made": {**base["assumptions_made"], "maxItems": 6},
            "status": {"const": status.value},
            "confidence": base["confidence"],
            "blockers": blockers_schema,
            "clarification_needed": clar,
        }
        return {
            "type": "object",
            "properties": props,
            "required": list(props),
            "additionalProperties": False,
        }

    return {
        "anyOf": [
            variant(Status.COMPLETE, {**blockers, "maxItems": 0}, {"type": "null"}),
            variant(Status.NEEDS_CLARIFICATION, blockers, question),
            variant(Status.BLOCKED, {**blockers, "minItems": 1}, {"type": "null"}),
        ]
    }
