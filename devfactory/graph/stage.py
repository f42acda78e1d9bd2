"""``make_team_node``: the one factory that turns a ``TeamSpec`` into a stage.

A stage is a small compiled subgraph. It starts by recalling what the team
and the factory remember (``recall``) and ends by retaining what it learned
(``retain``). In between, the team drafts each deliverable as a plain file
(``draft``), reports on them as a ``TaskResult`` (``report``) and
the ``gate`` decides: pass; retry with feedback (bounded); route a question to
the clarification broker (``clarify``), which may hand it to a person
(``consult``); or, at the attempt cap, ask a person what to do (``escalate``)
before the stage ends BLOCKED. Budgets are checked before every attempt: at
the warning line a person approves an override, at the cap the stage stops.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage
from langgraph.config import get_stream_writer
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.runtime import Runtime
from langgraph.types import Command

from devfactory.contracts import Artifact, StageOutcome, StageRecord, TaskResult, Usage
from devfactory.control.hitl import make_pause
from devfactory.graph import metering
from devfactory.graph.ask import Answer, ask_model
from devfactory.graph.briefs import draft_messages, report_messages
from devfactory.graph.broker import consult
from devfactory.graph.budget_gate import budget_gate
from devfactory.graph.context import Context
from devfactory.graph.gate import Route, assess
from devfactory.graph.hitl import ask_person
from devfactory.graph.lifecycle import task_key
from devfactory.graph.prompts import render_prompt
from devfactory.graph.schema import report_schema
from devfactory.graph.state import RunState, StageOutput, StageState
from devfactory.graph.structured import draft_file, request_task_result
from devfactory.memory.facts import Ask, Extraction, extraction_schema
from devfactory.memory.packing import token_counter
from devfactory.models.router import ModelUnavailableError, ResolvedModel
from devfactory.teams.registry import TeamRegistry
from devfactory.teams.spec import TeamSpec


def notes_for(state: Mapping[str, Any]) -> list[str]:
    """Render the answers and guidance a stage received, and the reviewer's feedback."""
    notes = [
        f"{a['from']} answered {a['question']!r}: {a['answer']}" for a in state.get("answers", [])
    ]
    if state.get("revision"):
        notes.append(
            f"The reviewer asked for changes (revision {state['revision']}): "
            f"{state.get('review_feedback', '')}. Revise your previous version accordingly."
        )
    return notes


def fact_asker(spec: TeamSpec, context: Context) -> Ask:
    """Return the ``Ask`` mem0's extraction goes through: the fact model, bounded and repaired."""
    settings = context.settings
    resolved = context.model_source().resolve(settings.fact_alias)
    bound = resolved.structured(extraction_schema(settings.max_facts_per_stage))

    def ask(existing: str, new: str) -> Answer[Extraction]:
        values = {"team_name": spec.name, "max_facts": settings.max_facts_per_stage}
        messages: list[BaseMessage] = [
            SystemMessage(render_prompt("facts_system", **values)),
            HumanMessage(render_prompt("facts_task", existing=existing, new=new, **values)),
        ]
        answer = ask_model(
            bound,
            messages,
            Extraction,
            max_parse_retries=settings.max_parse_retries,
            max_model_errors=settings.max_model_errors,
        )
        answer.model = answer.model or resolved.label
        return answer

    return ask


def make_team_node(
    spec: TeamSpec, *, needs: Sequence[str], teams: TeamRegistry
) -> CompiledStateGraph[Any, Any, Any, Any]:
    """Build the stage subgraph for ``spec``.

    Args:
        spec: the team.
        needs: stages whose results this stage reads (its pipeline dependencies).
        teams: the registry (display names, clarification targets).

    """
    needs = tuple(needs)
    names = {slug: s.name for slug, s in teams.items()}
    schema = report_schema(spec)

    def finish(
        state: Mapping[str, Any],
        outcome: StageOutcome,
        reason: str,
        result: Any,
        *,
        stopped_by: str = "",
        update: Mapping[str, Any] | None = None,
    ) -> Command:
        usage = state.get("usage", {})
        record = StageRecord(
            team=spec.slug,
            outcome=outcome,
            reason=reason,
            result=result,
            model=state.get("model", ""),
            attempts=state.get("attempt", 0),
            usage=Usage.model_validate(usage),
            seconds=round(state.get("seconds", 0.0), 3),
            cost_usd=round(usage.get("cost_usd", 0.0), 6),
            gate_feedback=state.get("history", []),
            stopped_by=stopped_by,
            recalled=[f"{m['bank']}: {m['text']}" for m in state.get("memories", [])],
        )
        get_stream_writer()({"event": "stage_finished", "record": record.to_state()})
        return Command(
            goto="retain", update={**(update or {}), "stages": {spec.slug: record.to_state()}}
        )

    def model(runtime: Runtime[Context]) -> ResolvedModel:
        return runtime.context.model_source().resolve(spec.model)

    def draft(state: StageState, runtime: Runtime[Context]) -> Command[Literal["report", "retain"]]:
        halted = [t for t, r in state["stages"].items() if r["outcome"] != StageOutcome.PASSED]
        if halted:
            return finish(
                state, StageOutcome.SKIPPED, f"not started: stage {halted[0]} did not pass", None
            )
        checked = stop_for_budget(state, runtime)
        if isinstance(checked, Command):
            return checked
        try:
            resolved = model(runtime)
        except ModelUnavailableError as exc:
            return finish(state, StageOutcome.BLOCKED, str(exc), TaskResult.blocked(str(exc)))
        attempt = state.get("attempt", 0) + 1
        get_stream_writer()(
            {
                "event": "stage_started",
                "team": spec.slug,
                "model": resolved.label,
                "attempt": attempt,
            }
        )
        settings = runtime.context.settings
        feedback = state.get("feedback", [])
        previous = {d["path"]: d["content"] for d in state.get("drafts", [])}
        if not previous:
            previous = dict((state.get("prior") or {}).get(spec.slug, {}))
        notes = notes_for(state)
        count = token_counter(resolved.chat)  # the serving model's tokenizer, where it has one
        started, usage, served = time.perf_counter(), Usage(), ""
        drafts: list[dict[str, Any]] = []
        problems: list[str] = []
        for item in spec.deliverables:
            messages = draft_messages(
                spec,
                state,
                item,
                needs=needs,
                names=names,
                upstream_chars=settings.upstream_chars,
                feedback=feedback,
                previous=previous.get(item.path, ""),
                notes=notes,
                budget=settings.context_tokens,
                count=count,
            )
            result = draft_file(
                resolved.plain(),
                messages,
                path=item.path,
                kind=item.kind,
                max_model_errors=settings.max_model_errors,
            )
            usage, served = usage.add(result.usage), result.model or served
            if result.artifact is not None:
                drafts.append(result.artifact.model_dump(mode="json"))
            if result.problem:
                problems.append(result.problem)
        served = served or resolved.label
        return Command(
            goto="report",
            update={
                **checked,
                "attempt": attempt,
                "drafts": drafts,
                "draft_problems": problems,
                "model": served,
                **metering.stage_spent(state, spec.slug, usage, served, started, runtime.context),
            },
        )

    def stop_for_budget(state: Mapping[str, Any], runtime: Runtime[Context]) -> Any:
        """Return the finishing Command when the budget stops the stage, else its updates."""
        budget = budget_gate(state, spec, runtime.context)
        if not budget.stop:
            return budget.update
        return finish(
            state,
            StageOutcome.BLOCKED,
            budget.stop,
            TaskResult.blocked(budget.stop[:300]),
            stopped_by=budget.stopped_by,
            update=budget.update,
        )

    def report(state: StageState, runtime: Runtime[Context]) -> Command[Literal["gate", "retain"]]:
        checked = stop_for_budget(state, runtime)  # the drafts may have used the rest of it
        if isinstance(checked, Command):
            return checked
        settings = runtime.context.settings
        artifacts = [Artifact.model_validate(d) for d in state.get("drafts", [])]
        messages = report_messages(
            spec,
            state,
            artifacts,
            needs=needs,
            names=names,
            upstream_chars=settings.upstream_chars,
            feedback=state.get("feedback", []),
            attempt=state.get("attempt", 1),
            max_attempts=max_attempts(state, runtime),
            notes=notes_for(state),
            budget=settings.context_tokens,
            count=token_counter(model(runtime).chat),
        )
        started = time.perf_counter()
        reply = request_task_result(
            model(runtime).structured(schema),
            messages,
            artifacts=artifacts,
            max_parse_retries=settings.max_parse_retries,
            max_model_errors=settings.max_model_errors,
        )
        served = reply.model or state.get("model", "")
        return Command(
            goto="gate",
            update={
                **checked,
                "candidate": reply.result.model_dump(mode="json"),
                **metering.stage_spent(
                    state, spec.slug, reply.usage, served, started, runtime.context
                ),
            },
        )

    def max_attempts(state: Mapping[str, Any], runtime: Runtime[Context]) -> int:
        # each time a person sends a BLOCKED stage back, it gets a full set of attempts
        return runtime.context.settings.max_stage_attempts * (1 + state.get("human_retries", 0))

    def gate(
        state: StageState, runtime: Runtime[Context]
    ) -> Command[Literal["draft", "clarify", "escalate", "retain"]]:
        result = TaskResult.model_validate(state["candidate"])
        attempt = state["attempt"]
        verdict = assess(
            spec,
            result,
            attempt=attempt,
            max_attempts=max_attempts(state, runtime),
            extra_problems=state.get("draft_problems", []),
        )
        history = [
            *state.get("history", []),
            *(f"attempt {attempt}: {p}" for p in verdict.problems),
        ]
        done = {**state, "history": history}
        if verdict.route is Route.PASS:
            return finish(done, StageOutcome.PASSED, "", result)
        if verdict.route is Route.CLARIFY:
            return Command(
                goto="clarify", update={"feedback": verdict.problems, "history": history}
            )
        if verdict.route is Route.BLOCK:
            if state.get("human_retries", 0) < runtime.context.settings.max_human_retries:
                return Command(
                    goto="escalate",
                    update={"history": history, "verdict": {"reason": verdict.reason}},
                )
            return finish(done, StageOutcome.BLOCKED, verdict.reason, result)
        return Command(goto="draft", update={"feedback": verdict.problems, "history": history})

    def clarify(
        state: StageState, runtime: Runtime[Context]
    ) -> Command[Literal["draft", "consult"]]:
        settings = runtime.context.settings
        ask = TaskResult.model_validate(state["candidate"]).clarification_needed
        assert ask is not None  # the gate routes here only with a question
        asked = state.get("asked", 0) + 1
        entry: dict[str, Any] = {
            "asker": spec.slug,
            "target": ask.target_team,
            "question": ask.question,
            "attempt": state["attempt"],
        }
        update: dict[str, Any] = {"asked": asked}
        if asked > settings.max_clarifications:
            why = (
                f"request limit reached: {spec.slug} may route {settings.max_clarifications} "
                "questions per objective"
            )
            entry.update(outcome="escalated", reason=why, hops=[])
        else:
            drafted = "\n".join(
                f"#### {d['path']}\n{d['content'][: settings.upstream_chars]}"
                for d in state.get("drafts", [])
            )
            consultation = consult(
                teams,
                asker=spec.slug,
                target=ask.target_team,
                question=ask.question,
                requirement=state["requirement"],
                asker_context=drafted,
                stages=state["stages"],
                resolve=lambda s: runtime.context.model_source().resolve(s.model),
                max_hops=settings.max_hops,
                max_parse_retries=settings.max_parse_retries,
                max_model_errors=settings.max_model_errors,
                context_chars=settings.upstream_chars,
            )
            spend = dict(state.get("spend", {}))
            for who, usage in consultation.usage.items():
                key = metering.spend_key(state, who, f":answers:{spec.slug}")
                spend[key] = metering.add_spend(
                    spend,
                    key,
                    who,
                    usage,
                    consultation.models[who],
                    runtime.context,
                    consultation.seconds[who],
                )
                update.setdefault("spend", {})[key] = spend[key]
            entry.update(
                hops=[h.to_state() for h in consultation.hops],
                answered_by=consultation.answered_by,
                outcome="answered" if consultation.answer else "escalated",
                reason=consultation.escalate,
            )
            if consultation.answer:
                answer = {
                    "from": f"the {names[consultation.answered_by]} team",
                    "question": ask.question,
                    "answer": consultation.answer,
                }
                update["answers"] = [*state.get("answers", []), answer]
        key = f"{metering.spend_key(state, spec.slug)}:q{asked}"
        update["clarifications"] = {key: entry}
        get_stream_writer()({"event": "clarification", "key": key, **entry})
        if entry["outcome"] == "answered":
            return Command(goto="draft", update=update)
        update["escalation"] = {**entry, "key": key}
        return Command(goto="consult", update=update)

    def consult_person(state: StageState, runtime: Runtime[Context]) -> Command[Literal["draft"]]:
        esc = state["escalation"]
        target = names.get(esc["target"], esc["target"])
        pause = make_pause(
            runtime.context.get_policy(),
            "clarification",
            title=f"{spec.name} asks {target}: {esc['question']}"[:200],
            question=f"{esc['question']}\n(escalated to a person: {esc['reason']})",
            team=spec.slug,
            details={"target": esc["target"], "reason": esc["reason"], "key": esc["key"]},
        )
        decision = ask_person(pause)
        text = (
            decision.text
            if decision.action == "answer"
            else ("no answer: decide it yourself and record the decision under assumptions_made")
        )
        answer = {"from": f"{decision.by} (a person)", "question": esc["question"], "answer": text}
        return Command(
            goto="draft",
            update={
                "answers": [*state.get("answers", []), answer],
                "escalation": {},
                "decisions": {
                    task_key(): {"kind": "clarification", **decision.model_dump(mode="json")}
                },
                "clarifications": {
                    esc["key"]: {**esc, "outcome": "answered_by_person", "answered_by": decision.by}
                },
            },
        )

    def escalate(
        state: StageState, runtime: Runtime[Context]
    ) -> Command[Literal["draft", "retain"]]:
        reason = state["verdict"]["reason"]
        pause = make_pause(
            runtime.context.get_policy(),
            "blocked",
            title=f"{spec.name} is BLOCKED after {state['attempt']} attempts"[:200],
            question=(
                f"{reason}\nGive guidance and {spec.name} tries again with a fresh set of "
                "attempts, or reject to fail the run."
            ),
            team=spec.slug,
            details={"attempts": state["attempt"], "reason": reason},
        )
        decision = ask_person(pause)
        decided = {task_key(): {"kind": "blocked", **decision.model_dump(mode="json")}}
        if decision.action == "reject":
            result = TaskResult.model_validate(state["candidate"])
            return finish(
                state,
                StageOutcome.BLOCKED,
                f"{reason} (stopped: {decision.summary()})"[:1000],
                result,
                stopped_by="person",
                update={"decisions": decided},
            )
        guidance = {
            "from": f"{decision.by} (a person)",
            "question": "how to get unblocked",
            "answer": decision.text,
        }
        return Command(
            goto="draft",
            update={
                "human_retries": state.get("human_retries", 0) + 1,
                "answers": [*state.get("answers", []), guidance],
                "feedback": [f"guidance from {decision.by}: {decision.text}"],
                "decisions": decided,
            },
        )

    def recall(state: StageState, runtime: Runtime[Context]) -> dict[str, Any]:
        """Recall what the team and the factory know, once, before the first attempt."""
        memory = runtime.context.memory
        halted = any(r["outcome"] != StageOutcome.PASSED for r in state["stages"].values())
        if memory is None or halted:
            return {}
        query = state["requirement"]
        if state.get("revision"):
            query += "\n" + state.get("review_feedback", "")
        recalled = memory.recall(
            team=spec.slug, project=state.get("project", "default"), query=query
        )
        get_stream_writer()({"event": "recalled", "team": spec.slug, "memories": len(recalled)})
        return {
            "memories": [m.__dict__ for m in recalled],
            "mental_model": memory.mental_model(spec.slug),
        }

    def retain(state: StageState, runtime: Runtime[Context]) -> dict[str, Any]:
        """Retain what the finished stage learned (idempotent: a re-run adds nothing new).

        Then, when the stage passed, the budget has room and fact memory is on,
        mem0 extracts the team's new facts with the cheap model; that call is
        metered to the team like any other.
        """
        memory = runtime.context.memory
        if memory is None:
            return {}
        record = StageRecord.model_validate(state["stages"][spec.slug])
        where = {
            "run_id": state["run_id"],
            "project": state.get("project", "default"),
            "revision": state.get("revision", 0),
        }
        memory.retain_stage(record, **where)
        if memory.facts is None or record.outcome is not StageOutcome.PASSED:
            return {}
        emit = get_stream_writer()
        budget = metering.check(state, spec.slug, runtime.context)
        if budget.exhausted or budget.near:
            skipped = "skipped: the budget is too close to its cap"
            emit({"event": "facts", "team": spec.slug, "added": [], "problem": skipped})
            return {}
        started = time.perf_counter()
        try:
            outcome = memory.extract_facts(record, ask=fact_asker(spec, runtime.context), **where)
        except ModelUnavailableError as exc:
            emit({"event": "facts", "team": spec.slug, "added": [], "problem": str(exc)})
            return {}
        if outcome is None:
            return {}
        seconds = time.perf_counter() - started
        emit(
            {
                "event": "facts",
                "team": spec.slug,
                "added": outcome.added,
                "model": outcome.model,
                "problem": outcome.problem,
                "seconds": round(seconds, 2),
            }
        )
        key = metering.spend_key(state, spec.slug, ":facts")
        entry = metering.add_spend(
            state.get("spend", {}),
            key,
            spec.slug,
            outcome.usage,
            outcome.model,
            runtime.context,
            seconds,
        )
        return {"spend": {key: entry}}

    graph = StateGraph(
        StageState, context_schema=Context, input_schema=RunState, output_schema=StageOutput
    )
    graph.add_node("recall", recall)
    graph.add_node("draft", draft)
    graph.add_node("report", report)
    graph.add_node("gate", gate)
    graph.add_node("clarify", clarify)
    graph.add_node("consult", consult_person)
    graph.add_node("escalate", escalate)
    graph.add_node("retain", retain)
    graph.add_edge(START, "recall")
    graph.add_edge("recall", "draft")
    graph.add_edge("retain", END)
    return graph.compile(name=spec.slug)
