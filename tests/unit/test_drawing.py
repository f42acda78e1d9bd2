"""Graph views: every team in its cluster, every may_ask edge, every node that waits for a person.

The DOT text is read back by Graphviz itself (``dot -Tjson``), so what is
checked is what Graphviz draws, not the text's shape.
"""

from __future__ import annotations

import json
import re
import subprocess

import pytest

from devfactory.contracts import StageOutcome, StageRecord, TaskResult
from devfactory.factory.drawing import (
    ASKS,
    DOT_TIMEOUT_S,
    NOT_RUN,
    View,
    pipeline_view,
    running_nodes,
    to_dot,
    to_mermaid,
    view,
)
from devfactory.graph import build_graph
from devfactory.graph.oversight.interrupts import WAITS_FOR
from devfactory.pipelines import available_pipelines, load_pipeline
from devfactory.teams import load_teams

TEAMS = load_teams()
PERSON_NODES = {"approval", "review", "merge"}  # top level; each stage adds consult, escalate


def asks_of(pipeline: str) -> set[tuple[str, str]]:
    return {(t, target) for t in load_pipeline(pipeline).teams for target in TEAMS[t].may_ask}


def graphviz(drawing: View) -> dict:
    done = subprocess.run(
        ["dot", "-Tjson"],
        input=to_dot(drawing).encode(),
        capture_output=True,
        check=True,
        timeout=DOT_TIMEOUT_S,
    )
    return json.loads(done.stdout)


@pytest.mark.parametrize("pipeline", available_pipelines())
def test_every_team_sits_in_its_cluster_and_every_question_is_drawn(pipeline: str) -> None:
    drawing = pipeline_view(pipeline)
    teams = load_pipeline(pipeline).teams
    boxes = {b.id: b for b in drawing.boxes}
    for team in teams:
        assert boxes[team].kind == "team"
        assert boxes[team].groups == (TEAMS[team].cluster.value.title(),)
    asks = [(line.source, line.target) for line in drawing.lines if line.kind == "asks"]
    assert sorted(asks) == sorted(asks_of(pipeline))  # each may_ask edge, once
    outside = {target for _, target in asks} - set(teams)
    assert {b.id for b in drawing.boxes if b.kind == "outside"} == outside
    assert {b.id for b in drawing.boxes if b.kind == "person"} == PERSON_NODES


@pytest.mark.parametrize("pipeline", ["mvp", "full"])
def test_graphviz_reads_the_clusters_questions_and_waits(pipeline: str) -> None:
    drawing = pipeline_view(pipeline)
    drawn = graphviz(drawing)
    objects = drawn["objects"]
    nodes = {o["_gvid"]: o for o in objects if "nodes" not in o}
    clusters = {o["label"]: o for o in objects if o["name"].startswith("cluster_")}
    labels = {b.id: b.lines[0] for b in drawing.boxes}
    for team in load_pipeline(pipeline).teams:
        cluster = clusters[TEAMS[team].cluster.value.title()]
        members = {nodes[n]["label"].split("\\n")[0] for n in cluster["nodes"]}
        assert labels[team] in members
    # every edge drawn; the questions dotted, orange, with a round head
    assert len(drawn["edges"]) == len(drawing.lines)
    asks = [e for e in drawn["edges"] if e.get("color") == ASKS]
    assert len(asks) == len(asks_of(pipeline))
    assert {(e["style"], e["arrowhead"]) for e in asks} == {("dotted", "odot")}
    hexagons = {n["label"].split("\\n")[0] for n in nodes.values() if n.get("shape") == "hexagon"}
    assert hexagons == PERSON_NODES


def test_the_flow_goes_down_and_its_loops_go_back() -> None:
    drawing = pipeline_view("mvp")
    back = {(line.source, line.target) for line in drawing.lines if line.back}
    # the retry of governance, the revise round and the fix round
    assert back == {
        ("approval", "governance"),
        ("review", "business-analysis"),
        ("validate", "business-analysis"),
    }
    dot = to_dot(drawing)
    # written forward, drawn backward, so that the flow still goes down
    assert "n_business_analysis -> n_review [style=dashed, dir=back];" in dot


def test_mermaid_has_every_edge_cluster_and_only_the_questions_orange() -> None:
    text = to_mermaid(pipeline_view("mvp"))
    edges = [line.strip() for line in text.splitlines() if re.search(r" (-->|-\.->|--o) ", line)]
    asks = [n for n, e in enumerate(edges) if " --o " in e]
    assert len(asks) == len(asks_of("mvp"))
    (styled,) = re.findall(r"linkStyle ([\d,]+) stroke:" + ASKS, text)
    assert [int(n) for n in styled.split(",")] == asks
    for upstream, downstream in load_pipeline("mvp").edges:
        a, b = (f"n_{t.replace('-', '_')}" for t in (upstream, downstream))
        assert f"{a} --> {b}" in edges
    assert 'subgraph g_Engineering["Engineering"]' in text
    assert 'n_approval{{"approval<br/>waits for a person: a governance approval"}}' in text
    assert 'n_compliance_legal["Compliance #amp; Legal' in text  # escaped, not markup


def test_xray_marks_each_stage_s_consult_and_escalate_as_waiting() -> None:
    graph = build_graph("mvp").compile()
    drawing = view(graph, TEAMS, title="mvp", xray=True)
    waiting = {b.id for b in drawing.boxes if b.kind == "person"}
    drawn = graph.get_graph(xray=True)
    assert waiting == {n for n, node in drawn.nodes.items() if (node.metadata or {}).get(WAITS_FOR)}
    for team in load_pipeline("mvp").teams:
        assert {f"{team}:consult", f"{team}:escalate"} <= waiting
        box = next(b for b in drawing.boxes if b.id == f"{team}:draft")
        assert box.groups == (TEAMS[team].cluster.value.title(), TEAMS[team].name)
    asks = {(line.source, line.target) for line in drawing.lines if line.kind == "asks"}
    assert ("qa-engineering:clarify", "backend-engineering:recall") in asks
    assert ("qa-engineering:clarify", "api-design") in asks  # not in mvp: answers only
    assert len(graphviz(drawing)["edges"]) == len(drawing.lines)


def test_a_run_view_shows_each_stage_s_outcome_attempts_and_confidence() -> None:
    records = [
        StageRecord(
            team="business-analysis",
            outcome=StageOutcome.PASSED,
            attempts=1,
            result=TaskResult.model_validate(
                {"status": "COMPLETE", "reasoning": "ok", "confidence": 0.91}
            ),
        ),
        StageRecord(team="solution-architecture", outcome=StageOutcome.BLOCKED, attempts=2),
    ]
    drawing = view(build_graph("mvp").compile(), TEAMS, title="run r1", records=records)
    boxes = {b.id: b for b in drawing.boxes}
    assert boxes["business-analysis"].lines[1:] == ("PASSED · 1 attempt", "confidence 0.91")
    assert boxes["solution-architecture"].lines[1] == "BLOCKED · 2 attempts"
    assert boxes["backend-engineering"].outcome == NOT_RUN
    fills = {
        n["label"].split("\\n")[0]: n.get("fillcolor")
        for n in graphviz(drawing)["objects"]
        if "nodes" not in n
    }
    assert fills["Business Analysis"] != fills["Solution Architecture"]
    text = to_mermaid(drawing)
    assert ":::passed" in text and ":::blocked" in text and ":::not_run" in text


def test_running_blocked_and_waiting_stages_each_read_and_look_as_they_stand() -> None:
    passed = StageRecord(
        team="business-analysis",
        outcome=StageOutcome.PASSED,
        attempts=1,
        result=TaskResult.model_validate(
            {"status": "COMPLETE", "reasoning": "ok", "confidence": 0.91}
        ),
    )
    drawing = view(
        build_graph("mvp").compile(),
        TEAMS,
        title="run r2",
        records=[passed],
        waiting={"solution-architecture", "backend-engineering"},
        blocked={"backend-engineering"},
        running={"qa-engineering"},
    )
    boxes = {b.id: b for b in drawing.boxes}
    said = {team: boxes[team].lines[1] for team in boxes if boxes[team].kind == "team"}
    assert said["solution-architecture"] == "WAITING for a person"
    assert boxes["backend-engineering"].lines[1:] == ("BLOCKED", "waits for a person")
    assert said["qa-engineering"] == "RUNNING"
    assert said["business-analysis"] == "PASSED · 1 attempt"
    assert said["documentation"] == NOT_RUN
    drawn = {
        n["label"].split("\\n")[0]: n
        for n in graphviz(drawing)["objects"]
        if "nodes" not in n and "label" in n
    }
    looks = {
        name: (drawn[name].get("fillcolor"), drawn[name].get("penwidth"), drawn[name]["class"])
        for name in ("Solution Architecture", "Backend Engineering", "QA Engineering")
    }
    assert looks["Solution Architecture"] == ("#ffe8a3", "4", "state-waiting")
    assert looks["Backend Engineering"] == ("#fbd5d5", "4", "state-blocked")
    assert looks["QA Engineering"] == ("#e4e0ff", "3", "state-running")
    assert drawn["Documentation"]["class"] == "state-not-run"
    text = to_mermaid(drawing)
    assert ":::running" in text and ":::blocked" in text and ":::waiting" in text


@pytest.mark.parametrize(("status", "shown"), [("IN_PROGRESS", True), ("PAUSED", False)])
def test_only_a_run_a_worker_drives_has_running_stages(status: str, shown: bool) -> None:
    found = running_nodes(status, ["backend-engineering:draft", "qa-engineering"])
    assert found == (
        {"backend-engineering", "backend-engineering:draft", "qa-engineering"} if shown else set()
    )


def test_the_legend_is_one_part_a_line_and_never_the_widest_thing_drawn() -> None:
    drawing = view(
        build_graph("mvp").compile(),
        TEAMS,
        title="run r3",
        records=[],
        asked=[("backend-engineering", "solution-architecture")],
    )
    legend = graphviz(drawing)["label"].split("\\n")
    assert len(legend) == 1 + len(drawing.legend.split("; "))
    assert max(len(line) for line in legend) < 80
