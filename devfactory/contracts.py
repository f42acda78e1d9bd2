"""The typed contracts every stage speaks (``TaskResult``, ``StageRecord``) and how a run ends.

``RunOutcome`` is how a run ended, with the ``FinalChecks`` of the software it
built; the graph stores each as its JSON dump, and every reader validates it
back through the model.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator, model_validator

from devfactory.runfiles import relative_parts

MAX_ARTIFACT_CHARS = 12000
MAX_ARTIFACTS = 8
_PATH_PATTERN = r"^[A-Za-z0-9_][A-Za-z0-9_./-]*$"
# how a check's summary says that nothing ran: "ruff not installed: skipped", "code not run: ..."
# ("1 skipped", a count of skipped tests, is not it)
_NOT_RUN = re.compile(r"(?<!\d )\bskipped\b|\bnot run\b|^did not start\b", re.IGNORECASE)


class Status(StrEnum):
    """What a team says about its own objective."""

    COMPLETE = "COMPLETE"
    NEEDS_CLARIFICATION = "NEEDS_CLARIFICATION"
    BLOCKED = "BLOCKED"


class ArtifactKind(StrEnum):
    """File kinds a team may produce."""

    MARKDOWN = "markdown"
    PYTHON = "python"
    TYPESCRIPT = "typescript"
    YAML = "yaml"
    JSON = "json"
    SQL = "sql"
    DOCKERFILE = "dockerfile"
    SHELL = "shell"
    TEXT = "text"


def check_relative_path(path: str) -> str:
    """Reject a path that leaves the run's folder or touches its history (``runfiles``' rule)."""
    relative_parts(path)
    return path


class Artifact(BaseModel):
    """One file a stage produced."""

    model_config = ConfigDict(extra="forbid")

    path: str = Field(min_length=1, max_length=120, pattern=_PATH_PATTERN)
    kind: ArtifactKind
    content: str = Field(min_length=1, max_length=MAX_ARTIFACT_CHARS)

    @field_validator("path")
    @classmethod
    def _relative(cls, value: str) -> str:
        return check_relative_path(value)

    def with_content(self, content: str) -> Artifact:
        """Return this file holding ``content``, validated (``model_copy`` validates nothing).

        A rewrite past the cap taken by ``model_copy`` passed its stage, then
        failed to load from the run's checkpoint; this raises where it is made.
        """
        return Artifact(path=self.path, kind=self.kind, content=content)


class Clarification(BaseModel):
    """A question for another team."""

    model_config = ConfigDict(extra="forbid")

    target_team: str = Field(min_length=1, max_length=60)
    question: str = Field(min_length=1, max_length=500)


Line = Annotated[str, Field(min_length=1, max_length=300)]


class TaskResult(BaseModel):
    """The universal result of a stage; it must pass the team's confidence gate."""

    model_config = ConfigDict(extra="forbid")

    status: Status
    confidence: float = Field(ge=0.0, le=1.0)
    reasoning: str = Field(min_length=1, max_length=1500)
    blockers: list[Line] = Field(default_factory=list, max_length=8)
    assumptions_made: list[Line] = Field(default_factory=list, max_length=8)
    verified_facts: list[Line] = Field(default_factory=list, max_length=10)
    clarification_needed: Clarification | None = None
    artifacts: list[Artifact] = Field(default_factory=list, max_length=MAX_ARTIFACTS)

    @model_validator(mode="after")
    def _status_consistent(self) -> TaskResult:
        if self.status is Status.NEEDS_CLARIFICATION and self.clarification_needed is None:
            raise ValueError("status NEEDS_CLARIFICATION requires clarification_needed")
        if self.status is Status.BLOCKED and not self.blockers:
            raise ValueError("status BLOCKED requires at least one blocker")
        paths = [a.path for a in self.artifacts]
        if len(paths) != len(set(paths)):
            raise ValueError("artifact paths must be unique")
        return self

    @classmethod
    def blocked(cls, reason: str, *, reasoning: str | None = None) -> TaskResult:
        """Build the BLOCKED result a stage reports when it cannot produce a valid one."""
        return cls(
            status=Status.BLOCKED,
            confidence=0.0,
            reasoning=(reasoning or reason)[:1500],
            blockers=[reason[:300]],
        )


class StageOutcome(StrEnum):
    """How a stage ended, as the gate saw it."""

    PASSED = "PASSED"
    BLOCKED = "BLOCKED"
    SKIPPED = "SKIPPED"


class Usage(BaseModel):
    """Token usage of one or more model calls."""

    input_tokens: int = 0
    output_tokens: int = 0
    calls: int = 0

    def add(self, other: Usage) -> Usage:
        """Return the sum of two usages."""
        return Usage(
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            calls=self.calls + other.calls,
        )

    @property
    def total_tokens(self) -> int:
        """Input plus output tokens."""
        return self.input_tokens + self.output_tokens


class CheckRun(BaseModel):
    """One command run on a stage's code (in the sandbox): what ran, how it ended, the counts.

    ``name`` says which check it was: ``install``, ``compile``, ``import``,
    ``tests``, ``smoke`` or ``lint``, or one of a team's tool checks
    (``checks/tools/``, its ``tool`` and version said). A check that never ran (code execution
    off, a tool missing, the checks failing before any command) has ``ran``
    False and says why in ``summary``; it is never sandboxed and never ok.
    """

    name: str
    command: str
    exit_code: int | None = None  # None: it never ended by itself (killed, or not started)
    seconds: float = 0.0
    passed: int = 0
    failed: int = 0
    errors: int = 0
    sandboxed: bool = True
    summary: str = ""  # one line: "3 passed, 1 failed", "killed after 120 s (wall time)"
    ran: bool = True  # False: no command ran (``summary`` says why); inferred when not given
    # the tool a team's check ran, with its version ("openapi-spec-validator 0.9.0"); left
    # out of the record of a check that names none (the code checks)
    tool: str = Field(default="", exclude_if=lambda tool: not tool)

    @model_validator(mode="before")
    @classmethod
    def _infer_ran(cls, data: Any) -> Any:
        """Say whether the check ran when its maker (or an old record) did not say.

        A check with no command, or whose summary says it was skipped, not run
        or did not start, ran nothing; nothing it did was then sandboxed.
        """
        if not isinstance(data, dict):
            return data
        ran = data.get("ran")
        if ran is None:
            ran = bool(str(data.get("command") or "").strip()) and not _NOT_RUN.search(
                str(data.get("summary") or "")
            )
        return {**data, "ran": ran, **({} if ran else {"sandboxed": False})}

    @property
    def ok(self) -> bool:
        """Whether the command ran, ended by itself with exit code 0 and nothing failed."""
        return self.ran and self.exit_code == 0 and not self.failed and not self.errors


class StageRecord(BaseModel):
    """What the run remembers about one stage (kept in the graph's state by team)."""

    team: str
    outcome: StageOutcome
    reason: str = ""
    result: TaskResult | None = None
    model: str = ""
    attempts: int = 0
    usage: Usage = Field(default_factory=Usage)
    seconds: float = 0.0
    cost_usd: float = 0.0
    gate_feedback: list[str] = Field(default_factory=list)
    # "budget", "person" or "governance" when the stage was stopped rather than failed
    stopped_by: str = ""
    recalled: list[str] = Field(default_factory=list)  # "bank: text" recalled before it worked
    checks: list[CheckRun] = Field(default_factory=list)  # the sandbox runs of its last attempt
    # mechanical fixes made to the model's replies in its last attempt ("path: what [repair]")
    repairs: list[str] = Field(default_factory=list)
    # the same for every attempt before the last ("attempt N: path: what [repair]")
    earlier_repairs: list[str] = Field(default_factory=list)
    # files tools made in its last attempt for another team's planned file (the build
    # loop's agreed tests, which QA starts from): handed on, never its own deliverables
    handed: list[Artifact] = Field(default_factory=list)


class GateVerdict(BaseModel):
    """Why the gate stopped a stage out of attempts: what a person is asked to get it past."""

    reason: str


class Hop(BaseModel):
    """One step of a clarification chain (``graph/broker.py``), as the run keeps it.

    ``outcome``: the target ``answered`` (``answer``, with its ``confidence`` and
    ``model``), could not (``cannot_answer``), was not asked (``refused``), or
    asked a further team (``asked_further``); ``reason`` says why, where not answered.
    """

    asker: str
    target: str
    question: str
    outcome: Literal["answered", "cannot_answer", "refused", "asked_further"]
    answer: str = ""
    reason: str = ""
    confidence: float = 0.0
    model: str = ""


class Escalation(BaseModel):
    """A team's question no team could answer, waiting for a person (``key`` in the ledger).

    ``hops`` are the broker's steps, as the run's ``clarifications`` ledger keeps them.
    """

    key: str
    asker: str
    target: str
    question: str
    attempt: int
    outcome: str
    reason: str = ""
    hops: list[Hop] = Field(default_factory=list)
    answered_by: str = ""


class Delivery(BaseModel):
    """What a run delivers into: kept in the clone's ``.git`` and in the run's state.

    Attributes:
        run_id: the run.
        source: where the repository is, as shown (a URL's credentials removed).
        local: whether the source is a path on this machine.
        base: the base branch the run started from.
        base_commit: the base branch's commit when the run started.
        branch: the run's branch, ``devfactory/<run-id>``.
        confined: a local source taken only under ``repo_local_roots`` (over the API):
            it is held to them again at delivery.
        identity: a local source's git folder (``<device>:<inode>``) when it was
            cloned: the run delivers into that folder or nowhere (empty: not recorded).

    """

    model_config = ConfigDict(frozen=True)

    run_id: str
    source: str
    local: bool
    base: str
    base_commit: str
    branch: str
    confined: bool = False
    identity: str = ""


class Repository(Delivery):
    """What a run's state keeps of the repository it delivers into (``intake.repository_state``).

    Attributes:
        folder: the clone, the run's folder.
        map: the repository's map, as the build plan's team is shown it.
        tests: its test files.
        paths: its files (the first ``intake.MAX_PATHS``): what the teams are told exists.

    """

    folder: str
    map: str = ""
    tests: list[str] = Field(default_factory=list)
    paths: list[str] = Field(default_factory=list)


def ordered_records(stages: Mapping[str, Any], order: Sequence[str]) -> list[StageRecord]:
    """Return stage records in pipeline order (stages never reached are left out)."""
    return [StageRecord.model_validate(stages[t]) for t in order if t in stages]


class FinalChecks(BaseModel):
    """The final checks of the built software: the whole workspace, run in the sandbox.

    ``run.json`` and the API show it as ``build``, the name clients already read.
    """

    checks: list[CheckRun] = Field(default_factory=list)
    score: float = 0.0  # 0..1: the share of checks that passed, times the share of tests
    criteria: dict[str, str] = Field(default_factory=dict)  # "AC-1" -> passed|failed|not covered
    problems: list[str] = Field(default_factory=list)  # "<owner or run>: <problem>"
    owners: dict[str, list[str]] = Field(default_factory=dict)  # team -> its files' problems

    @classmethod
    def not_run(cls, why: str) -> FinalChecks:
        """Build the result of checks that could not run: the run fails with ``why``."""
        return cls(problems=[why])


def round_checks(values: Mapping[str, Any]) -> Any:
    """Return the round's final checks as a run's state keeps them (typed or as JSON).

    A checkpoint written before the final checks had their name keeps them under ``build``.
    """
    return values["final_checks"] if "final_checks" in values else values.get("build")


def last_final_checks(
    outcome: RunOutcome | None, round_checked: FinalChecks | None
) -> FinalChecks | None:
    """Return a run's last final checks: those it ended with, else the round's (None: none ran).

    The outcome keeps them when they failed the run, which the round's key does
    not hold then. The one rule for the graph's typed state and the views' JSON.
    """
    if outcome is not None and outcome.final_checks is not None:
        return outcome.final_checks
    return round_checked


EndStatus = Literal["COMPLETED", "FAILED", "REJECTED"]


class RunOutcome(BaseModel):
    """How a run ended: its status, why, the stages that blocked it, its final checks.

    Built by one of the constructors below and held in graph state. A checkpoint
    written before the final checks had their name keeps them under ``build``.
    """

    status: EndStatus
    reason: str = ""
    blocked: list[str] = Field(default_factory=list)  # the stages that ended BLOCKED
    final_checks: FinalChecks | None = Field(
        default=None, validation_alias=AliasChoices("final_checks", "build")
    )

    @field_validator("final_checks", mode="before")
    @classmethod
    def _none_when_empty(cls, value: Any) -> Any:
        return value or None  # an old checkpoint wrote {} for "no checks ran"

    @classmethod
    def completed(cls, final_checks: FinalChecks | None) -> RunOutcome:
        """Build the outcome of a run that delivered (``final_checks``: None when none ran)."""
        return cls(status="COMPLETED", final_checks=final_checks)

    @classmethod
    def failed(
        cls,
        reason: str,
        *,
        blocked: Sequence[str] = (),
        final_checks: FinalChecks | None = None,
    ) -> RunOutcome:
        """Build the outcome of a run that failed: why, and the stages that blocked it."""
        return cls(status="FAILED", reason=reason, blocked=list(blocked), final_checks=final_checks)

    @classmethod
    def rejected(cls, reason: str) -> RunOutcome:
        """Build the outcome of a run governance rejected before any team worked."""
        return cls(status="REJECTED", reason=reason)
