"""Graph state: the run (parent graph) and one stage (team subgraph).

Keys that parallel stages or subgraphs write are dictionaries merged by key,
so a subgraph handing back its copy of a key never double-counts an entry.
What has a model (a stage's record, the build plan, the final checks, the
outcome, ...) is held as the model; a checkpoint an earlier version wrote is
read into these types once, by ``graph/checkpoints.upgrade``. The ``*_of``
readers here also read the keys a checkpoint written before they were renamed holds.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, NotRequired

from typing_extensions import TypedDict

from devfactory.contracts import (
    Artifact,
    CheckRun,
    Escalation,
    FinalChecks,
    GateVerdict,
    Repository,
    RunOutcome,
    StageOutcome,
    StageRecord,
    TaskResult,
    last_final_checks,
    round_checks,
)
from devfactory.control.budget import Caps, Spend, SpendEntry
from devfactory.control.hitl import DecisionRecord
from devfactory.control.policy import GovernanceRecord
from devfactory.control.run_records import (
    ClarificationEntry,
    NoticeEntry,
    RoundSummary,
    StagePlan,
)
from devfactory.events import Notice
from devfactory.software.plan import BuildPlan, find_plan
from devfactory.software.proposed import RunFacts
from devfactory.software.requirement import RequirementFacts, read_requirement

RESET = "__reset__"


def merge_keyed(left: dict[str, Any] | None, right: dict[str, Any] | None) -> dict[str, Any]:
    """Merge entries by key (idempotent); ``{RESET: True, ...}`` replaces everything."""
    right = right or {}
    if right.get(RESET):
        return {k: v for k, v in right.items() if k != RESET}
    return {**(left or {}), **right}


Records = Annotated[dict[str, StageRecord], merge_keyed]  # team -> its stage's record
Budget = Annotated[dict[str, Caps], merge_keyed]  # "run" and "project" -> their caps
Ledger = Annotated[dict[str, SpendEntry], merge_keyed]  # spend by key (r<round>:<team>...)
Marks = Annotated[dict[str, str], merge_keyed]  # a key -> who or what set it
Decisions = Annotated[dict[str, DecisionRecord], merge_keyed]  # by pause (its node's task)
Clarifications = Annotated[dict[str, "ClarificationEntry"], merge_keyed]  # by question
Notices = Annotated[dict[str, "NoticeEntry"], merge_keyed]


def keep_plan(
    left: BuildPlan | None, right: BuildPlan | Mapping[str, bool] | None
) -> BuildPlan | None:
    """Keep the build plan a stage stored; ``{RESET: True}`` clears it.

    Every stage subgraph hands back the copy it was given: an empty one, which
    changes nothing, or the plan it read, which is the stored one. Only the
    stage that passes with ``plan.json`` stores a new plan: a revision clears
    the old one before any stage runs, and a fix round keeps that stage's
    record (its team owns no planned file, so no check sends it back). A
    channel's first value is stored without this reducer: a reset it held is none.
    """
    if isinstance(right, BuildPlan):
        return right
    if right and right.get(RESET):
        return None
    return left if isinstance(left, BuildPlan) else None


KeptPlan = Annotated[BuildPlan | None, keep_plan]


Answer = TypedDict("Answer", {"from": str, "question": str, "answer": str})
"""An answer or a person's guidance a stage reads in its next draft: who gave it, to what."""


def notice_entry(notice: Notice) -> NoticeEntry:
    """Return ``notice`` as the run's ``notices`` keep it."""
    return NoticeEntry(kind=notice.kind, team=notice.team, message=notice.message)


class Recollection(TypedDict):
    """A memory recalled before a stage's first attempt (``memory.live.RecalledMemory``)."""

    bank: str
    kind: str
    text: str
    provenance: dict[str, object]  # where it came from: its team, run, project
    score: float


class RunInput(TypedDict):
    """What starts a run."""

    run_id: str
    requirement: str
    pipeline: str
    project: NotRequired[str]
    # Who started the run: what it retains is theirs, and it recalls only their memories.
    owner: NotRequired[str]
    budget: NotRequired[Budget]
    # Set at start and checkpointed, so a resumed run keeps it: every pause is answered
    # by the policy's unattended rules (control/unattended.py), bar a governance approval.
    unattended: NotRequired[bool]
    # A run delivering into an existing repository (factory/intake.repository_state).
    repository: NotRequired[Repository]


class RunFields(TypedDict, total=False):
    """The keys a run's nodes write: every key of ``RunState`` but what starts it.

    A node's update is one of these (``RunUpdate``): a key it names is typed as the
    state holds it (a keyed ledger may carry the ``RESET`` mark, see ``merge_keyed``).
    """

    phase: NotRequired[str]
    stages: NotRequired[Records]
    spend: NotRequired[Ledger]
    decisions: NotRequired[Decisions]
    clarifications: NotRequired[Clarifications]
    notices: NotRequired[Notices]
    budget_ack: NotRequired[Marks]  # a warning's key -> who acknowledged it
    # The course people chose among a request's alternatives (graph/oversight/requests.py): "model"
    # (the alias the remaining stages use), "drop:<team>" (who dropped it), "scope".
    course: NotRequired[Marks]
    governance: NotRequired[GovernanceRecord]
    stage_plan: NotRequired[StagePlan]
    build_plan: NotRequired[KeptPlan]  # stored when the stage writing plan.json passes
    # what the requirement states, read once by the ``plan`` node (graph/planning/reading.py)
    requirement_facts: NotRequired[RunFacts]
    revision: NotRequired[int]
    review_feedback: NotRequired[str]
    prior: NotRequired[dict[str, dict[str, str]]]  # team -> {path: content} of the last round
    rounds: NotRequired[list[RoundSummary]]
    final_checks: NotRequired[FinalChecks | None]  # the built software's, None: none ran
    fix_round: NotRequired[int]  # how many times the final checks sent failures back
    fixes: NotRequired[dict[str, list[str]]]  # team -> the problems it must fix this round
    kept_stages: NotRequired[dict[str, StageRecord]]  # records a fix round keeps as they are
    outcome: NotRequired[RunOutcome]  # built in one place: graph/oversight/phases.Mover.end
    # Read only, from checkpoints written before these keys were renamed:
    plan: NotRequired[StagePlan]  # now stage_plan
    build: NotRequired[FinalChecks | None]  # now final_checks


class RunState(RunInput, RunFields):
    """The run: requirement, lifecycle phase, stage records and the control-plane ledgers.

    ``stages``: one record per stage of the current round, by team.
    ``spend``: spend entries by key (``r<round>:<team>``...), each with its team.
    ``decisions``: what people decided, by pause id.
    ``clarifications``: every clarification request and how the broker handled it.
    ``notices``: notification and warning events (MEDIUM risk, soft caps).
    ``budget_ack``: budget warnings a person has acknowledged.
    """


class RunUpdate(RunFields, total=False):
    """What a run-level node returns: any key it writes, a revised requirement and caps too."""

    requirement: str
    budget: Budget


def cleared() -> Any:
    """Return the mark that empties a keyed value or the kept plan (``RESET``; their reducers).

    Typed ``Any``: the mark stands where the key's own type would, and only the
    reducers (``merge_keyed``, ``keep_plan``) read it.
    """
    return {RESET: True}


class StageOutput(TypedDict):
    """What a team subgraph hands back to the run."""

    stages: Records
    spend: NotRequired[Ledger]
    decisions: NotRequired[Decisions]
    clarifications: NotRequired[Clarifications]
    notices: NotRequired[Notices]
    budget_ack: NotRequired[Marks]  # a warning's key -> who acknowledged it
    budget: NotRequired[Budget]
    build_plan: NotRequired[KeptPlan]
    course: NotRequired[Marks]


class StageFields(TypedDict, total=False):
    """The keys only a stage's nodes write, beside the run's."""

    attempt: NotRequired[int]
    drafts: NotRequired[list[Artifact]]  # this attempt's files
    origins: NotRequired[dict[str, str]]  # each draft's writer: model, build (loop) or tools
    draft_problems: NotRequired[list[str]]
    repairs: NotRequired[list[str]]  # mechanical fixes made to this attempt's replies
    earlier_repairs: NotRequired[list[str]]  # the earlier attempts' ("attempt N: ...")
    handed: NotRequired[list[Artifact]]  # files made for a later team's planned file
    candidate: NotRequired[TaskResult]  # this attempt's report, for the gate
    feedback: NotRequired[list[str]]
    model: NotRequired[str]
    usage: NotRequired[Spend]  # the stage's model work so far (no seconds: ``seconds``)
    seconds: NotRequired[float]
    history: NotRequired[list[str]]
    answers: NotRequired[list[Answer]]  # clarification answers for the next draft
    asked: NotRequired[int]  # clarification requests this objective has made
    escalation: NotRequired[Escalation | None]  # a question waiting for a person
    human_retries: NotRequired[int]
    verdict: NotRequired[GateVerdict]  # why the gate asks a person for guidance
    memories: NotRequired[list[Recollection]]  # recalled before the first attempt
    mental_model: NotRequired[str]
    kept: NotRequired[bool]  # a fix round kept the stage's record: nothing to redo
    checks: NotRequired[list[CheckRun]]  # the sandbox runs on this attempt's files
    check_problems: NotRequired[list[str]]  # what they found wrong in the team's files
    agreeing: NotRequired[dict[str, str]]  # test files cut to the tests that agreed, best so far


class StageState(RunState, StageFields):
    """A team subgraph's private working state for one stage."""


class StageUpdate(RunUpdate, StageFields, total=False):
    """What a stage's node returns: any key of the run's or the stage's it writes."""


def build_plan_of(state: Mapping[str, Any]) -> BuildPlan | None:
    """Return the run's build plan, once a stage passed one.

    A checkpoint written before the plan was kept in state has it only in the
    stage records' artifacts, where ``find_plan`` reads it.
    """
    stored = state.get("build_plan")
    if isinstance(stored, BuildPlan):
        return stored
    return find_plan(state.get("stages") or {})


def requirement_facts_of(state: Mapping[str, Any]) -> RequirementFacts:
    """Return what the run's requirement states: the facts read once, kept in the state.

    A run started before they were kept (or a graph-logic test that sets its
    state by hand) has none, nor has one whose requirement changed since they
    were read: its requirement is read by the parser here.
    """
    requirement = state.get("requirement") or ""
    stored = state.get("requirement_facts")
    if isinstance(stored, RunFacts) and stored.holds(requirement):
        return stored.facts
    return read_requirement(requirement)


def stage_plan_of(state: Mapping[str, Any]) -> StagePlan | None:
    """Return the pipeline's stages and team caps (None before the ``plan`` node ran)."""
    return state.get("stage_plan") or state.get("plan") or None


def final_checks_of(values: Mapping[str, Any]) -> FinalChecks | None:
    """Return the run's last final checks (``contracts.last_final_checks``; None: none ran)."""
    stored = round_checks(values)
    checked = stored if isinstance(stored, FinalChecks) else None
    return last_final_checks(outcome_of(values), checked)


def outcome_of(values: Mapping[str, Any]) -> RunOutcome | None:
    """Return how the run ended (None while it has not)."""
    stored = values.get("outcome")
    return stored if isinstance(stored, RunOutcome) else None


def kept_files(state: Mapping[str, Any], team: str) -> tuple[dict[str, str], list[str]]:
    """Return, in a fix round, the files of the teams that keep their record, and those teams.

    A team the final checks found nothing to fix keeps its files as they are
    (``graph/stage/work.kept_record``), later stages' included: ``team``'s
    code is judged with them, as the final checks will judge it. Outside a
    fix round, nothing.
    """
    if not state.get("fix_round"):
        return {}, []
    fixes = state.get("fixes") or {}
    files: dict[str, str] = {}
    teams: list[str] = []
    for slug, record in (state.get("kept_stages") or {}).items():
        if slug == team or slug in fixes or record.result is None:
            continue
        if record.outcome is StageOutcome.PASSED:
            teams.append(slug)
            files.update({a.path: a.content for a in record.result.artifacts})
    return files, teams
