"""The team's model work: draft each deliverable as a plain file, then report on it."""

from __future__ import annotations

import time
from collections import Counter
from typing import Any, Literal

from langgraph.runtime import Runtime
from langgraph.types import Command

from devfactory.contracts import (
    MAX_ARTIFACT_CHARS,
    Artifact,
    ArtifactKind,
    StageOutcome,
    StageRecord,
    TaskResult,
    Usage,
)
from devfactory.events import StageFinished, StageStarted
from devfactory.graph import metering
from devfactory.graph.briefs import draft_messages, report_messages
from devfactory.graph.context import Context
from devfactory.graph.diagram import repair_diagram
from devfactory.graph.emit import emit
from devfactory.graph.imports import add_project_imports, project_modules
from devfactory.graph.method_aliases import alias_methods
from devfactory.graph.planning import (
    PLAN_SCHEMA,
    draft_plan,
    interface_brief,
    pipeline_owners,
    stage_items,
)
from devfactory.graph.stage.setup import (
    StageSetup,
    feedback_for,
    finish,
    halted_by,
    max_attempts,
    notes_for,
    stop_for_budget,
)
from devfactory.graph.state import StageState, build_plan_of
from devfactory.graph.structured import Draft, draft_file, request_task_result
from devfactory.memory.packing import token_counter
from devfactory.models.router import ModelUnavailableError
from devfactory.software.precheck import draft_problems
from devfactory.teams.spec import Deliverable


def draft(
    state: StageState, runtime: Runtime[Context], setup: StageSetup
) -> Command[Literal["verify", "retain"]]:
    """Draft every file of the team, one model call per file.

    The files are the team's documents and the files the build plan gives it;
    the plan itself is asked for as a validated object. The stage is SKIPPED
    when an earlier stage did not pass (a failure stops everything not yet
    started) or when the plan gives the team nothing to do, and stops when the
    budget says so. Each file is drafted from the requirement, upstream work,
    the plan's interface, the gate's feedback, the team's previous version and
    the answers it received. A Python file the gate would refuse (it does not
    parse, uses a name it never binds, or misses a planned name) is asked
    again at once with the findings, up to ``max_parse_retries`` times: one
    file's call instead of the whole stage's next attempt.
    """
    spec = setup.spec
    halted = halted_by(state["stages"])
    if halted:
        reason = f"not started: stage {halted[0]} did not pass"
        return finish(setup, state, runtime, StageOutcome.SKIPPED, reason, None)
    kept = (state.get("kept_stages") or {}).get(spec.slug)
    if state.get("fix_round") and kept and spec.slug not in state.get("fixes", {}):
        record = StageRecord.model_validate(kept)
        emit(runtime, StageFinished(record=record))
        return Command(goto="retain", update={"stages": {spec.slug: kept}, "kept": True})
    plan = build_plan_of(state)
    items = stage_items(spec, plan)
    if not items:
        reason = (
            f"nothing to do in this plan: it gives {spec.name} no "
            f"{'/'.join(r.value for r in spec.owns)} files"
            if plan is not None
            else "no build plan in this run gives the team files"
        )
        return finish(setup, state, runtime, StageOutcome.SKIPPED, reason, None, stopped_by="plan")
    checked = stop_for_budget(setup, state, runtime)
    if isinstance(checked, Command):
        return checked
    try:
        resolved = setup.model(runtime)
    except ModelUnavailableError as exc:
        blocked = TaskResult.blocked(str(exc))
        return finish(setup, state, runtime, StageOutcome.BLOCKED, str(exc), blocked)
    attempt = state.get("attempt", 0) + 1
    emit(
        runtime,
        StageStarted(
            team=spec.slug,
            model=resolved.label,
            attempt=attempt,
            because=feedback_for(state, spec.slug) if attempt > 1 or state.get("fix_round") else [],
        ),
    )
    settings = runtime.context.settings
    previous = {d["path"]: d["content"] for d in state.get("drafts", [])}
    if not previous:
        previous = dict((state.get("prior") or {}).get(spec.slug, {}))
    notes = notes_for(state)
    count = token_counter(resolved.chat)  # the serving model's tokenizer, where it has one
    started, usage, served = time.perf_counter(), Usage(), ""
    drafts: list[dict[str, Any]] = []
    problems: list[str] = []
    repairs: list[str] = []
    written = {
        a["path"]: a["content"]
        for r in state["stages"].values()
        for a in (r.get("result") or {}).get("artifacts", [])
    }
    feedback = feedback_for(state, spec.slug)

    def ask(item: Deliverable, brief: str, found: list[str], earlier: str) -> Draft:
        """Draft one file: asked with the checks' ``found`` lines and the ``earlier`` draft."""
        messages = draft_messages(
            spec,
            state,
            item,
            needs=setup.needs,
            names=setup.names,
            upstream_chars=settings.upstream_chars,
            feedback=[*feedback, *found],
            previous=earlier,
            notes=notes,
            budget=settings.context_tokens,
            count=count,
            brief=brief,
            requirement_tokens=settings.requirement_tokens,
        )
        if item.format == "build-plan":
            return draft_plan(
                resolved.structured(PLAN_SCHEMA),
                messages,
                path=item.path,
                requirement=state["requirement"],
                owners=pipeline_owners(state, setup.teams),
                teams=setup.teams,
                max_parse_retries=settings.max_parse_retries,
                max_model_errors=settings.max_model_errors,
            )
        drafted = draft_file(
            resolved.plain(),
            messages,
            path=item.path,
            kind=item.kind,
            max_model_errors=settings.max_model_errors,
            max_continuations=settings.max_continuations,
        )
        if drafted.artifact is not None and plan is not None and item.kind == ArtifactKind.PYTHON:
            own = project_modules(plan, written, item.path)  # its own names, imported
            content, lines = add_project_imports(drafted.artifact.content, own)
            planned = [s.name for m in plan.modules if m.path == item.path for s in m.symbols]
            content, aliases = alias_methods(content, planned)
            if (lines or aliases) and len(content) <= MAX_ARTIFACT_CHARS:
                drafted.artifact = drafted.artifact.model_copy(update={"content": content})
                drafted.repairs += [f"`{line}` added (used, never imported)" for line in lines]
                drafted.repairs += [
                    f"`{a}` added (planned here, written as a method)" for a in aliases
                ]
        return drafted

    for item in items:
        brief = ""
        if plan is not None and item.format == "file":
            brief = interface_brief(plan, item.path, written, settings.upstream_chars)
        result = ask(item, brief, [], previous.get(item.path, ""))
        usage, served = usage.add(result.usage), result.model or served
        for _ in range(settings.max_parse_retries if item.kind == ArtifactKind.PYTHON else 0):
            if result.artifact is None or result.problem:
                break
            found = draft_problems(item.path, result.artifact.content, plan)
            if not found:
                break
            repairs.append(f"{item.path}: asked again at once: {found[0]}")
            again = ask(item, brief, found, result.artifact.content)
            usage, served = usage.add(again.usage), again.model or served
            if again.artifact is None:
                break  # the earlier draft is kept; the gate reports its findings
            result = again
        if result.artifact is not None:
            drafted = result.artifact.model_dump(mode="json")
            drafts.append(drafted)
            written[item.path] = drafted["content"]
        if result.problem:
            problems.append(result.problem)
        repairs += [f"{item.path}: {r}" for r in counted(result.repairs)]
    if "mermaid_diagram" in spec.tools:
        repairs += repair_diagram(drafts, plan)
    served = served or resolved.label
    return Command(
        goto="verify",
        update={
            **checked,
            "attempt": attempt,
            "drafts": drafts,
            "draft_problems": problems,
            "repairs": repairs,
            "model": served,
            **metering.stage_spent(state, spec.slug, usage, served, started, runtime.context),
        },
    )


def counted(lines: list[str]) -> list[str]:
    """Say each line once, with how many times it came when more than once."""
    return [f"{line} ({n} times)" if n > 1 else line for line, n in Counter(lines).items()]


def sandbox_notes(state: StageState) -> list[str]:
    """Say what the sandbox found in the files, so the report's confidence can be honest."""
    notes = [
        f"{c['name']} (`{c['command']}`): {c['summary'] or c['exit_code']}"
        for c in state.get("checks", [])
    ]
    notes += [f"the checks found: {p}" for p in state.get("check_problems", [])[:6]]
    return notes


def report(
    state: StageState, runtime: Runtime[Context], setup: StageSetup
) -> Command[Literal["gate", "retain"]]:
    """Ask the team for its ``TaskResult`` on the files it drafted (repaired and retried).

    The budget is checked again first: the drafts may have used the rest of it.
    When no question could be routed (the clarification cap is spent, or no
    attempt is left to use an answer) the report's schema has no question: the
    gate would only send it back, and a small model's question costs an attempt.
    (No line in the prompt says so: small models echo such a line as a blocker.)
    """
    checked = stop_for_budget(setup, state, runtime)
    if isinstance(checked, Command):
        return checked
    settings = runtime.context.settings
    resolved = setup.model(runtime)
    artifacts = [Artifact.model_validate(d) for d in state.get("drafts", [])]
    attempt, attempts = state.get("attempt", 1), max_attempts(state, runtime)
    can_ask = state.get("asked", 0) < settings.max_clarifications and attempt < attempts
    messages = report_messages(
        setup.spec,
        state,
        artifacts,
        needs=setup.needs,
        names=setup.names,
        upstream_chars=settings.upstream_chars,
        feedback=feedback_for(state, setup.spec.slug),
        attempt=attempt,
        max_attempts=attempts,
        notes=notes_for(state),
        checks=sandbox_notes(state),
        budget=settings.context_tokens,
        requirement_tokens=settings.requirement_tokens,
        count=token_counter(resolved.chat),
    )
    started = time.perf_counter()
    reply = request_task_result(
        resolved.structured(dict(setup.schema if can_ask else setup.settled_schema)),
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
            "repairs": [
                *state.get("repairs", []),
                *(f"report: {r}" for r in counted(reply.repairs)),
            ],
            **metering.stage_spent(
                state, setup.spec.slug, reply.usage, served, started, runtime.context
            ),
        },
    )
