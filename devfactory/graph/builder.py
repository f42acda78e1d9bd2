"""Build a run graph from a pipeline definition and the team registry."""

from __future__ import annotations

from typing import Any

from langgraph.graph import END, START, StateGraph

from devfactory.contracts import StageOutcome
from devfactory.graph.context import Context
from devfactory.graph.stage import make_team_node
from devfactory.graph.state import RunInput, RunState
from devfactory.pipelines import Pipeline, load_pipeline
from devfactory.teams.registry import TeamRegistry, load_teams

FINALIZE = "finalize"


def decide_outcome(state: RunState) -> dict[str, Any]:
    """Say how the run ended: COMPLETED when every stage passed, else FAILED and why."""
    stages = state.get("stages", {})
    blocked = [r for r in stages.values() if r["outcome"] == StageOutcome.BLOCKED]
    if blocked:
        first = blocked[0]
        return {
            "outcome": {
                "status": "FAILED",
                "reason": f"stage {first['team']} BLOCKED: {first['reason']}",
                "blocked": [r["team"] for r in blocked],
            }
        }
    return {"outcome": {"status": "COMPLETED", "reason": "", "blocked": []}}


def build_graph(
    pipeline: Pipeline | str, teams: TeamRegistry | None = None
) -> StateGraph[RunState, Context, RunInput, RunState]:
    """Return the (uncompiled) graph builder for ``pipeline``.

    Each entry point compiles it with its own checkpointer. Stages with several
    dependencies join on all of them (a barrier), so parallel branches meet once.
    """
    teams = teams or load_teams()
    if isinstance(pipeline, str):
        pipeline = load_pipeline(pipeline)
    pipeline.check_teams(teams)
    names = {slug: spec.name for slug, spec in teams.items()}
    builder = StateGraph(RunState, context_schema=Context, input_schema=RunInput)
    for stage in pipeline.stages:
        builder.add_node(
            stage.team, make_team_node(teams[stage.team], needs=stage.needs, names=names)
        )
        if not stage.needs:
            builder.add_edge(START, stage.team)
        elif len(stage.needs) == 1:
            builder.add_edge(stage.needs[0], stage.team)
        else:
            builder.add_edge(list(stage.needs), stage.team)
    builder.add_node(FINALIZE, decide_outcome)
    sinks = list(pipeline.sinks)
    builder.add_edge(sinks if len(sinks) > 1 else sinks[0], FINALIZE)
    builder.add_edge(FINALIZE, END)
    return builder
