"""What a stage's nodes share: the team's fixed setup, and the ways a stage ends."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from langgraph.runtime import Runtime
from langgraph.types import Command

from devfactory.contracts import MAX_ARTIFACTS, StageOutcome, StageRecord, TaskResult, Usage
from devfactory.control.budget import Spend
from devfactory.events import StageFinished
from devfactory.graph.context import Context
from devfactory.graph.emit import emit
from devfactory.graph.model_io.schema import report_schema
from devfactory.graph.oversight.budget_gate import budget_gate
from devfactory.graph.stage.build_loop.whole import blocked_plan_answer
from devfactory.graph.state import StageUpdate
from devfactory.models.router import ResolvedModel
from devfactory.software.plan import PLAN_PATH, read_plan
from devfactory.teams.registry import TeamRegistry
from devfactory.teams.spec import TeamSpec


@dataclass(frozen=True)
class StageSetup:
    """A team's fixed part in one pipeline, made once when the graph is built.

    Attributes:
        spec: the team.
        needs: stages whose results this stage reads (its pipeline dependencies).
        teams: the registry (clarification targets and their identities).
        names: display name by team slug.
        schema: the JSON schema of the team's report.
        settled_schema: the same without NEEDS_CLARIFICATION, for a report
            whose question could not be routed any more.

    """

    spec: TeamSpec
    needs: tuple[str, ...]
    teams: TeamRegistry
    names: Mapping[str, str]
    schema: Mapping[str, Any]
    settled_schema: Mapping[str, Any]

    @classmethod
    def of(cls, spec: TeamSpec, *, needs: Sequence[str], teams: TeamRegistry) -> StageSetup:
        """Build the setup of ``spec``'s stage."""
        names = {slug: s.name for slug, s in teams.items()}
        return cls(
            spec,
            tuple(needs),
            teams,
            names,
            report_schema(spec),
            report_schema(spec, can_ask=False),
        )

    def model(
        self, runtime: Runtime[Context], state: Mapping[str, Any] | None = None
    ) -> ResolvedModel:
        """Return the model serving the team's alias (``ModelUnavailableError`` if none).

        A person who chose the ``cheaper_model`` alternative set the run's course:
        the remaining stages use that alias instead of the team's.
        """
        alias = ((state or {}).get("course") or {}).get("model") or self.spec.model
        return runtime.context.model_source().resolve(alias)


def halted_by(stages: Mapping[str, StageRecord]) -> list[str]:
    """Return the stages that did not pass (one the plan or a person left out is not one)."""
    return [
        team
        for team, record in stages.items()
        if record.outcome is not StageOutcome.PASSED and not left_out(record)
    ]


def left_out(record: StageRecord) -> bool:
    """Say whether a stage was left out on purpose: the plan gave it nothing, a person dropped it.

    A person drops a stage by picking a request's ``drop_stage`` alternative;
    the stage then ends SKIPPED, stopped by "person", without model work.
    """
    if record.stopped_by == "plan":
        return True
    return record.outcome is StageOutcome.SKIPPED and record.stopped_by == "person"


def feedback_for(state: Mapping[str, Any], team: str) -> list[str]:
    """Return the gate's feedback, or on a fix round's first attempt the problems to fix."""
    if state.get("feedback"):
        return list(state["feedback"])
    return list((state.get("fixes") or {}).get(team, []))


def max_attempts(state: Mapping[str, Any], runtime: Runtime[Context]) -> int:
    """Return the stage's attempt cap: each time a person sends it back, a full set more."""
    return runtime.context.settings.generation.max_stage_attempts * (
        1 + state.get("human_retries", 0)
    )


def notes_for(state: Mapping[str, Any]) -> list[str]:
    """Render the answers and guidance a stage received, and the reviewer's feedback."""
    notes = [
        f"{a['from']} answered {a['question']!r}: {a['answer']}" for a in state.get("answers", [])
    ]
    if state.get("fix_round"):
        notes.append(
            f"Fix round {state['fix_round']}: the run's final checks ran the software and "
            "found the problems listed as the gate's feedback. Fix them in your previous version."
        )
    scope = (state.get("course") or {}).get("scope")
    if scope:
        notes.append(f"A person narrowed the run's scope; work to this: {scope}")
    if state.get("revision"):
        notes.append(
            f"The reviewer asked for changes (revision {state['revision']}): "
            f"{state.get('review_feedback', '')}. Revise your previous version accordingly."
        )
    return notes


def finish(
    setup: StageSetup,
    state: Mapping[str, Any],
    runtime: Runtime[Context],
    outcome: StageOutcome,
    reason: str,
    result: TaskResult | None,
    *,
    stopped_by: str = "",
    update: Mapping[str, Any] | None = None,
) -> Command[Any]:
    """End the stage: record how it went, tell the runner, and go on to ``retain``.

    A stage that passes with the build plan stores it in run state, validated
    once, for every later stage and the run's checks to read. When the plan's
    stage ends BLOCKED, the module written whole in one reply is its best so
    far (``whole.blocked_plan_answer``), delivered and marked as not accepted.
    """
    repairs = list(state.get("repairs", []))
    if outcome is StageOutcome.BLOCKED:  # the plan blocked: the module written whole, if any
        resolve = partial(setup.model, runtime, state)
        result, note, spent = blocked_plan_answer(
            setup.spec, state, runtime, result, resolve, stopped_by=stopped_by
        )
        repairs += [note] if note else []
        update = {**(update or {}), **spent}
        state = {**state, **spent}
    usage = state.get("usage") or Spend()
    record = StageRecord(
        team=setup.spec.slug,
        outcome=outcome,
        reason=reason,
        result=result,
        model=state.get("model", ""),
        attempts=state.get("attempt", 0),
        usage=Usage(**usage.model_dump(include={"input_tokens", "output_tokens", "calls"})),
        seconds=round(state.get("seconds", 0.0), 3),
        cost_usd=round(usage.cost_usd, 6),
        gate_feedback=state.get("history", []),
        stopped_by=stopped_by,
        recalled=[f"{m['bank']}: {m['text']}" for m in state.get("memories", [])],
        checks=list(state.get("checks", [])),
        repairs=repairs,
        earlier_repairs=list(state.get("earlier_repairs", [])),
        handed=state.get("handed", []),
    )
    emit(runtime, StageFinished(record=record))
    done = {**(update or {}), "stages": {setup.spec.slug: record}}
    planned = next((a for a in result.artifacts if a.path == PLAN_PATH), None) if result else None
    if outcome is StageOutcome.PASSED and planned is not None:
        plan = read_plan(planned.content)
        if plan is not None:
            done["build_plan"] = plan
    return Command(goto="retain", update=done)


def stop_for_budget(
    setup: StageSetup, state: Mapping[str, Any], runtime: Runtime[Context]
) -> Command[Any] | StageUpdate:
    """Check the budget before model work: the finishing Command if it stops the stage.

    Otherwise return the state updates the check made (a soft-cap notice, a
    person's override), for the node to pass on. A stopped stage keeps its
    last drafts as its BLOCKED result's files: the best so far is delivered,
    marked as not accepted.
    """
    budget = budget_gate(state, setup.spec, runtime)
    if not budget.stop:
        return budget.update
    blocked = TaskResult.blocked(budget.stop[:300])
    drafts = {d.path: d for d in state.get("drafts", [])}  # one file a path
    if drafts:
        blocked = TaskResult.model_validate(
            {**blocked.model_dump(), "artifacts": list(drafts.values())[:MAX_ARTIFACTS]}
        )
    return finish(
        setup,
        state,
        runtime,
        StageOutcome.BLOCKED,
        budget.stop,
        blocked,
        stopped_by=budget.stopped_by,
        update=budget.update,
    )
