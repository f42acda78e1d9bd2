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

from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage
from langgraph.config import get_stream_writer
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.runtime import Runtime
from langgraph.types import Command

from devfactory.contracts import Artifact, StageOutcome, StageRecord, TaskResult, Usage
from devfactory.graph.context import Context
from devfactory.graph.gate import Route, assess
from devfactory.graph.prompts import render_prompt
from devfactory.graph.schema import report_schema
from devfactory.graph.state import RunState, StageOutput, StageState
from devfactory.graph.structured import draft_file, request_task_result
from devfactory.models.router import ModelUnavailableError, ResolvedModel
from devfactory.teams.checks import describe_checks
from devfactory.teams.spec import TeamSpec


def _bullets(items: Sequence[str]) -> str:
    return "\n".join(f"- {item}" for item in items) or "- (none)"


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + "\n[...]"


def render_artifacts(artifacts: Sequence[Artifact], limit: int) -> str:
    """Render files for a prompt, each cut at ``limit`` characters."""
    return "\n".join(
        render_prompt(
            "artifact_block", path=a.path, kind=a.kind.value, content=_clip(a.content, limit)
        )
        for a in artifacts
    )


def render_upstream(
    stages: Mapping[str, Any], needs: Sequence[str], names: Mapping[str, str], limit: int
) -> str:
    """Render the verified facts and artifacts of the stages this one depends on."""
    if not needs:
        return "None: yours is the first stage; work from the requirement alone."
    blocks = []
    for team in needs:
        result = TaskResult.model_validate(stages[team]["result"])
        blocks.append(
            render_prompt(
                "upstream_stage",
                team_name=names.get(team, team),
                confidence=f"{result.confidence:.2f}",
                facts=_bullets(result.verified_facts),
                artifacts=render_artifacts(result.artifacts, limit),
            )
        )
    return "\n".join(blocks)


def system_prompt(spec: TeamSpec) -> SystemMessage:
    """Render the team's identity and answering rules."""
    return SystemMessage(
        render_prompt(
            "stage_system",
            team_name=spec.name,
            soul=spec.soul.strip(),
            agents=spec.agents.strip(),
            tools=spec.tools_doc.strip(),
            may_ask=", ".join(spec.may_ask) or "none",
            deliverables=", ".join(f"{d.path} ({d.kind.value})" for d in spec.deliverables),
        )
    )


def task_prompt(
    spec: TeamSpec,
    state: Mapping[str, Any],
    *,
    needs: Sequence[str],
    names: Mapping[str, str],
    upstream_chars: int,
    feedback: Sequence[str] = (),
    attempt: int = 1,
    max_attempts: int = 1,
) -> str:
    """Render the objective, the upstream work and any gate feedback."""
    fb = ""
    if feedback:
        fb = render_prompt(
            "gate_feedback",
            attempt=attempt - 1,
            max_attempts=max_attempts,
            team_name=spec.name,
            problems=_bullets(feedback),
        )
    return render_prompt(
        "stage_task",
        objective=spec.render_objective(requirement=state["requirement"]).strip(),
        upstream=render_upstream(state["stages"], needs, names, upstream_chars),
        feedback=fb,
    )


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
    checks = " ".join(describe_checks(spec.tools))

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

    def prompt(state: StageState, runtime: Runtime[Context]) -> tuple[SystemMessage, str]:
        settings = runtime.context.settings
        task = task_prompt(
            spec,
            state,
            needs=needs,
            names=names,
            upstream_chars=settings.upstream_chars,
            feedback=state.get("feedback", []),
            attempt=state.get("attempt", 0),
            max_attempts=settings.max_stage_attempts,
        )
        return system_prompt(spec), task

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
        system = SystemMessage(
            render_prompt("draft_system", team_name=spec.name, description=spec.description)
        )
        feedback = state.get("feedback", [])
        upstream = render_upstream(state["stages"], needs, names, settings.upstream_chars)
        criteria = "\n\n".join(
            spec.objective_section(h, requirement=state["requirement"])
            for h in ("Acceptance criteria", "Out of scope")
        )
        previous = {d["path"]: d["content"] for d in state.get("drafts", [])}
        started, usage, served = time.perf_counter(), Usage(), ""
        drafts: list[dict[str, Any]] = []
        problems: list[str] = []
        for item in spec.deliverables:
            prior = ""
            if item.path in previous and feedback:
                prior = render_prompt(
                    "previous_draft", content=_clip(previous[item.path], settings.upstream_chars)
                )
            ask = render_prompt(
                "draft_artifact",
                requirement=state["requirement"],
                upstream="Upstream work:\n" + upstream if needs else "",
                path=item.path,
                description=item.description.rstrip("."),
                criteria=criteria,
                checks=checks,
                feedback=("\nThe gate rejected your last attempt:\n" + _bullets(feedback))
                if feedback
                else "",
                previous=prior,
            )
            result = draft_file(
                resolved.plain(),
                [system, HumanMessage(ask)],
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
        system, task = prompt(state, runtime)
        artifacts = [Artifact.model_validate(d) for d in state.get("drafts", [])]
        ask = render_prompt(
            "report", task=task, artifacts=render_artifacts(artifacts, settings.upstream_chars)
        )
        messages: list[BaseMessage] = [system, HumanMessage(ask)]
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
