"""Pipelines are data; the compiled and drawn graph is exactly the pipeline."""

from __future__ import annotations

import pytest
from langgraph.graph import END, START

from devfactory.factory.drawing import pipeline_view
from devfactory.graph import build_graph
from devfactory.graph.governance import APPROVAL, GOVERNANCE, PLAN
from devfactory.graph.run_nodes import MERGE, REVIEW, VALIDATE
from devfactory.pipelines import Pipeline, PipelineError, available_pipelines, load_pipeline
from devfactory.teams import load_teams


def test_mvp_is_the_five_team_chain() -> None:
    mvp = load_pipeline("mvp")
    assert mvp.teams == (
        "business-analysis",
        "solution-architecture",
        "backend-engineering",
        "qa-engineering",
        "documentation",
    )
    assert mvp.edges == {
        ("business-analysis", "solution-architecture"),
        ("solution-architecture", "backend-engineering"),
        ("backend-engineering", "qa-engineering"),
        ("qa-engineering", "documentation"),
    }


def test_full_runs_every_team_with_parallel_branches() -> None:
    full = load_pipeline("full")
    assert set(full.teams) == set(load_teams())
    after_api = [s.team for s in full.stages if s.needs == ("api-design",)]
    assert {"backend-engineering", "database-engineering"} <= set(after_api)
    assert "api-design" in full.needs("frontend-engineering")
    assert set(full.needs("feature-engineering")) == {
        "frontend-engineering",
        "backend-engineering",
        "database-engineering",
    }
    assert full.sinks == ("documentation",)


@pytest.mark.parametrize("name", available_pipelines())
def test_drawn_graph_matches_the_pipeline(name: str) -> None:
    pipeline = load_pipeline(name)
    drawn = build_graph(name).compile().get_graph()
    edges = {(e.source, e.target) for e in drawn.edges}
    first = {s.team for s in pipeline.stages if not s.needs}
    expected = set(pipeline.edges)
    expected |= {(START, GOVERNANCE), (GOVERNANCE, APPROVAL), (GOVERNANCE, PLAN)}
    expected |= {(APPROVAL, GOVERNANCE), (APPROVAL, PLAN), (APPROVAL, END)}
    expected |= {(PLAN, team) for team in first}
    expected |= {(sink, VALIDATE) for sink in pipeline.sinks}
    expected |= {(VALIDATE, REVIEW), (VALIDATE, END), (REVIEW, END)}
    expected |= {(REVIEW, team) for team in first}  # revise loops back to the first stages
    expected |= {(VALIDATE, team) for team in first}  # a fix round, for the built software
    expected |= {(VALIDATE, MERGE), (REVIEW, MERGE), (MERGE, END)}  # a repository's merge gate
    assert edges == expected
    assert set(drawn.nodes) == {
        START,
        END,
        GOVERNANCE,
        APPROVAL,
        PLAN,
        VALIDATE,
        REVIEW,
        MERGE,
        *pipeline.teams,
    }
    drawing = pipeline_view(name)  # the picture draws exactly the compiled routes
    assert {(line.source, line.target) for line in drawing.lines if line.kind != "asks"} == edges


def test_stage_subgraph_routes_are_visible() -> None:
    drawn = build_graph("mvp").compile().get_graph(xray=1)
    edges = {(e.source, e.target) for e in drawn.edges}
    assert ("qa-engineering:draft", "qa-engineering:verify") in edges  # the sandbox
    assert ("qa-engineering:verify", "qa-engineering:report") in edges
    assert ("qa-engineering:verify", "qa-engineering:retain") in edges  # no sandbox: BLOCKED
    assert ("qa-engineering:report", "qa-engineering:gate") in edges
    assert ("qa-engineering:gate", "qa-engineering:draft") in edges  # bounded retry
    assert ("qa-engineering:gate", "qa-engineering:clarify") in edges  # broker
    assert ("qa-engineering:clarify", "qa-engineering:consult") in edges  # a person answers
    assert ("qa-engineering:gate", "qa-engineering:escalate") in edges  # BLOCKED -> person


def test_unknown_pipeline_is_refused() -> None:
    with pytest.raises(PipelineError, match="unknown pipeline 'nope'") as refused:
        load_pipeline("nope")
    assert str(refused.value).endswith("choose one of full, lean, mvp")  # words, not a tuple


@pytest.mark.parametrize(
    ("stages", "message"),
    [
        ([{"team": "a", "needs": ["b"]}, {"team": "b"}], "must be listed before it"),
        ([{"team": "a"}, {"team": "a"}], "appears twice"),
        ([{"team": "a", "needs": ["a"]}], "must be listed before it"),
    ],
)
def test_malformed_pipelines_are_refused(stages: list[dict], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Pipeline(name="bad", description="bad", stages=stages)


def test_pipeline_with_unknown_team_is_refused() -> None:
    bogus = Pipeline(name="bogus", description="x", stages=[{"team": "marketing"}])
    with pytest.raises(PipelineError, match="unknown teams"):
        build_graph(bogus)
