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
from functools import partial
from typing import Any, Literal

from langchain_core.messages import HumanMessage, SystemMessage
from pydantic import BaseModel, ConfigDict, Field

from devfactory.contracts import Hop, StageRecord, Usage
from devfactory.graph.model_io.prompt_files import render_prompt
from devfactory.models.io import Answer, JsonSchema, ask_structured, grammar_schema, with_choices
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


def responder_schema(spec: TeamSpec) -> JsonSchema:
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
        return f"cycle refused: {' -> '.join([*chain, target])}"
    if target not in teams[asker].may_ask:
        return f"target refused: {asker} may ask only {', '.join(teams[asker].may_ask) or 'nobody'}"
    if len(chain) > max_hops:
        return f"hop limit reached: {' -> '.join([*chain, target])} exceeds {max_hops} hops"
    return ""


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


@dataclass(frozen=True)
class Broker:
    """What every hop of a question shares: the teams, the run, the models and the limits.

    Attributes:
        teams: the registry (who may ask whom, each responder's identity).
        requirement: the requirement as the responders see it.
        stages: the run's stage records (what each responder knows in this run).
        resolve: the model serving a team.
        max_hops: how many teams a question may pass through after the first.
        max_parse_retries: further tries for a reply that is not a valid answer.
        max_model_errors: retries of a model's transport errors.
        context_chars: how much of each file a responder sees.

    """

    teams: TeamRegistry
    requirement: str
    stages: Mapping[str, StageRecord]
    resolve: Resolve
    max_hops: int
    max_parse_retries: int
    max_model_errors: int
    context_chars: int


def _known(record: StageRecord | None, limit: int) -> str:
    result = record.result if record is not None else None
    if result is None:
        return "Your team has not worked on this run yet; answer from your expertise."
    facts = "\n".join(f"- {f}" for f in result.verified_facts) or "- (none)"
    files = "\n".join(f"#### {a.path}\n{a.content[:limit]}" for a in result.artifacts)
    return f"Verified facts:\n{facts}\n{files}"


def consult(
    broker: Broker, *, asker: str, target: str, question: str, asker_context: str
) -> Consultation:
    """Answer ``asker``'s ``question`` through ``target`` (and further teams, bounded)."""
    out = Consultation()
    answer, why = ask(broker, out, [asker], target, question, asker_context)
    out.answer, out.escalate = answer, why
    if not answer:
        out.answered_by = ""
    return out


def ask(
    broker: Broker, out: Consultation, chain: list[str], who: str, question: str, context: str
) -> tuple[str, str]:
    """Have ``who`` answer the last team of ``chain``; return ``(answer, escalation reason)``.

    A responder that needs another team first asks it (``ask_further``, one
    hop deeper) and then answers once more with that answer; every hop is
    recorded in ``out``.
    """
    asker = chain[-1]
    hop = partial(Hop, asker=asker, target=who, question=question)
    why = refusal(broker.teams, asker, who, chain=chain, max_hops=broker.max_hops)
    if why:
        out.hops.append(hop(outcome="refused", reason=why))
        return "", why
    answers = ""
    for _ in range(2):  # once, plus once more after a further team answered
        said = respond(broker, out, asker, who, question, context, answers)
        reply = said.value
        if reply is None:
            why = f"{who} gave no valid answer: {said.problem}"
        elif reply.status == "ANSWERED" and reply.answer.strip():
            answered = hop(
                outcome="answered",
                answer=reply.answer,
                confidence=reply.confidence,
                model=said.model,
            )
            out.hops.append(answered)
            out.answered_by = who
            return reply.answer, ""
        elif (
            reply.status == "NEEDS_CLARIFICATION"
            and reply.target_team
            and reply.question
            and not answers
        ):
            answers, why = ask_further(broker, out, [*chain, who], reply, question)
            if why:
                return "", why
            continue
        else:
            why = f"{who} cannot answer: {reply.answer or 'no answer given'}"
        out.hops.append(hop(outcome="cannot_answer", reason=why))
        return "", why
    return "", f"{who} could not answer after a further team's answer"


def ask_further(
    broker: Broker, out: Consultation, chain: list[str], reply: ResponderReply, question: str
) -> tuple[str, str]:
    """Pass a responder's own question one hop on; return the answer as its prompt's section.

    ``chain`` ends with the responder; the second value is why a person must
    answer instead ("" when the further team answered).
    """
    assert reply.target_team and reply.question  # ask routes here only with both
    who = chain[-1]
    asked = f"asked {reply.target_team}: {reply.question}"
    out.hops.append(
        Hop(asker=chain[-2], target=who, question=question, outcome="asked_further", reason=asked)
    )
    further, why = ask(broker, out, chain, reply.target_team, reply.question, reply.answer)
    if why:
        return "", why
    return (
        f"\n## {broker.teams[reply.target_team].name} answered your question\n"
        f"{reply.question}\n-> {further}\n"
    ), ""


def respond(
    broker: Broker,
    out: Consultation,
    asker: str,
    who: str,
    question: str,
    context: str,
    answers: str,
) -> Answer[ResponderReply]:
    """Ask ``who``'s model for its reply (repaired, retried), metered to ``who``.

    ``answers`` holds what further teams answered the responder, if it asked.
    """
    spec, teams = broker.teams[who], broker.teams
    resolved = broker.resolve(spec)
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
                asker_name=teams[asker].name,
                question=question,
                requirement=broker.requirement,
                asker_context=context or "(nothing yet)",
                known=_known(broker.stages.get(who), broker.context_chars),
                answers=answers,
            )
        ),
    ]
    started = time.perf_counter()
    reply = ask_structured(
        resolved.structured(responder_schema(spec)),
        messages,
        ResponderReply,
        max_parse_retries=broker.max_parse_retries,
        max_model_errors=broker.max_model_errors,
    )
    out.usage[who] = out.usage.get(who, Usage()).add(reply.usage)
    out.models[who] = reply.model or resolved.label
    out.seconds[who] = out.seconds.get(who, 0.0) + time.perf_counter() - started
    return reply
