"""Log lines say what they are about: the run, and inside the graph its stage, team and step."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any, TypedDict

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph

from devfactory.logs import bound_run, configure

log = logging.getLogger("devfactory.test")


@pytest.fixture
def lines() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    before, level = list(root.handlers), root.level
    stream = io.StringIO()
    yield stream
    for handler in list(root.handlers):
        if handler not in before:
            root.removeHandler(handler)
    root.setLevel(level)


def parsed(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


class S(TypedDict):
    n: int


def test_a_json_line_names_its_run_level_logger_and_time(lines: io.StringIO) -> None:
    configure("json", level=logging.INFO, stream=lines)
    log.info("outside any run")
    with bound_run("20261123-000000-abcdef"):
        log.warning("a %s line", "formatted")
    first, second = parsed(lines)
    assert "run_id" not in first
    assert second["event"] == "a formatted line"
    assert second["run_id"] == "20261123-000000-abcdef"
    assert (second["level"], second["logger"]) == ("warning", "devfactory.test")
    assert second["timestamp"].endswith("Z")


def test_text_lines_carry_the_same_context(lines: io.StringIO) -> None:
    configure("text", level=logging.WARNING, stream=lines)
    log.info("below the level: not written")
    with bound_run("r-1"):
        try:
            raise ValueError("bad thing")
        except ValueError:
            log.exception("it failed")
    text = lines.getvalue()
    assert text.startswith("ERROR devfactory.test: it failed [run_id=r-1]\n")
    assert "ValueError: bad thing" in text and "below the level" not in text


def test_lines_logged_inside_the_graph_name_the_stage_team_and_step(lines: io.StringIO) -> None:
    """The context comes from LangGraph's running config; the nodes pass nothing."""

    def governance(state: S) -> S:
        log.warning("screening")
        return {"n": state["n"] + 1}

    def draft(state: S) -> S:
        log.warning("drafting")
        return {"n": state["n"] + 1}

    stage = StateGraph(S)
    stage.add_node("draft", draft)
    stage.add_edge(START, "draft")
    stage.add_edge("draft", END)
    run = StateGraph(S)
    run.add_node("governance", governance)
    run.add_node("backend-engineering", stage.compile())
    run.add_edge(START, "governance")
    run.add_edge("governance", "backend-engineering")
    run.add_edge("backend-engineering", END)
    graph = run.compile(checkpointer=InMemorySaver())

    configure("json", level=logging.INFO, stream=lines)
    with bound_run("run-7"):
        log.warning("driving")
        graph.invoke({"n": 0}, {"configurable": {"thread_id": "run-7"}})
    by_event = {line["event"]: line for line in parsed(lines)}
    assert by_event["driving"]["run_id"] == "run-7" and "stage" not in by_event["driving"]
    assert by_event["screening"]["stage"] == "governance"
    assert "team" not in by_event["screening"]
    drafting = by_event["drafting"]
    assert (drafting["run_id"], drafting["stage"], drafting["team"], drafting["step"]) == (
        "run-7",
        "backend-engineering",
        "backend-engineering",
        "draft",
    )
