"""The team's model work: draft each deliverable as a plain file, then report on it.

Why one module: drafting one file is one sequence (what tools make, the build
loop, the model's request, the prechecks that ask again at once, the repairs
that bind its names) over one ``Drafting`` value, and the report reads what
that sequence left; cut apart, each half would import the other's internals.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Literal

from langgraph.runtime import Runtime
from langgraph.types import Command

from devfactory.checks.precheck import draft_problems, no_test
from devfactory.contracts import (
    MAX_ARTIFACT_CHARS,
    Artifact,
    ArtifactKind,
    StageOutcome,
    StageRecord,
    TaskResult,
    Usage,
)
from devfactory.events import DraftSaved, StageFinished, StageStarted
from devfactory.graph.context import Context
from devfactory.graph.emit import emit
from devfactory.graph.model_io.briefs import draft_messages, report_messages
from devfactory.graph.model_io.structured import Draft, draft_file, request_task_result
from devfactory.graph.oversight import metering
from devfactory.graph.oversight.requests import dropped
from devfactory.graph.planning.build_plan import (
    PLAN_SCHEMA,
    draft_plan,
    interface_brief,
    pipeline_owners,
    stage_items,
)
from devfactory.graph.stage.build_loop.build import build_module, buildable
from devfactory.graph.stage.drafting import Drafting
from devfactory.graph.stage.setup import (
    StageSetup,
    feedback_for,
    finish,
    halted_by,
    max_attempts,
    notes_for,
    stop_for_budget,
)
from devfactory.graph.stage.tools_made import (
    requirement_plan,
    tool_report,
    tools_made,
    written_by_tools,
)
from devfactory.graph.state import StageState, build_plan_of, requirement_facts_of
from devfactory.memory.packing import token_counter
from devfactory.models.router import ModelUnavailableError
from devfactory.repairs.missing_imports import project_modules, project_sources
from devfactory.repairs.repair import ProjectNames, RepairKind, is_tests_file, repair
from devfactory.sandbox.runner import Sandbox, SandboxUnavailableError
from devfactory.software.plan import BuildPlan, module_name
from devfactory.software.salvage import fixtures_defined
from devfactory.teams.spec import Deliverable, TeamSpec


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
    dropped_by = dropped(state).get(spec.slug)
    if dropped_by:
        reason = f"dropped by {dropped_by} (a request's drop_stage alternative)"
        return finish(
            setup, state, runtime, StageOutcome.SKIPPED, reason, None, stopped_by="person"
        )
    kept = kept_record(state, spec.slug)
    if kept is not None:
        emit(runtime, StageFinished(record=kept))
        return Command(goto="retain", update={"stages": {spec.slug: kept}, "kept": True})
    plan = build_plan_of(state)
    items = stage_items(spec, plan)
    if not items:
        reason = nothing_to_do(spec, plan)
        return finish(setup, state, runtime, StageOutcome.SKIPPED, reason, None, stopped_by="plan")
    checked = stop_for_budget(setup, state, runtime)
    if isinstance(checked, Command):
        return checked
    try:
        resolved = setup.model(runtime, {**state, **checked})
    except ModelUnavailableError as exc:
        blocked = TaskResult.blocked(str(exc))
        return finish(setup, state, runtime, StageOutcome.BLOCKED, str(exc), blocked)
    attempt, feedback = state.get("attempt", 0) + 1, feedback_for(state, spec.slug)
    because = feedback if attempt > 1 or state.get("fix_round") else []
    emit(
        runtime,
        StageStarted(team=spec.slug, model=resolved.label, attempt=attempt, because=because),
    )
    work = Drafting(
        setup=setup,
        state=state,
        settings=runtime.context.settings,
        resolved=resolved,
        plan=plan,
        feedback=feedback,
        notes=notes_for(state),
        count=token_counter(resolved.chat),  # the serving model's tokenizer, where it has one
        written=files_written(state),
        sandbox=code_sandbox(runtime, plan),
        saved=lambda path, content, written, units: emit(
            runtime,
            DraftSaved(team=spec.slug, path=path, content=content, written=written, units=units),
        ),
        deadline=runtime.context.deadline,
    )
    started = time.perf_counter()
    done = draft_items(work, items, previous_drafts(state, spec.slug))
    off = runtime.context.settings.generation.repairs_off
    if "mermaid_diagram" in spec.checks:
        drawn = plan if plan is not None else requirement_plan(work)  # before any plan: the words'
        fixed = repair(RepairKind.DIAGRAM, done.drafts, drawn, off)
        done.drafts, done.repairs = fixed.content, [*done.repairs, *fixed.notes]
    if "openapi_structure" in spec.checks:
        fixed = repair(RepairKind.OPENAPI, done.drafts, None, off)
        done.drafts, done.repairs = fixed.content, [*done.repairs, *fixed.notes]
    served = done.served or resolved.label
    return Command(
        goto="verify",
        update={
            **checked,
            "attempt": attempt,
            "drafts": done.drafts,
            "origins": done.origins,
            "draft_problems": done.problems,
            "repairs": done.repairs,
            "earlier_repairs": earlier_repairs(state, spec.slug),
            **({"handed": done.handed} if done.handed else {}),  # else an earlier attempt's stay
            "model": served,
            **metering.stage_spent(state, spec.slug, done.usage, served, started, runtime.context),
        },
    )


def earlier_repairs(state: StageState, team: str) -> list[str]:
    """Return the repairs of every attempt before the one starting, each marked with its attempt.

    A stage's record keeps its last attempt's repairs; these keep the others',
    so what a repair did is counted wherever it fired (``python -m eval.teams``).
    A fix round's first attempt starts from ``team``'s record of the round before
    (``kept_stages``): its notes, the build loop's choice of the code among them,
    are kept too, each marked with the fix round that followed it.
    """
    before = state.get("attempt", 0)
    if before:
        marked = (f"attempt {before}: {note}" for note in state.get("repairs", []))
        return [*state.get("earlier_repairs", []), *marked]
    rounds = state.get("fix_round", 0)  # none outside a fix round
    record = (state.get("kept_stages") or {}).get(team)
    if not rounds or record is None:
        return []
    mark = f"before fix round {rounds}: "
    notes = [*record.earlier_repairs, *record.repairs]
    return [n if n.startswith("before fix round ") else mark + n for n in notes]


def kept_record(state: StageState, team: str) -> StageRecord | None:
    """Return the team's record of the last round when this fix round keeps it as it is.

    A team the final checks found nothing to fix keeps its record without a
    model call.
    """
    kept = (state.get("kept_stages") or {}).get(team)
    if state.get("fix_round") and kept and team not in state.get("fixes", {}):
        return kept
    return None


def nothing_to_do(spec: TeamSpec, plan: BuildPlan | None) -> str:
    """Say why the team has no file to write in this run."""
    if plan is None:
        return "no build plan in this run gives the team files"
    kinds = "/".join(r.value for r in spec.owns)
    return f"nothing to do in this plan: it gives {spec.name} no {kinds} files"


def previous_drafts(state: StageState, team: str) -> dict[str, str]:
    """Return the team's earlier version of each file, by path.

    Its drafts of the last attempt, else the files it wrote in the round
    before (a revise or fix round), else nothing.
    """
    previous = {d.path: d.content for d in state.get("drafts", [])}
    return previous or dict((state.get("prior") or {}).get(team, {}))


def files_written(state: StageState) -> dict[str, str]:
    """Return every file the finished stages wrote, by path."""
    return {
        a.path: a.content
        for r in state["stages"].values()
        if r.result is not None
        for a in r.result.artifacts
    }


def code_sandbox(runtime: Runtime[Context], plan: BuildPlan | None) -> Sandbox | None:
    """Return the sandbox the build loop runs candidates in, or None when code does not run."""
    if plan is None or not plan.executable or not runtime.context.settings.generation.run_code:
        return None
    try:
        return runtime.context.get_sandbox()
    except SandboxUnavailableError:
        return None  # the stage's code checks say why, and stop the stage


@dataclass
class Drafted:
    """What one attempt's drafting produced: its files, problems, repairs and spend."""

    drafts: list[Artifact] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    repairs: list[str] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    served: str = ""  # the model that served the last call that said
    origins: dict[str, str] = field(default_factory=dict)  # path -> model, build or tools
    handed: list[Artifact] = field(default_factory=list)  # made for another team's planned file

    def spent(self, reply: Draft) -> None:
        """Add one model call's usage, and the model that served it."""
        self.usage, self.served = self.usage.add(reply.usage), reply.model or self.served


def draft_items(work: Drafting, items: list[Deliverable], previous: dict[str, str]) -> Drafted:
    """Draft each item in order; each later file sees the earlier ones (``work.written``)."""
    done = Drafted()
    for item in items:
        if work.out_of_time():  # the drive's time cap: the files drafted so far are the draft
            done.problems.append(f"{item.path}: not drafted: the run's time cap was reached")
            continue
        result = draft_item(work, item, previous.get(item.path, ""), done)
        if result.artifact is not None:
            done.drafts.append(result.artifact)
            done.origins[item.path] = result.origin
            work.written[item.path] = result.artifact.content
        done.handed += result.companions  # for a later team: the build loop's agreed tests
        if result.problem:
            done.problems.append(result.problem)
        done.repairs += [f"{item.path}: {r}" for r in counted(result.repairs)]
    return done


def draft_item(work: Drafting, item: Deliverable, earlier: str, done: Drafted) -> Draft:
    """Draft one file, asked again at once while the prechecks find what the gate would refuse.

    A Python file is asked again up to ``max_parse_retries`` times; an answer
    that brings no file keeps the earlier draft, whose findings the gate reports.
    """
    by_tools = tools_made(work, item)
    if by_tools is not None:  # a plan the requirement settles, its examples as tests
        return by_tools
    made = buildable(work, item.path) if item.format != "build-plan" else None
    if made is not None:  # the skeleton by tools, each unit drawn, run and selected
        built = build_module(work, item.path, made, earlier)
        done.spent(built)
        return built
    brief = ""
    if work.plan is not None and item.format != "build-plan":
        brief = interface_brief(
            work.plan, item.path, work.written, work.settings.generation.upstream_chars
        )
    result = ask_file(work, item, brief, [], worth_improving(work, item.path, earlier))
    done.spent(result)
    for _ in range(
        work.settings.generation.max_parse_retries if item.kind == ArtifactKind.PYTHON else 0
    ):
        if result.artifact is None or result.problem:
            break
        drafted = result.artifact.content
        found = draft_problems(item.path, drafted, work.plan, written=work.written)
        if not found:
            break
        done.repairs.append(f"{item.path}: asked again at once: {found[0]}")
        again = ask_file(work, item, brief, found, worth_improving(work, item.path, drafted))
        done.spent(again)
        if again.artifact is None:
            break  # the earlier draft is kept; the gate reports its findings
        result = again
    return result


def worth_improving(work: Drafting, path: str, earlier: str) -> str:
    """Return the earlier draft to show as the one to improve: "" for a tests file with no test.

    Such a draft is most often the module under test written out again
    (``precheck.no_test``); shown as the draft to improve, it is copied once more.
    """
    if earlier and work.plan is not None and no_test(path, earlier, work.plan, {}):
        return ""
    return earlier


def ask_file(
    work: Drafting, item: Deliverable, brief: str, found: list[str], earlier: str
) -> Draft:
    """Draft one file: asked with the checks' ``found`` lines and the ``earlier`` draft.

    The build plan is asked for as a validated object; any other file as
    plain text, a Python file then importing the project names it uses and
    binding the planned names it wrote as methods (``bind_project_names``).
    """
    setup, state, settings = work.setup, work.state, work.settings
    messages = draft_messages(
        setup.spec,
        state,
        item,
        needs=setup.needs,
        names=setup.names,
        settings=settings,
        feedback=[*work.feedback, *found],
        previous=earlier,
        notes=work.notes,
        count=work.count,
        brief=brief,
    )
    if item.format == "build-plan":
        return draft_plan(
            work.resolved.structured(PLAN_SCHEMA),
            messages,
            path=item.path,
            requirement=state["requirement"],
            owners=pipeline_owners(state, setup.teams),
            teams=setup.teams,
            max_parse_retries=settings.generation.max_parse_retries,
            max_model_errors=settings.generation.max_model_errors,
            facts=requirement_facts_of(state),
            repairs_off=settings.generation.repairs_off,
        )
    drafted = draft_file(
        work.resolved.plain(),
        messages,
        path=item.path,
        kind=item.kind,
        max_model_errors=settings.generation.max_model_errors,
        max_continuations=settings.generation.max_continuations,
        repairs_off=settings.generation.repairs_off,
        unloop=work.resolved.sampled(  # a loop is broken by sampling wider
            settings.generation.candidate_temperature,
            state.get("attempt", 1),
            repeat_penalty=settings.generation.loop_repeat_penalty,
        ),
    )
    if drafted.artifact is not None and work.plan is not None and item.kind == ArtifactKind.PYTHON:
        bind_project_names(
            drafted, work.plan, work.written, item.path, settings.generation.repairs_off
        )
    return drafted


def bind_project_names(
    drafted: Draft,
    plan: BuildPlan,
    written: dict[str, str],
    path: str,
    off: Collection[str] = (),
) -> None:
    """Import the project names a drafted module uses and never imports; alias its methods.

    A planned function written as a method gets its module-level name (the
    ``python-in-project`` repairs of ``repairs/repair.py``). The repairs are
    recorded on ``drafted``, and kept only while the file stays within
    ``MAX_ARTIFACT_CHARS``; those named in ``off`` are left out.
    """
    assert drafted.artifact is not None
    own = project_modules(plan, written, path)  # its own names, imported
    planned = [s.name for m in plan.modules if m.path == path for s in m.symbols]
    fixtures = frozenset().union(
        *(fixtures_defined(text) for name, text in written.items() if name.endswith("conftest.py"))
    )
    sources = project_sources(plan, written)
    every = {module_name(p) for p in [*(f.path for f in plan.files), *written] if p.endswith(".py")}
    every.discard("")
    names = ProjectNames(own, planned, is_tests_file(path), fixtures, sources, frozenset(every))
    fixed = repair(RepairKind.PYTHON_IN_PROJECT, drafted.artifact.content, names, off)
    if fixed.notes and len(fixed.content) <= MAX_ARTIFACT_CHARS:
        drafted.artifact = drafted.artifact.with_content(fixed.content)
        drafted.repairs += fixed.notes


def counted(lines: list[str]) -> list[str]:
    """Say each line once, with how many times it came when more than once."""
    return [f"{line} ({n} times)" if n > 1 else line for line, n in Counter(lines).items()]


def sandbox_notes(state: StageState) -> list[str]:
    """Say what the sandbox found in the files, so the report's confidence can be honest."""
    notes = [
        f"{c.name} (`{c.command}`): {c.summary or c.exit_code}" for c in state.get("checks", [])
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
    artifacts = list(state.get("drafts", []))
    if written_by_tools(state):  # the evidence is the checks': a model adds nothing to it
        made = tool_report(state, artifacts)
        return Command(goto="gate", update={**checked, "candidate": made})
    settings = runtime.context.settings
    resolved = setup.model(runtime, {**state, **checked})
    attempt, attempts = state.get("attempt", 1), max_attempts(state, runtime)
    can_ask = state.get("asked", 0) < settings.runs.max_clarifications and attempt < attempts
    messages = report_messages(
        setup.spec,
        state,
        artifacts,
        needs=setup.needs,
        names=setup.names,
        settings=settings,
        feedback=feedback_for(state, setup.spec.slug),
        attempt=attempt,
        max_attempts=attempts,
        notes=notes_for(state),
        checks=sandbox_notes(state),
        count=token_counter(resolved.chat),
    )
    started = time.perf_counter()
    reply = request_task_result(
        resolved.structured(dict(setup.schema if can_ask else setup.settled_schema)),
        messages,
        artifacts=artifacts,
        max_parse_retries=settings.generation.max_parse_retries,
        max_model_errors=settings.generation.max_model_errors,
        repairs_off=settings.generation.repairs_off,
    )
    served = reply.model or state.get("model", "")
    return Command(
        goto="gate",
        update={
            **checked,
            "candidate": reply.result,
            "repairs": [
                *state.get("repairs", []),
                *(f"report: {r}" for r in counted(reply.repairs)),
            ],
            **metering.stage_spent(
                state, setup.spec.slug, reply.usage, served, started, runtime.context
            ),
        },
    )
