"""What the factory says about runs: how one stands, what it spent, what it waits on."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, model_validator

from devfactory.contracts import (
    FinalChecks,
    Repository,
    RunOutcome,
    StageRecord,
    last_final_checks,
)
from devfactory.control.budget import Caps, Spend, SpendEntry
from devfactory.control.hitl import DecisionError, DecisionRecord, Pause
from devfactory.control.policy import GovernanceRecord
from devfactory.control.run_records import (
    ClarificationEntry,
    NoticeEntry,
    RoundSummary,
    StagePlan,
)
from devfactory.settings import Settings
from devfactory.shown import name_problem, with_article
from devfactory.software.proposed import RunFacts
from devfactory.store.runs_table import RunInputError, RunStateError


@dataclass(frozen=True)
class Pending:
    """One question a paused run waits on (a request for a person).

    ``paused_at``: when its run paused (None where unknown); with the pause's
    ``deadline_s`` it gives the request's deadline.
    """

    run_id: str
    interrupt_id: str
    pause: Pause
    paused_at: datetime | None = field(default=None, compare=False)  # read, not the question

    @property
    def deadline(self) -> datetime | None:
        """Return when the request expires (None: never, or its pause time is unknown)."""
        if self.paused_at is None or not self.pause.deadline_s or self.pause.kind == "hold":
            return None
        return self.paused_at + timedelta(seconds=self.pause.deadline_s)

    def expired(self, now: datetime | None = None) -> bool:
        """Say whether the request is past its deadline (EXPIRED: its rule's on_expiry applies)."""
        deadline = self.deadline
        return deadline is not None and deadline <= (now or datetime.now(UTC))


_LAST = datetime.max.replace(tzinfo=UTC)


def queue_order(items: Sequence[Pending]) -> list[Pending]:
    """Sort requests as the queue shows them: priority (CRITICAL first), then deadline (soonest).

    A request with no deadline comes after those with one of its priority;
    ties keep their order (the newest run first, as listed).
    """
    from devfactory.control.approval_rules import priority_rank

    return sorted(items, key=lambda p: (-priority_rank(p.pause.priority), p.deadline or _LAST))


_ONE_MODEL: Final = frozenset(
    {"repository", "governance", "stage_plan", "plan", "final_checks", "build", "outcome"}
)
"""The keys that hold one model, for which an earlier version wrote ``{}`` for "none"."""


class ShownRun(BaseModel):
    """The shown part of a run's state (all but ``store.views.HIDDEN``), as models.

    What ``graph/state.RunState`` holds, read from the JSON a run's view keeps
    (``store/views.py``) without loading the graph: ``ShownRun.of`` is the one
    place that reads it. A key absent from the view reads as its default; the
    keys a checkpoint written before they were renamed holds (``plan``,
    ``build``) are read under today's names, and the ``{}`` an earlier version
    wrote for "none" is read as None. What is not a key of the state (a channel
    LangGraph keeps beside it, such as a branch's) is left out.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    run_id: str = ""
    requirement: str = ""
    pipeline: str = ""
    project: str = ""
    owner: str = ""
    budget: dict[str, Caps] = Field(default_factory=dict)  # "run" and "project" -> caps
    unattended: bool = False
    repository: Repository | None = None
    phase: str = ""
    stages: dict[str, StageRecord] = Field(default_factory=dict)  # by team
    spend: dict[str, SpendEntry] = Field(default_factory=dict)  # by key (r<round>:<team>...)
    decisions: dict[str, DecisionRecord] = Field(default_factory=dict)  # by pause
    clarifications: dict[str, ClarificationEntry] = Field(default_factory=dict)  # by question
    notices: dict[str, NoticeEntry] = Field(default_factory=dict)
    budget_ack: dict[str, str] = Field(default_factory=dict)  # a warning's key -> who
    course: dict[str, str] = Field(default_factory=dict)  # what people chose, -> who
    governance: GovernanceRecord | None = None  # None: not assessed yet
    stage_plan: StagePlan | None = Field(
        default=None, validation_alias=AliasChoices("stage_plan", "plan")
    )
    requirement_facts: RunFacts | None = None  # None: not read yet (or an earlier version's run)
    revision: int = 0
    review_feedback: str = ""
    rounds: list[RoundSummary] = Field(default_factory=list)
    final_checks: FinalChecks | None = Field(  # the round's; ``last_checks``: the run's
        default=None, validation_alias=AliasChoices("final_checks", "build")
    )
    fix_round: int = 0
    fixes: dict[str, list[str]] = Field(default_factory=dict)  # team -> what it must fix
    outcome: RunOutcome | None = None  # None: the run has not ended

    @model_validator(mode="before")
    @classmethod
    def _as_kept(cls, data: Any) -> Any:
        """Read a missing value (None, or ``{}`` for one model) as the key's default."""
        if not isinstance(data, Mapping):
            return data
        found = {
            k: v for k, v in data.items() if v is not None and not (k in _ONE_MODEL and v == {})
        }
        if "final_checks" in data:  # the round's key wins over its earlier name, even None
            found.pop("build", None)
        return found

    @classmethod
    def of(cls, values: Mapping[str, Any]) -> ShownRun:
        """Read the shown part of a run's state from the JSON its view keeps."""
        return cls.model_validate(values)

    @property
    def last_checks(self) -> FinalChecks | None:
        """Return the run's last final checks (``contracts.last_final_checks``; None: none ran)."""
        return last_final_checks(self.outcome, self.final_checks)


@dataclass(frozen=True)
class RunReport:
    """How a run stands after the factory drove it as far as it could.

    ``shown``: the shown part of the run's state, as its view keeps it.
    """

    run_id: str
    status: str
    reason: str
    out_dir: Path
    records: list[StageRecord]
    next_stages: tuple[str, ...] = ()
    pending: tuple[Pending, ...] = ()
    shown: ShownRun = field(default_factory=ShownRun)


@dataclass(frozen=True)
class RunUsage:
    """A run's spend by team, its caps, and what its project spent in all."""

    run_id: str
    project: str
    teams: dict[str, Spend]
    total: Spend
    run_caps: Caps
    project_caps: Caps
    project_total: Spend

    @classmethod
    def of(
        cls,
        run_id: str,
        project: str,
        ledger: Mapping[str, SpendEntry],
        budget: Mapping[str, Any],
        *,
        project_spent: Spend,
    ) -> RunUsage:
        """Sum a run's ledger by team (every round) against its caps and its project's."""
        from devfactory.graph.oversight.metering import spend_by_team  # the graph: not for status

        teams = spend_by_team({"spend": ledger})
        total = Spend.total(teams.values())
        return cls(
            run_id,
            project,
            teams,
            total,
            Caps.model_validate(budget.get("run") or {}),
            Caps.model_validate(budget.get("project") or {}),
            project_spent + total,
        )


def pending_of(run_id: str, snapshot: Any) -> tuple[Pending, ...]:
    """Read the questions a checkpoint waits on."""
    return tuple(Pending(run_id, i.id, Pause.model_validate(i.value)) for i in snapshot.interrupts)


MIN_ID_PREFIX = 6  # an answer names its question by the whole id or at least this much of it


def choose_pending(
    run_id: str, waiting: Sequence[Pending], *, interrupt_id: str | None, kind: str | None
) -> list[Pending]:
    """Pick the one question an answer is for: by its id, or an unambiguous prefix of it.

    The id is required on every surface, and a prefix needs at least
    ``MIN_ID_PREFIX`` characters: an empty or short one would match whatever is
    pending, so a second ``approve`` would answer the next question, unread.
    ``kind``, when given, must be that question's kind.

    Raises ``RunStateError`` when nothing waits any more (another answer was
    taken first), and ``DecisionError`` when no id is given, or it is too
    short, matches no question, matches several, or names another kind.
    """
    if not waiting:
        raise RunStateError(f"run {run_id} no longer waits for a person")
    listed = ", ".join(f"{p.interrupt_id[:8]} ({p.pause.kind})" for p in waiting)
    ident = (interrupt_id or "").strip()
    exact = [p for p in waiting if p.interrupt_id == ident]
    if not exact and len(ident) < MIN_ID_PREFIX:
        raise DecisionError(
            f"name the question you answer by its id (at least {MIN_ID_PREFIX} characters);"
            f" pending: {listed}"
        )
    chosen = exact or [p for p in waiting if p.interrupt_id.startswith(ident)]
    if not chosen:
        raise DecisionError(f"no pending question has id {ident!r}; pending: {listed}")
    if len(chosen) > 1:
        raise DecisionError(f"{ident!r} names several pending questions; give more of the id")
    if kind is not None and chosen[0].pause.kind != kind:
        raise DecisionError(
            f"question {ident!r} is {with_article(chosen[0].pause.kind)} question, "
            f"not {with_article(kind)} one"
        )
    return chosen


def checked_text(text: str, what: str, *, empty: bool = False) -> str:
    """Return ``text`` stripped, refusing what cannot be stored: invalid UTF-8, or nothing."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise RunInputError(f"{what} is not valid UTF-8") from None
    text = text.replace("\x00", "").strip()
    if not text and not empty:
        raise RunInputError(f"{what} is empty")
    return text


def checked_name(name: str, what: str) -> str:
    """Return a name a person gave, stripped; refuse (``RunInputError``) any ``name_problem``."""
    problem = name_problem(name, what)
    if problem is not None:
        raise RunInputError(problem)
    return checked_text(name, what)


def writable_folder(path: Path) -> Path:
    """Make sure the run's output folder can be written before the run is created."""
    folder = path.expanduser().resolve()
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)  # the run's files are private
    except OSError as exc:
        raise RunInputError(f"cannot use {folder} as the run's folder: {exc.strerror}") from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise RunInputError(f"cannot write the run's folder {folder}")
    return folder


def new_run_id() -> str:
    """Return a sortable, unique run id such as ``20261121-051500-a1b2c3``."""
    return f"{datetime.now(UTC):%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"


def default_caps(
    settings: Settings, project_set: dict[str, Any] | None = None
) -> dict[str, dict[str, Any]]:
    """Return the run and project caps a new run gets: the settings', or an admin's.

    ``project_set``: the caps an admin set for the run's project (``{"run": ...,
    "project": ...}``, ``store/approvals.ProjectCaps``); where given, each replaces the
    settings' whole.
    """
    found = {
        "run": Caps(
            tokens=settings.runs.budget_run_tokens,
            cost_usd=settings.runs.budget_run_cost_usd,
            seconds=settings.runs.budget_run_seconds,
        ).model_dump(),
        "project": Caps(
            tokens=settings.runs.budget_project_tokens,
            cost_usd=settings.runs.budget_project_cost_usd,
            seconds=settings.runs.budget_project_seconds,
        ).model_dump(),
    }
    for scope, caps in (project_set or {}).items():
        if scope in found and caps is not None:
            found[scope] = Caps.model_validate(caps).model_dump()
    return found


_PAUSE_FIELDS = {
    "kind",
    "title",
    "question",
    "team",
    "actions",
    "roles",
    "priority",
    "alternatives",
}


def report_document(report: RunReport, spent: Spend) -> dict[str, Any]:
    """Describe a run as one JSON-ready object: what ``devfactory run --json`` prints.

    It holds the status and reason, the folder, the spend, each stage (outcome,
    attempts, tokens, seconds, reason and sandbox checks), the final checks of
    the built software (as ``build``) and what a paused run waits on.
    """
    built = report.shown.last_checks
    return {
        "run_id": report.run_id,
        "status": report.status,
        "reason": report.reason,
        "out_dir": str(report.out_dir),
        "usage": {**spent.model_dump(mode="json"), "tokens": spent.tokens},
        "stages": [
            {
                "team": r.team,
                "outcome": r.outcome.value,
                "reason": r.reason,
                "attempts": r.attempts,
                "model": r.model,
                "tokens": r.usage.input_tokens + r.usage.output_tokens,
                "seconds": r.seconds,
                "confidence": r.result.confidence if r.result else None,
                "checks": [c.model_dump(mode="json") for c in r.checks],
            }
            for r in report.records
        ],
        "build": built.model_dump(mode="json") if built else None,
        "pending": [
            {"id": p.interrupt_id, **p.pause.model_dump(mode="json", include=_PAUSE_FIELDS)}
            for p in report.pending
        ],
    }
