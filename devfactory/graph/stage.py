"""``make_team_node``: the one factory that turns a ``TeamSpec`` into a stage.

A stage is a small compiled subgraph, ``draft -> report -> gate``: the team
writes each deliverable as a plain file, then reports on them as a
``TaskResult``; the gate passes it, sends it back to ``draft`` with feedback
(bounded), or ends the stage BLOCKED.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from langgraph.config import get_stream_writer
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.runtime import Runtime
from langgraph.types import Command

from devfactory.contracts import Artifact, StageOutcome, StageRecord, TaskResult, Usage
from devfactory.graph.briefs import draft_messages, report_messages
from devfactory.graph.context import Context
from devfactory.graph.gate import Route, assess
from devfactory.graph.schema import report_schema
from devfactory.graph.state import RunState, StageOutput, StageState
from devfactory.graph.structured import draft_file, request_task_result
from devfactory.models.router import ModelUnavailableError, ResolvedModel
from devfactory.teams.spec import TeamSpec


def make_team_node(
    spec: TeamSpec, *, needs: Sequence[str], names: Mapping[str, str]
) -> CompiledStateGraph[Any, Any, Any, Any]:
    """Build the stage subgraph for ``spec``.

    Args:
        spec: the team.
        needs: stages whose results this stage reads (its pipeline dependencies).
        names: display names of all teams, for rendering upstream work.

    """
    needs = tuple(needs)
    schema = report_schema(spec)

    def finish(
        state: Mapping[str, Any], outcome: StageOutcome, reason: str, result: Any
    ) -> Command:
        record = StageRecord(
            team=spec.slug,
            outcome=outcome,
            reason=reason,
            result=result,
            model=state.get("model", ""),
            attempts=state.get("attempt", 0),
            usage=Usage(**state.get("usage", {})),
            seconds=round(state.get("seconds", 0.0), 3),
            gate_feedback=state.get("history", []),
        )
        get_stream_writer()({"event": "stage_finished", "record": record.to_state()})
        return Command(goto=END, update={"stages": {spec.slug: record.to_state()}})

    def model(runtime: Runtime[Context]) -> ResolvedModel:
        return runtime.context.model_source().resolve(spec.model)

    def spent(state: StageState, usage: Usage, started: float) -> dict[str, Any]:
        total = Usage(**state.get("usage", {})).add(usage)
        return {
            "usage": total.model_dump(include={"input_tokens", "output_tokens", "calls"}),
            "seconds": state.get("seconds", 0.0) + time.perf_counter() - started,
        }

    def draft(
        state: StageState, runtime: Runtime[Context]
    ) -> Command[Literal["report", "__end__"]]:
        halted = [t for t, r in state["stages"].items() if r["outcome"] != StageOutcome.PASSED]
        if halted:
            return finish(
                state, StageOutcome.SKIPPED, f"not started: stage {halted[0]} did not pass", None
            )
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
        return Command(
            goto="report",
            update={
                "attempt": attempt,
                "drafts": drafts,
                "draft_problems": problems,
                "model": served or resolved.label,
                **spent(state, usage, started),
            },
        )

    def report(state: StageState, runtime: Runtime[Context]) -> Command[Literal["gate"]]:
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
            max_attempts=settings.max_stage_attempts,
        )
        started = time.perf_counter()
        reply = request_task_result(
            model(runtime).structured(schema),
            messages,
            artifacts=artifacts,
            max_parse_retries=settings.max_parse_retries,
            max_model_errors=settings.max_model_errors,
        )
        return Command(
            goto="gate",
            update={
                "candidate": reply.result.model_dump(mode="json"),
                **spent(state, reply.usage, started),
            },
        )

    def gate(state: StageState, runtime: Runtime[Context]) -> Command[Literal["draft", "__end__"]]:
        result = TaskResult.model_validate(state["candidate"])
        attempt = state["attempt"]
        verdict = assess(
            spec,
            result,
            attempt=attempt,
            max_attempts=runtime.context.settings.max_stage_attempts,
            extra_problems=state.get("draft_problems", []),
        )
        history = [
            *state.get("history", []),
            *(f"attempt {attempt}: {p}" for p in verdict.problems),
        ]
        done = {**state, "history": history}
        if verdict.route is Route.PASS:
            return finish(done, StageOutcome.PASSED, "", result)
        if verdict.route is Route.BLOCK:
            return finish(done, StageOutcome.BLOCKED, verdict.reason, result)
        return Command(goto="draft", update={"feedback": verdict.problems, "history": history})

    graph = StateGraph(
        StageState, context_schema=Context, input_schema=RunState, output_schema=StageOutput
    )
    graph.add_node("draft", draft)
    graph.add_node("report", report)
    graph.add_node("gate", gate)
    graph.add_edge(START, "draft")
    return graph.compile(name=spec.slug)
