"""The run's own nodes after governance: plan the stages, validate the result, final review.

A reviewer's revision is new scope: it is screened (``scope.vet``) before any
team reads it, and waits for an approver when it goes past what was approved.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langgraph.graph import END
from langgraph.runtime import Runtime
from langgraph.types import Command

from devfactory.contracts import StageOutcome, StageRecord
from devfactory.control.budget import Caps
from devfactory.control.hitl import make_pause
from devfactory.control.lifecycle import Phase
from devfactory.graph import metering
from devfactory.graph.context import Context
from devfactory.graph.hitl import decide
from devfactory.graph.lifecycle import Mover, task_key
from devfactory.graph.planning import stage_items
from devfactory.graph.scope import vet
from devfactory.graph.stage.verify import run_checks as verify_files
from devfactory.graph.stage.verify import workspace_files
from devfactory.graph.state import RESET, RunState
from devfactory.pipelines import Pipeline
from devfactory.software.plan import find_plan
from devfactory.teams.checks import run_checks
from devfactory.teams.registry import TeamRegistry

VALIDATE = "validate"
REVIEW = "review"


def make_plan(pipeline: Pipeline, teams: TeamRegistry):
    """Build the ``plan`` node: bind stages to objectives and per-team soft caps."""
    first = [s.team for s in pipeline.stages if not s.needs]
    shares = {t: teams[t].budget_share for t in pipeline.teams}
    total_share = sum(shares.values()) or 1.0

    def plan(state: RunState, runtime: Runtime[Context]) -> Command:
        mover = Mover(state, runtime)
        update: dict[str, Any] = mover.to(Phase.PLANNING, reason=f"pipeline {pipeline.name}")
        run_caps = Caps.model_validate((state.get("budget") or {}).get("run") or {})
        team_caps = {}
        for team, share in shares.items():
            part = share / total_share
            team_caps[team] = Caps(
                tokens=None if run_caps.tokens is None else max(1, int(run_caps.tokens * part)),
                cost_usd=None if run_caps.cost_usd is None else run_caps.cost_usd * part,
                seconds=None if run_caps.seconds is None else run_caps.seconds * part,
            ).model_dump()
        update["plan"] = {
            "pipeline": pipeline.name,
            "stages": [{"team": s.team, "needs": list(s.needs)} for s in pipeline.stages],
            "team_caps": team_caps,
        }
        update |= mover.to(
            Phase.IN_PROGRESS, reason=f"{len(pipeline.stages)} stages, starting {', '.join(first)}"
        )
        return Command(goto=first, update=update)

    return plan, first


def _blocked(stages: dict[str, Any]) -> list[StageRecord]:
    return [
        StageRecord.model_validate(r)
        for r in stages.values()
        if r["outcome"] == StageOutcome.BLOCKED
    ]


def cross_check(pipeline: Pipeline, teams: TeamRegistry, stages: dict[str, Any]) -> list[str]:
    """Check the finished round as a whole: every stage passed, every file present.

    A stage the build plan gave nothing to do (SKIPPED, stopped by the plan)
    counts as done; every other stage must have passed with its documents and
    its planned files.
    """
    plan = find_plan(stages)
    problems = []
    for team in pipeline.teams:
        record = stages.get(team)
        if record is not None and record.get("stopped_by") == "plan":
            continue
        if record is None or record["outcome"] != StageOutcome.PASSED:
            problems.append(f"stage {team} has no passed result")
            continue
        result = StageRecord.model_validate(record).result
        produced = {a.path for a in result.artifacts} if result else set()
        expected = [i.path for i in stage_items(teams[team], plan)]
        missing = [p for p in expected if p not in produced]
        if missing:
            problems.append(f"{team} is missing {', '.join(missing)}")
        if result:
            problems.extend(f"{team}: {p}" for p in run_checks(teams[team].tools, result.artifacts))
    return problems


def final_checks(state: RunState, runtime: Runtime[Context]) -> dict[str, Any]:
    """Run the build plan's checks on the whole workspace; return what the outcome keeps.

    Returns an empty dict when nothing is to run (no executable plan, or
    ``run_code`` off); otherwise the checks, the score, each acceptance
    criterion's status and the problems, each naming its file's owner.
    """
    stages = state.get("stages", {})
    plan = find_plan(stages)
    if plan is None or not plan.executable or not runtime.context.settings.run_code:
        return {}
    from devfactory.sandbox.runner import SandboxUnavailableError

    files = workspace_files(stages, [])
    try:
        found = verify_files(plan, files, runtime, teams=list(stages))
    except SandboxUnavailableError as exc:
        return {"checks": [], "score": 0.0, "criteria": {}, "problems": [f"not run: {exc}"]}
    except Exception as exc:  # noqa: BLE001 - the run fails with the reason, it never crashes
        why = f"the final checks could not run: {type(exc).__name__}: {exc}"[:600]
        return {"checks": [], "score": 0.0, "criteria": {}, "problems": [why]}
    return {
        "checks": [c.model_dump(mode="json") for c in found.checks],
        "score": found.score,
        "criteria": found.criteria,
        "problems": [f"{p.owner or 'run'}: {p.line()}"[:1500] for p in found.problems],
        "owners": {
            team: [p.line()[:1500] for p in found.of(team)]
            for team in dict.fromkeys(p.owner for p in found.problems if p.owner in stages)
        },
    }


def fix_round(state: RunState, owners: dict[str, list[str]]) -> dict[str, Any]:
    """Return the update that sends each owner its files' problems (a bounded fix round).

    Every stage runs again, so the pipeline's joins hold: a team with nothing
    to fix keeps its record without a model call; an owner redrafts from its
    current files with the problems as the gate's feedback.
    """
    stages = state.get("stages", {})
    return {
        "fix_round": state.get("fix_round", 0) + 1,
        "fixes": owners,
        "kept_stages": dict(stages),
        "prior": {
            team: {a["path"]: a["content"] for a in (r.get("result") or {}).get("artifacts", [])}
            for team, r in stages.items()
        },
        "stages": {RESET: True},
    }


def make_validate(pipeline: Pipeline, teams: TeamRegistry, restart: Sequence[str] = ()):
    """Build the ``validate`` node: the whole round must hold before a person reviews it.

    When the built software fails its checks, the failures go back to the
    teams that own the failing files, up to ``max_fix_rounds`` times; then the
    run FAILS with them.
    """

    def validate(state: RunState, runtime: Runtime[Context]) -> Command:
        mover = Mover(state, runtime)
        stages = state.get("stages", {})
        blocked = _blocked(stages)
        if blocked:
            first = blocked[0]
            spent = metering.run_spend(state)
            reason = f"stage {first.team} BLOCKED: {first.reason}"
            if first.stopped_by in ("budget", "policy"):
                reason += (
                    f" (spent {spent.tokens:,} tokens, ${spent.cost_usd:.4f}, "
                    f"{spent.seconds:.1f}s of model time)"
                )
            failed: dict[str, Any] = {**mover.to(Phase.FAILED, reason=reason[:2000])}
            failed["outcome"] = {
                "status": Phase.FAILED.value,
                "reason": reason,
                "blocked": [r.team for r in blocked],
            }
            return Command(goto=END, update=failed)
        update: dict[str, Any] = {}
        update |= mover.to(Phase.VALIDATING, reason="every stage passed its gate")
        problems = cross_check(pipeline, teams, stages)
        if problems:
            reason = "validation failed: " + "; ".join(problems)
            update |= mover.to(Phase.FAILED, reason=reason[:2000])
            update["outcome"] = {"status": Phase.FAILED.value, "reason": reason, "blocked": []}
            return Command(goto=END, update=update)
        built = final_checks(state, runtime)
        owners = built.get("owners") or {}
        rounds = state.get("fix_round", 0)
        if owners and restart and rounds < runtime.context.settings.max_fix_rounds:
            names = ", ".join(owners)
            reason = f"fix round {rounds + 1}: the built software fails its checks; back to {names}"
            update |= mover.to(Phase.IN_PROGRESS, reason=reason)
            update |= fix_round(state, owners)
            update["build"] = built
            return Command(goto=list(restart), update=update)
        if built.get("problems"):
            reason = "the built software fails its checks: " + "; ".join(built["problems"])
            update |= mover.to(Phase.FAILED, reason=reason[:2000])
            update["outcome"] = {
                "status": Phase.FAILED.value,
                "reason": reason[:4000],
                "blocked": [],
                "build": built,
            }
            return Command(goto=END, update=update)
        update["build"] = built
        update |= mover.to(Phase.AWAITING_REVIEW, reason="deliverables validated")
        if not runtime.context.settings.review_required:
            update |= mover.to(Phase.COMPLETED, actor="policy", reason="final review not required")
            update["outcome"] = {
                "status": Phase.COMPLETED.value,
                "reason": "",
                "blocked": [],
                "build": built,
            }
            return Command(goto=END, update=update)
        return Command(goto=REVIEW, update=update)

    return validate


def make_review(pipeline: Pipeline, first: Sequence[str]):
    """Build the ``review`` node: a person approves, asks for changes (bounded) or rejects.

    In an unattended run the policy's review rule decides (approve by default).

    Changes are screened first; past the approved scope an approver decides
    whether the teams see them (approve), the run ends (reject) or they are
    rewritten and screened again (modify).
    """

    def review(state: RunState, runtime: Runtime[Context]) -> Command:
        settings = runtime.context.settings
        revision = state.get("revision", 0)
        stages = state.get("stages", {})
        files = [
            f"{a['path']} ({r['team']})"
            for r in stages.values()
            for a in (r.get("result") or {}).get("artifacts", [])
        ]
        pause = make_pause(
            runtime.context.get_policy(),
            "review",
            title=f"final review of round {revision + 1}: {len(files)} files",
            question=(f"Requirement: {state['requirement']}\nFiles: " + ", ".join(files))[:4000],
            details={
                "revision": revision,
                "max_revisions": settings.max_review_rounds,
                "files": files[:40],
            },
        )
        if revision >= settings.max_review_rounds:
            pause = pause.model_copy(update={"actions": ("approve", "reject")})
        decision = decide(pause, state, runtime)  # unattended: approved by the policy
        mover = Mover(state, runtime)
        actor = decision.actor
        update: dict[str, Any] = {
            "decisions": {task_key(): {"kind": "review", **decision.model_dump(mode="json")}}
        }
        if decision.action == "approve":
            update |= mover.to(Phase.COMPLETED, actor=actor, reason=decision.summary())
            update["outcome"] = {
                "status": Phase.COMPLETED.value,
                "reason": "",
                "blocked": [],
                "build": state.get("build", {}),
            }
            return Command(goto=END, update=update)
        if decision.action == "reject":
            update |= mover.to(Phase.FAILED, actor=actor, reason=decision.summary())
            update["outcome"] = {
                "status": Phase.FAILED.value,
                "reason": f"review rejected: {decision.summary()}",
                "blocked": [],
            }
            return Command(goto=END, update=update)
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
            update |= mover.to(Phase.FAILED, actor=vetted.actor, reason=reason[:2000])
            update["outcome"] = {"status": Phase.FAILED.value, "reason": reason, "blocked": []}
            return Command(goto=END, update=update)
        feedback = vetted.text
        prior = {
            team: {a["path"]: a["content"] for a in (r.get("result") or {}).get("artifacts", [])}
            for team, r in stages.items()
        }
        summary = {
            "revision": revision,
            "feedback": feedback,
            "stages": {
                t: {"outcome": r["outcome"], "attempts": r["attempts"]} for t, r in stages.items()
            },
        }
        update |= mover.to(
            Phase.IN_PROGRESS,
            actor=actor,
            reason=f"revision {revision + 1}: {feedback}"[:2000],
        )
        update |= {
            "revision": revision + 1,
            "review_feedback": feedback,
            "prior": prior,
            "rounds": [*state.get("rounds", []), summary],
            "stages": {RESET: True},
            # a revision is a new round: every team works again, fix rounds start over
            "fix_round": 0,
            "fixes": {},
            "kept_stages": {},
        }
        return Command(goto=list(first), update=update)

    return review
