"""The team's model work: draft each deliverable as a plain file, then report on it."""

from __future__ import annotations

import time
from typing import Any, Literal

from langgraph.runtime import Runtime
from langgraph.types import Command

from devfactory.contracts import Artifact, StageOutcome, TaskResult, Usage
from devfactory.events import StageStarted
from devfactory.graph import metering
from devfactory.graph.briefs import draft_messages, report_messages
from devfactory.graph.context import Context
from devfactory.graph.emit import emit
from devfactory.graph.stage.setup import (
    StageSetup,
    finish,
    max_attempts,
    notes_for,
    stop_for_budget,
)
from devfactory.graph.state import StageState
from devfactory.graph.structured import draft_file, request_task_result
from devfactory.memory.packing import token_counter
from devfactory.models.router import ModelUnavailableError


def draft(
    state: StageState, runtime: Runtime[Context], setup: StageSetup
) -> Command[Literal["report", "retain"]]:
    """Draft every deliverable of the team, one model call per file.

    The stage is SKIPPED when an earlier stage did not pass (a failure stops
    everything not yet started), and stops when the budget says so. Each file
    is drafted from the requirement, upstream work, the gate's feedback, the
    team's previous version and the answers it received.
    """
    spec = setup.spec
    halted = [t for t, r in state["stages"].items() if r["outcome"] != StageOutcome.PASSED]
    if halted:
        reason = f"not started: stage {halted[0]} did not pass"
        return finish(setup, state, runtime, StageOutcome.SKIPPED, reason, None)
    checked = stop_for_budget(setup, state, runtime)
    if isinstance(checked, Command):
        return checked
    try:
        resolved = setup.model(runtime)
    except ModelUnavailableError as exc:
        blocked = TaskResult.blocked(str(exc))
        return finish(setup, state, runtime, StageOutcome.BLOCKED, str(exc), blocked)
    attempt = state.get("attempt", 0) + 1
    emit(runtime, StageStarted(team=spec.slug, model=resolved.label, attempt=attempt))
    settings = runtime.context.settings
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
            needs=setup.needs,
            names=setup.names,
            upstream_chars=settings.upstream_chars,
            feedback=state.get("feedback", []),
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


def report(
    state: StageState, runtime: Runtime[Context], setup: StageSetup
) -> Command[Literal["gate", "retain"]]:
    """Ask the team for its ``TaskResult`` on the files it drafted (repaired and retried).

    The budget is checked again first: the drafts may have used the rest of it.
    """
    checked = stop_for_budget(setup, state, runtime)
    if isinstance(checked, Command):
        return checked
    settings = runtime.context.settings
    resolved = setup.model(runtime)
    artifacts = [Artifact.model_validate(d) for d in state.get("drafts", [])]
    messages = report_messages(
        setup.spec,
        state,
        artifacts,
        needs=setup.needs,
        names=setup.names,
        upstream_chars=settings.upstream_chars,
        feedback=state.get("feedback", []),
        attempt=state.get("attempt", 1),
        max_attempts=max_attempts(state, runtime),
        notes=notes_for(state),
        budget=settings.context_tokens,
        count=token_counter(resolved.chat),
    )
    started = time.perf_counter()
    reply = request_task_result(
        resolved.structured(dict(setup.schema)),
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
                state, setup.spec.slug, reply.usage, served, started, runtime.context
            ),
        },
    )
