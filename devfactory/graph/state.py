"""Graph state: the run (parent graph) and one stage (team subgraph).

Keys that parallel stages or subgraphs write are dictionaries merged by key,
so a subgraph handing back its copy of a key never double-counts an entry.
"""

from __future__ import annotations

from typing import Annotated, Any, NotRequired

from typing_extensions import TypedDict

RESET = "__reset__"


def merge_keyed(left: dict[str, Any] | None, right: dict[str, Any] | None) -> dict[str, Any]:
    """Merge entries by key (idempotent); ``{RESET: True, ...}`` replaces everything."""
    right = right or {}
    if right.get(RESET):
        return {k: v for k, v in right.items() if k != RESET}
    return {**(left or {}), **right}


Keyed = Annotated[dict[str, Any], merge_keyed]


class RunInput(TypedDict):
    """What starts a run."""

    run_id: str
    requirement: str
    pipeline: str
    project: NotRequired[str]
    # Who started the run: what it retains is theirs, and it recalls only their memories.
    owner: NotRequired[str]
    budget: NotRequired[Keyed]  # {"run": Caps, "project": Caps}
    # Set at start and checkpointed, so a resumed run keeps it: every pause is answered
    # by the policy's unattended rules (control/unattended.py), bar a governance approval.
    unattended: NotRequired[bool]


class RunState(RunInput):
    """The run: requirement, lifecycle phase, stage records and the control-plane ledgers.

    ``stages``: one record per stage of the current round, by team.
    ``spend``: spend entries by key (``r<round>:<team>``...), each with its team.
    ``decisions``: what people decided, by pause id.
    ``clarifications``: every clarification request and how the broker handled it.
    ``notices``: notification and warning events (MEDIUM risk, soft caps).
    ``budget_ack``: budget warnings a person has acknowledged.
    """

    phase: NotRequired[str]
    stages: Keyed
    spend: NotRequired[Keyed]
    decisions: NotRequired[Keyed]
    clarifications: NotRequired[Keyed]
    notices: NotRequired[Keyed]
    budget_ack: NotRequired[Keyed]
    governance: NotRequired[dict[str, Any]]
    plan: NotRequired[dict[str, Any]]
    revision: NotRequired[int]
    review_feedback: NotRequired[str]
    prior: NotRequired[dict[str, Any]]  # team -> {path: content} of the last round
    rounds: NotRequired[list[dict[str, Any]]]
    build: NotRequired[dict[str, Any]]  # the final checks of the built software
    fix_round: NotRequired[int]  # how many times the final checks sent failures back
    fixes: NotRequired[dict[str, list[str]]]  # team -> the problems it must fix this round
    kept_stages: NotRequired[dict[str, Any]]  # records a fix round keeps as they are
    outcome: NotRequired[dict[str, Any]]


class StageOutput(TypedDict):
    """What a team subgraph hands back to the run."""

    stages: Keyed
    spend: NotRequired[Keyed]
    decisions: NotRequired[Keyed]
    clarifications: NotRequired[Keyed]
    notices: NotRequired[Keyed]
    budget_ack: NotRequired[Keyed]
    budget: NotRequired[Keyed]


class StageState(RunState):
    """A team subgraph's private working state for one stage."""

    attempt: NotRequired[int]
    drafts: NotRequired[list[dict[str, Any]]]
    draft_problems: NotRequired[list[str]]
    repairs: NotRequired[list[str]]  # mechanical fixes made to this attempt's replies
    candidate: NotRequired[dict[str, Any]]
    feedback: NotRequired[list[str]]
    model: NotRequired[str]
    usage: NotRequired[dict[str, Any]]
    seconds: NotRequired[float]
    history: NotRequired[list[str]]
    answers: NotRequired[list[dict[str, Any]]]  # clarification answers for the next draft
    asked: NotRequired[int]  # clarification requests this objective has made
    escalation: NotRequired[dict[str, Any]]  # a question waiting for a person
    human_retries: NotRequired[int]
    verdict: NotRequired[dict[str, Any]]
    memories: NotRequired[list[dict[str, Any]]]  # recalled before the first attempt
    mental_model: NotRequired[str]
    kept: NotRequired[bool]  # a fix round kept the stage's record: nothing to redo
    checks: NotRequired[list[dict[str, Any]]]  # the sandbox runs on this attempt's files
    check_problems: NotRequired[list[str]]  # what they found wrong in the team's files
