"""A run's time cap, as the graph sees it: inside a long step the stage stops and keeps its drafts.

The runner stops the run at the next step boundary (tests/integration/test_killed_runs.py);
here the graph runs on an in-memory checkpointer with a clock the scripted model moves.
"""

from __future__ import annotations

from typing import Any

from langgraph.checkpoint.memory import InMemorySaver

from devfactory.control.deadline import Deadline
from devfactory.graph import build_graph
from devfactory.graph.checkpoints import dumped, upgrade
from devfactory.graph.context import Context
from devfactory.settings import Settings
from tests.fakes import Call, ScriptedModels, always_good

TODO = "A REST API for a personal todo list"


class Clock:
    """A clock that stands still until a test moves it."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_no_cap_is_no_deadline_and_a_cap_is_reached_on_its_clock() -> None:
    clock = Clock()
    assert Deadline.starting(0, clock) is None
    deadline = Deadline.starting(90, clock)
    assert deadline is not None and deadline.passed() == ""
    clock.now = 89.9
    assert deadline.passed() == ""
    clock.now = 90.0
    assert deadline.passed() == "time cap of 90 s reached"
    assert Context().out_of_time() == ""  # no deadline: never late


def run_mvp(settings: Settings, script: Any, clock: Clock) -> tuple[dict[str, Any], ScriptedModels]:
    models = ScriptedModels(script)
    graph = build_graph("mvp").compile(checkpointer=InMemorySaver())
    cfg: Any = {"configurable": {"thread_id": "t"}}
    context = Context(settings=settings, models=models, deadline=Deadline.starting(60, clock))
    payload = {"run_id": "t", "requirement": TODO, "pipeline": "mvp", "unattended": True}
    for _ in graph.stream(upgrade(payload), cfg, context=context, durability="sync"):
        pass
    return dumped(graph.get_state(cfg).values), models


def test_a_stage_past_the_time_cap_stops_as_out_of_budget_and_keeps_what_it_drafted(
    settings: Settings,
) -> None:
    clock = Clock()

    def script(call: Call) -> str:
        if call.team == "solution-architecture" and call.kind == "draft":
            clock.now = 61.0  # its first file took the rest of the run's time
        return always_good(call)

    values, models = run_mvp(settings, script, clock)
    stages = values["stages"]
    assert stages["business-analysis"]["outcome"] == "PASSED"
    architecture = stages["solution-architecture"]
    assert (architecture["outcome"], architecture["stopped_by"]) == ("BLOCKED", "budget")
    assert architecture["reason"] == "time cap of 60 s reached"
    # one file drafted, the second not asked for, no report asked for either
    assert models.chat.count("solution-architecture", "draft") == 1
    assert models.chat.count("solution-architecture", "report") == 0
    kept = [a["path"] for a in architecture["result"]["artifacts"]]
    assert kept == ["architecture/architecture.md"]  # the best so far, delivered as BLOCKED
    assert stages["backend-engineering"]["outcome"] == "SKIPPED"
    assert models.chat.count("backend-engineering") == 0
    outcome = values["outcome"]
    assert outcome["status"] == "FAILED"
    assert outcome["reason"].startswith(
        "stage solution-architecture BLOCKED: time cap of 60 s reached (spent "
    )


def test_a_run_within_its_time_cap_is_not_stopped(settings: Settings) -> None:
    values, _ = run_mvp(settings, always_good, Clock())
    assert values["outcome"]["status"] == "COMPLETED"
