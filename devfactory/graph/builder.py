"""Build a run graph from a pipeline definition and the team registry.

``governance -> [approval] -> plan -> stages (the pipeline's DAG) -> validate
-> review [-> merge]``, with the review looping back to the first stages on revise; a
run that delivers into a repository ends at the merge gate.
"""

from __future__ import annotations

from langgraph.graph import END, START, StateGraph

from devfactory.graph.binding import bind
from devfactory.graph.context import Context
from devfactory.graph.delivery import merge
from devfactory.graph.governance import APPROVAL, GOVERNANCE, PLAN, approval, govern
from devfactory.graph.oversight.interrupts import waits_for
from devfactory.graph.run_nodes import (
    MERGE,
    REVIEW,
    VALIDATE,
    RunSetup,
    plan,
    review,
    validate,
)
from devfactory.graph.stage import make_team_node
from devfactory.graph.state import RunInput, RunState
from devfactory.pipelines import Pipeline, load_pipeline
from devfactory.teams.registry import TeamRegistry, load_teams


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
    builder = StateGraph(RunState, context_schema=Context, input_schema=RunInput)
    setup = RunSetup.of(pipeline, teams)
    first = setup.first
    builder.add_node(GOVERNANCE, govern)
    builder.add_node(APPROVAL, approval, metadata=waits_for("a governance approval"))
    builder.add_node(PLAN, bind(plan, setup), destinations=first)
    builder.add_edge(START, GOVERNANCE)
    for stage in pipeline.stages:
        builder.add_node(
            stage.team, make_team_node(teams[stage.team], needs=stage.needs, teams=teams)
        )
        if len(stage.needs) == 1:
            builder.add_edge(stage.needs[0], stage.team)
        elif stage.needs:
            builder.add_edge(list(stage.needs), stage.team)
    builder.add_node(VALIDATE, bind(validate, setup), destinations=(REVIEW, MERGE, *first, END))
    builder.add_node(
        REVIEW,
        bind(review, setup),
        destinations=(MERGE, *first, END),
        metadata=waits_for("a review of the finished run"),
    )
    builder.add_node(
        MERGE,
        bind(merge, setup),
        destinations=(END,),
        metadata=waits_for("a merge of the run's branch into its repository"),
    )
    sinks = list(pipeline.sinks)
    builder.add_edge(sinks if len(sinks) > 1 else sinks[0], VALIDATE)
    return builder
