"""The run's records that have no model of their own: its stage plan, rounds, notices, questions.

The graph's state keeps them as typed dicts (``graph/state.py``), and the run's
readers read them from its view (``factory/reports.ShownRun``) without loading
the graph: one definition here serves both.
"""

from __future__ import annotations

from typing_extensions import TypedDict

from devfactory.contracts import Hop
from devfactory.control.budget import Caps


class NoticeEntry(TypedDict):
    """A notification or warning as the run's ``notices`` keep it (``events.Notice.body``)."""

    kind: str
    team: str
    message: str


class ClarificationEntry(TypedDict, total=False):
    """A question a team asked and how the broker, then perhaps a person, handled it.

    ``key``: its key in the ledger (``r<round>:<team>:q<n>``); ``hops``: the broker's
    steps. An entry a person answered is the ``contracts.Escalation`` it was.
    """

    key: str
    asker: str
    target: str
    question: str
    attempt: int
    outcome: str
    reason: str
    hops: list[Hop]
    answered_by: str


class StageSummary(TypedDict):
    """How a stage of a finished round ended, as ``rounds`` keeps it."""

    outcome: str
    attempts: int


class RoundSummary(TypedDict):
    """A round a revision closed: its number, the reviewer's feedback and how each stage ended."""

    revision: int
    feedback: str
    stages: dict[str, StageSummary]


class StageSlot(TypedDict):
    """One stage of the pipeline: its team and the stages it waits for."""

    team: str
    needs: list[str]


class StagePlan(TypedDict):
    """The pipeline's stages as the ``plan`` node laid them out, and each team's soft caps."""

    pipeline: str
    stages: list[StageSlot]
    team_caps: dict[str, Caps]  # team -> its share of the run's caps
