"""The clarification broker: route a team's question to the team that can answer it.

The target team answers as a focused responder (its identity, what it knows in
this run, the question and the asking team's context). A responder may ask a
further team; the chain is bounded by ``max_hops`` and may never revisit a
team (no A -> B -> A). A question that is refused (self-route, unknown or
disallowed target, cycle, hop or request limit) or that no responder can
answer escalates to a person.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from langchain_core.messages import HumanMessage, SystemMessage
from pydantic import BaseModel, ConfigDict, Field

from devfactory.contracts import TaskResult, Usage
from devfactory.graph.prompts import render_prompt
from devfactory.models.io import ask_structured, grammar_schema, with_choices
from devfactory.teams.registry import TeamRegistry
from devfactory.teams.spec import TeamSpec


class ResponderReply(BaseModel):
    """A responder's answer to a question (its grammar is derived from this model)."""

    model_config = ConfigDict(extra="forbid")

    answer: str = Field(default="", max_length=800)
    status: Literal["ANSWERED", "CANNOT_ANSWER", "NEEDS_CLARIFICATION"]
    confidence: float = Field(ge=0.0, le=1.0)
    target_team: str | None = Field(default=None, max_length=60)
    question: str | None = Field(default=None, max_length=300)


def responder_schema(spec: TeamSpec) -> dict[str, Any]:
    """JSON schema of ``spec``'s reply: a further question may go only to teams it may ask."""
    return with_choices(
        grammar_schema(ResponderReply), "target_team", list(spec.may_ask) or ["none"]
    )


def refusal(
    teams: TeamRegistry,
    asker: str,
    target: str,
    *,
    chain: Sequence[str],
    max_hops: int,
) -> str:
    """Say why ``asker`` may not ask ``target`` now ("" when it may).

    ``chain`` lists the teams already in this question's chain, the original
    asker first; the new hop would be hop number ``len(chain)``.
    """
    if target == asker:
        return f"self-route refused: {asker} cannot ask itself"
    if target not in teams:
        return f"unknown target refused: no team {target!r}"
    if target in chain:
        path = " -> ".join([*chain, target])
        return f"cycle refused: {path}"
    if target not in teams[asker].may_ask:
        return f"target refused: {asker} may ask only {', '.join(teams[asker].may_ask) or 'nobody'}"
    if len(chain) > max_hops:
        return f"hop limit reached: {' -> '.join([*chain, target])} exceeds {max_hops} hops"
    return ""


@dataclass
class Hop:
    """One step of a clarification chain, as recorded in the run."""

    asker: str
    target: str
    question: str
    outcome: Literal["answered", "cannot_answer", "refused", "asked_further"]
    answer: str = ""
    reason: str = ""
    confidence: float = 0.0
    model: str = ""

    def to_state(self) -> dict[str, Any]:
        """Serialise for graph state."""
        return dict(self.__dict__)


@dataclass
class Consultation:
    """The broker's result: an answer, or why a person must give one."""

    answer: str = ""
    answered_by: str = ""
    escalate: str = ""  # why a person must answer ("" when answered)
    hops: list[Hop] = field(default_factory=list)
    usage: dict[str, Usage] = field(default_factory=dict)  # by responding team
    models: dict[str, str] = field(default_factory=dict)  # the model that served each team
    seconds: dict[str, float] = field(default_factory=dict)  # model time by team


Resolve = Callable[[TeamSpec], Any]  # spec -> ResolvedModel


def _known(record: Mapping[str, Any] | None, limit: int) -> str:
    if not record or not record.get("result"):
        return "Your team has not worked on this run yet; answer from your expertise."
    result = TaskResult.model_validate(record["result"])
    facts = "\n".join(f"- {f}" for f in result.verified_facts) or "- (none)"
    files = "\n".join(f"#### {a.path}\n{a.content[:limit]}" for a in result.artifacts)
    return f"Verified facts:\n{facts}\n{files}"


def consult(
    teams: TeamRegistry,
    *,
    asker: str,
    target: str,
    question: str,
    requirement: str,
    asker_context: str,
    stages: Mapping[str, Any],
    resolve: Resolve,
    max_hops: int,
    max_parse_retries: int,
    max_model_errors: int,
    context_chars: int,
) -> Consultation:
    """Answer ``asker``'s ``question`` through ``target`` (and further teams, bounded)."""
    out = Consultation()

    def ask(chain: list[str], who: str, q: str, ctx: str) -> tuple[str, str]:
        """Return ``(answer, escalation reason)`` for ``chain[-1]`` asking ``who``."""
        why = refusal(teams, chain[-1], who, chain=chain, max_hops=max_hops)
        if why:
            out.hops.append(Hop(chain[-1], who, q, "refused", reason=why))
            return "", why
        spec = teams[who]
        answers = ""
        for _ in range(2):  # once, plus once more after a further team answered
            resolved = resolve(spec)
            messages = [
                SystemMessage(
                    render_prompt(
                        "responder_system",
                        team_name=spec.name,
                        soul=spec.soul.strip(),
                        may_ask=", ".join(spec.may_ask) or "none",
                    )
                ),
                HumanMessage(
                    render_prompt(
                        "responder_task",
                        asker_name=teams[chain[-1]].name,
                        question=q,
                        requirement=requirement,
                        asker_context=ctx or "(nothing yet)",
                        known=_known(stages.get(who), context_chars),
                        answers=answers,
                    )
                ),
            ]
            started = time.perf_counter()
            reply = ask_structured(
                resolved.structured(responder_schema(spec)),
                messages,
                ResponderReply,
                max_parse_retries=max_parse_retries,
                max_model_errors=max_model_errors,
            )
            out.usage[who] = out.usage.get(who, Usage()).add(reply.usage)
            out.models[who] = reply.model or resolved.label
            out.seconds[who] = out.seconds.get(who, 0.0) + time.perf_counter() - started
            value = reply.value
            if value is None:
                why = f"{who} gave no valid answer: {reply.problem}"
                out.hops.append(Hop(chain[-1], who, q, "cannot_answer", reason=why))
                return "", why
            if value.status == "ANSWERED" and value.answer.strip():
                out.hops.append(
                    Hop(
                        chain[-1],
                        who,
                        q,
                        "answered",
                        value.answer,
                        "",
                        value.confidence,
                        reply.model,
                    )
                )
                out.answered_by = who
                return value.answer, ""
            if (
                value.status == "NEEDS_CLARIFICATION"
                and value.target_team
                and value.question
                and not answers
            ):
                out.hops.append(
                    Hop(
                        chain[-1],
                        who,
                        q,
                        "asked_further",
                        reason=f"asked {value.target_team}: {value.question}",
                    )
                )
                further, why = ask([*chain, who], value.target_team, value.question, value.answer)
                if why:
                    return "", why
                answers = (
                    f"\n## {teams[value.target_team].name} answered your question\n"
                    f"{value.question}\n-> {further}\n"
                )
                continue
            why = f"{who} cannot answer: {value.answer or 'no answer given'}"
            out.hops.append(Hop(chain[-1], who, q, "cannot_answer", reason=why))
            return "", why
        return "", f"{who} could not answer after a further team's answer"

    answer, why = ask([asker], target, question, asker_context)
    out.answer, out.escalate = answer, why
    if not answer:
        out.answered_by = ""
    return out
