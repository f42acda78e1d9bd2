"""The run's own nodes after governance: plan the stages, validate the result, final review.

Each node is a top-level function taking the pipeline's frozen ``RunSetup``,
as a stage's nodes take their team's ``StageSetup`` (``binding.bind`` gives
it to them). Their routes name the pipeline's first stages, so the builder
lists them (``destinations=``) and the drawn graph is the graph that runs.

A reviewer's revision is new scope: it is screened (``scope.vet``) before any
team reads it, and waits for an approver when it goes past what was approved.

A run that delivers into an existing repository (its state's ``repository``)
has the repository's old tests in its final checks, and after its review goes
to the ``merge`` gate (``graph/delivery.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from langgraph.graph import END
from langgraph.runtime import Runtime
from langgraph.types import Command

from devfactory.checks.catalogue import CHECKS
from devfactory.contracts import RunOutcome, StageOutcome, StageRecord
from devfactory.control.budget import Caps
from devfactory.control.hitl import DecisionRecord, Pause, make_pause
from devfactory.control.lifecycle import Phase
from devfactory.control.run_records import RoundSummary, StagePlan, StageSlot, StageSummary
from devfactory.graph.context import Context
from devfactory.graph.final_checks import final_checks
from devfactory.graph.oversight import metering
from devfactory.graph.oversight.interrupts import decide
from devfactory.graph.oversight.phases import Mover, task_key
from devfactory.graph.planning.build_plan import stage_items
from devfactory.graph.planning.reading import read_once
from devfactory.graph.screening.scope import vet
from devfactory.graph.stage.setup import left_out
from devfactory.graph.state import (
    RunState,
    RunUpdate,
    build_plan_of,
    cleared,
    final_checks_of,
)
from devfactory.pipelines import Pipeline
from devfactory.software.plan import BuildPlan
from devfactory.teams.registry import TeamRegistry

VALIDATE = "validate"
REVIEW = "review"
MERGE = "merge"


@dataclass(frozen=True)
class RunSetup:
    """A pipeline's fixed part of the run graph, made once when the graph is built.

    Attributes:
        pipeline: the pipeline.
        teams: the registry.
        first: the stages that need none: where every round starts.
        shares: each team's part of the run's caps (its budget share of the pipeline's).

    """

    pipeline: Pipeline
    teams: TeamRegistry
    first: tuple[str, ...]
    shares: Mapping[str, float]

    @classmethod
    def of(cls, pipeline: Pipeline, teams: TeamRegistry) -> RunSetup:
        """Build the setup of ``pipeline``'s run graph."""
        shares = {t: teams[t].budget_share for t in pipeline.teams}
        total = sum(shares.values()) or 1.0
        first = tuple(s.team for s in pipeline.stages if not s.needs)
        return cls(pipeline, teams, first, {t: share / total for t, share in shares.items()})


def part_of(caps: Caps, part: float) -> Caps:
    """Return ``part`` (0..1) of ``caps``: a team's soft caps within the run's."""
    return Caps(
        tokens=None if caps.tokens is None else max(1, int(caps.tokens * part)),
        cost_usd=None if caps.cost_usd is None else caps.cost_usd * part,
        seconds=None if caps.seconds is None else caps.seconds * part,
    )


def plan(state: RunState, runtime: Runtime[Context], setup: RunSetup) -> Command[str]:
    """Lay out the pipeline's stages with each team's soft caps, and start the first ones."""
    pipeline = setup.pipeline
    mover = Mover(state, runtime)
    update: RunUpdate = mover.to(Phase.PLANNING, reason=f"pipeline {pipeline.name}")
    update |= read_once(state, runtime)  # the requirement's facts, once: every stage reads them
    run_caps = (state.get("budget") or {}).get("run") or Caps()
    update["stage_plan"] = StagePlan(
        pipeline=pipeline.name,
        stages=[StageSlot(team=s.team, needs=list(s.needs)) for s in pipeline.stages],
        team_caps={t: part_of(run_caps, part) for t, part in setup.shares.items()},
    )
    update |= mover.to(
        Phase.IN_PROGRESS,
        reason=f"{len(pipeline.stages)} stages, starting {', '.join(setup.first)}",
    )
    return Command(goto=list(setup.first), update=update)


def blocked_outcome(state: RunState, blocked: list[StageRecord]) -> RunOutcome:
    """Say why the run failed when stages blocked: the first one's reason, and the spend.

    A stage stopped by the budget or the policy adds what the run spent.
    """
    first = blocked[0]
    reason = f"stage {first.team} BLOCKED: {first.reason}"
    if first.stopped_by in ("budget", "policy"):
        spent = metering.run_spend(state)
        reason += (
            f" (spent {spent.tokens:,} tokens, ${spent.cost_usd:.4f}, "
            f"{spent.seconds:.1f}s of model time)"
        )
    return RunOutcome.failed(reason, blocked=[r.team for r in blocked])


def cross_check(
    setup: RunSetup, stages: Mapping[str, StageRecord], build_plan: BuildPlan | None
) -> list[str]:
    """Check the finished round as a whole: every stage passed, every file present.

    A stage the build plan gave nothing to do (SKIPPED, stopped by the plan)
    counts as done; every other stage must have passed with its documents and
    its planned files.
    """
    teams = setup.teams
    problems = []
    for team in setup.pipeline.teams:
        record = stages.get(team)
        if record is not None and left_out(record):
            continue
        if record is None or record.outcome is not StageOutcome.PASSED:
            problems.append(f"stage {team} has no passed result")
            continue
        result = record.result
        produced = {a.path for a in result.artifacts} if result else set()
        expected = [i.path for i in stage_items(teams[team], build_plan)]
        missing = [p for p in expected if p not in produced]
        if missing:
            problems.append(f"{team} is missing {', '.join(missing)}")
        if result:
            found = CHECKS.run_artifact_checks(teams[team].checks, result.artifacts)
            problems.extend(f"{team}: {p}" for p in found)
    return problems


def prior_files(stages: Mapping[str, StageRecord]) -> dict[str, dict[str, str]]:
    """Return each team's files of the round that ended, by path: its next draft's start."""
    return {
        team: {a.path: a.content for a in (r.result.artifacts if r.result else [])}
        for team, r in stages.items()
    }


def fix_round(state: RunState, owners: dict[str, list[str]]) -> RunUpdate:
    """Return the update that sends each owner its files' problems (a bounded fix round).

    Every stage runs again, so the pipeline's joins hold: a team with nothing
    to fix keeps its record without a model call; an owner redrafts from its
    current files with the problems as the gate's feedback. The build plan
    stays: its stage keeps its record.
    """
    stages = state.get("stages", {})
    return {
        "fix_round": state.get("fix_round", 0) + 1,
        "fixes": owners,
        "kept_stages": dict(stages),
        "prior": prior_files(stages),
        "stages": cleared(),
    }


def validate(state: RunState, runtime: Runtime[Context], setup: RunSetup) -> Command[str]:
    """Hold the whole round up before a person reviews it: stages, files, the built software.

    A blocked stage or a missing file fails the run. When the built software
    fails its checks, the failures go back to the teams that own the failing
    files, up to ``max_fix_rounds`` times; then the run FAILS with them.
    """
    mover = Mover(state, runtime)
    stages = state.get("stages", {})
    blocked = [r for r in stages.values() if r.outcome is StageOutcome.BLOCKED]
    if blocked:
        return Command(goto=END, update=mover.end(blocked_outcome(state, blocked)))
    update: RunUpdate = mover.to(Phase.VALIDATING, reason="every stage passed its gate")
    problems = cross_check(setup, stages, build_plan_of(state))
    if problems:
        update |= mover.end(RunOutcome.failed("validation failed: " + "; ".join(problems)))
        return Command(goto=END, update=update)
    built = final_checks(state, runtime, setup.teams)
    owners = built.owners if built else {}
    rounds = state.get("fix_round", 0)
    if owners and rounds < runtime.context.settings.generation.max_fix_rounds:
        names = ", ".join(owners)
        reason = f"fix round {rounds + 1}: the built software fails its checks; back to {names}"
        update |= mover.to(Phase.IN_PROGRESS, reason=reason)
        update |= fix_round(state, owners)
        update["final_checks"] = built
        return Command(goto=list(setup.first), update=update)
    if built and built.problems:
        reason = "the built software fails its checks: " + "; ".join(built.problems)
        update |= mover.end(RunOutcome.failed(reason[:4000], final_checks=built))
        return Command(goto=END, update=update)
    update["final_checks"] = built
    update |= mover.to(Phase.AWAITING_REVIEW, reason="deliverables validated")
    if not runtime.context.settings.runs.review_required:
        if state.get("repository"):  # the branch goes back to its repository first
            return Command(goto=MERGE, update=update)
        done = RunOutcome.completed(built)
        update |= mover.end(done, actor="policy", reason="final review not required")
        return Command(goto=END, update=update)
    return Command(goto=REVIEW, update=update)


def review_pause(state: RunState, runtime: Runtime[Context]) -> Pause:
    """Build the final review's question: the round's files; past the cap, no more revising."""
    settings = runtime.context.settings
    revision = state.get("revision", 0)
    files = [
        f"{a.path} ({r.team})"
        for r in state.get("stages", {}).values()
        for a in (r.result.artifacts if r.result else [])
    ]
    pause = make_pause(
        runtime.context.get_policy(),
        "review",
        title=f"final review of round {revision + 1}: {len(files)} files",
        question=(f"Requirement: {state['requirement']}\nFiles: " + ", ".join(files))[:4000],
        details={
            "revision": revision,
            "max_revisions": settings.runs.max_review_rounds,
            "files": files[:40],
        },
    )
    if revision >= settings.runs.max_review_rounds:
        pause = pause.model_copy(update={"actions": ("approve", "reject")})
    return pause


def review(state: RunState, runtime: Runtime[Context], setup: RunSetup) -> Command[str]:
    """Ask a person to approve (COMPLETED), ask for changes (bounded) or reject.

    In an unattended run the policy's review rule decides (approve by default).
    Changes start the next round once they are screened: past the approved
    scope an approver decides whether the teams see them (approve), the run
    ends (reject) or they are rewritten and screened again (modify).
    """
    decision = decide(review_pause(state, runtime), state, runtime)
    mover = Mover(state, runtime)
    update: RunUpdate = {"decisions": {task_key(): DecisionRecord.of("review", decision)}}
    actor, summary = decision.actor, decision.summary()
    if decision.action == "approve" and state.get("repository"):
        return Command(goto=MERGE, update=update)  # the merge is a gate of its own
    if decision.action == "approve":
        done = RunOutcome.completed(final_checks_of(state))
        update |= mover.end(done, actor=actor, reason=summary)
        return Command(goto=END, update=update)
    if decision.action == "reject":
        failed = RunOutcome.failed(f"review rejected: {summary}")
        update |= mover.end(failed, actor=actor, reason=summary)
        return Command(goto=END, update=update)
    revision = state.get("revision", 0)
    vetted = vet(
        state,
        runtime,
        decision.text,
        source=f"review feedback from {decision.by} (revision {revision + 1})",
        key=task_key(),
    )
    update["decisions"] |= vetted.decisions
    update["notices"] = vetted.publish(runtime)
    if vetted.rejected:
        reason = f"governance rejected the review feedback: {vetted.rejected}"
        update |= mover.end(RunOutcome.failed(reason), actor=vetted.actor)
        return Command(goto=END, update=update)
    update |= mover.to(
        Phase.IN_PROGRESS,
        actor=actor,
        reason=f"revision {revision + 1}: {vetted.text}"[:2000],
    )
    update |= next_round(state, vetted.text)
    return Command(goto=list(setup.first), update=update)


def next_round(state: RunState, feedback: str) -> RunUpdate:
    """Return the update that starts a revision: every team works again, with ``feedback``.

    The round's files become each team's previous version; the round is
    summed up in ``rounds``; fix rounds start over, and the build plan waits
    for its stage to pass again.
    """
    revision = state.get("revision", 0)
    stages = state.get("stages", {})
    summary = RoundSummary(
        revision=revision,
        feedback=feedback,
        stages={
            t: StageSummary(outcome=r.outcome.value, attempts=r.attempts) for t, r in stages.items()
        },
    )
    return {
        "revision": revision + 1,
        "review_feedback": feedback,
        "prior": prior_files(stages),
        "rounds": [*state.get("rounds", []), summary],
        "stages": cleared(),
        "build_plan": cleared(),
        "fix_round": 0,
        "fixes": {},
        "kept_stages": {},
    }
