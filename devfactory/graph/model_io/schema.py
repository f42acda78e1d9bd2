"""The JSON schema of a team's report (the TaskResult contract, minus artifacts)."""

from __future__ import annotations

from devfactory.contracts import Status, TaskResult
from devfactory.graph.clarification_tools import tool_arguments_schema
from devfactory.models.io import JsonSchema, grammar_schema
from devfactory.teams.spec import TeamSpec


def report_schema(spec: TeamSpec, *, can_ask: bool = True) -> JsonSchema:
    """Return the JSON schema of a team's report: a TaskResult without artifacts.

    Artifacts are drafted as plain files first (small models write files far
    better outside JSON strings) and joined to the report afterwards. One
    variant per status carries only what that status allows (COMPLETE: no
    blockers, no question; NEEDS_CLARIFICATION: the arguments of the team's
    ``request_clarification`` tool; BLOCKED: at least one blocker), so a
    grammar-constrained decoder can only emit a consistent report. Reasoning
    and facts come before the status and confidence, so the model reviews
    before it rates. Without ``can_ask`` (no question can be routed: the
    stage's clarification cap is spent, or no attempt is left to use an answer)
    and for a team that may ask nobody, NEEDS_CLARIFICATION is not offered.
    """
    base = grammar_schema(TaskResult)["properties"]
    question = tool_arguments_schema(spec)  # the team's request_clarification tool
    blockers = base["blockers"]

    def variant(status: Status, blockers_schema: JsonSchema, clar: JsonSchema) -> JsonSchema:
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

    variants = [variant(Status.COMPLETE, {**blockers, "maxItems": 0}, {"type": "null"})]
    if can_ask and spec.may_ask:
        variants.append(variant(Status.NEEDS_CLARIFICATION, blockers, question))
    variants.append(variant(Status.BLOCKED, {**blockers, "minItems": 1}, {"type": "null"}))
    return {"anyOf": variants}
