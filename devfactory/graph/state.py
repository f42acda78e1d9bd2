"""Graph state: the run (parent graph) and one stage (team subgraph)."""

from __future__ import annotations

from typing import Annotated, Any, NotRequired

from typing_extensions import TypedDict


def merge_stages(left: dict[str, Any] | None, right: dict[str, Any] | None) -> dict[str, Any]:
    """Merge stage records by team; parallel stages write disjoint keys."""
    return {**(left or {}), **(right or {})}


class RunInput(TypedDict):
    """What starts a run."""

    run_id: str
    requirement: str
    pipeline: str


class RunState(RunInput):
    """The run: its requirement and one record per finished stage."""

    stages: Annotated[dict[str, Any], merge_stages]
    outcome: NotRequired[dict[str, Any]]


class StageOutput(TypedDict):
    """What a team subgraph hands back to the run."""

    stages: Annotated[dict[str, Any], merge_stages]


class StageState(RunState):
    """A team subgraph's private working state for one stage."""

    attempt: NotRequired[int]
    drafts: NotRequired[list[dict[str, Any]]]
    draft_problems: NotRequired[list[str]]
    candidate: NotRequired[dict[str, Any]]
    feedback: NotRequired[list[str]]
    model: NotRequired[str]
    usage: NotRequired[dict[str, int]]
    seconds: NotRequired[float]
    history: NotRequired[list[str]]
