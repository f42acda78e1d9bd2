"""The graphs LangGraph Studio serves type their JSON input once, at the graph's entry."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from devfactory.contracts import Repository
from devfactory.control.budget import Caps
from devfactory.graph import studio
from devfactory.graph.context import Context
from devfactory.settings import Settings
from tests.fakes import ScriptedModels

REQ = "A REST API for a personal todo list"


def test_studio_graph_types_a_json_budget_and_repository_for_every_node(
    settings: Settings, tmp_path: Path
) -> None:
    """Studio posts JSON: the nodes still see ``Caps`` and ``Repository``, not dicts."""
    repository = {
        "run_id": "studio-1",
        "source": "https://git.example.com/org/app.git",
        "local": False,
        "base": "main",
        "base_commit": "a" * 40,
        "branch": "devfactory/studio-1",
        "folder": str(tmp_path),
        "map": "app.py: main()",
        "tests": [],
        "paths": ["app.py"],
    }
    start: dict[str, Any] = {
        "run_id": "studio-1",
        "requirement": REQ,
        "pipeline": "mvp",
        "budget": {"run": {"tokens": 90000}, "project": {"cost_usd": 5.0}},
        "repository": repository,
    }
    states = []
    for state in studio.mvp.stream(
        start, context=Context(settings=settings, models=ScriptedModels()), stream_mode="values"
    ):
        states.append(state)
        if "business-analysis" in state.get("stages", {}):  # the first stage has worked
            break
    first, last = states[0], states[-1]
    assert first["budget"] == {"run": Caps(tokens=90000), "project": Caps(cost_usd=5.0)}
    assert first["repository"] == Repository(**repository)
    # governance, the plan and the first stage read them as models, and kept them so
    assert last["stages"]["business-analysis"].outcome == "PASSED"
    assert last["budget"]["run"] == Caps(tokens=90000)
    assert isinstance(last["repository"], Repository)
    assert all(isinstance(c, Caps) for c in last["stage_plan"]["team_caps"].values())
    assert start["budget"]["run"] == {"tokens": 90000}  # the caller's input is left as it was


def test_studio_graph_refuses_a_budget_that_is_no_caps_before_any_node(settings: Settings) -> None:
    models = ScriptedModels()
    start = {
        "run_id": "studio-2",
        "requirement": REQ,
        "pipeline": "full",
        "budget": {"run": {"tokens": -5}},
    }
    with pytest.raises(ValidationError, match="tokens"):
        studio.full.invoke(start, context=Context(settings=settings, models=models))
    assert models.chat.calls == []  # not even governance asked a model
