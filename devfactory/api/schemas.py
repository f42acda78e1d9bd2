"""The API's request and response bodies (Pydantic), with the examples OpenAPI shows."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from devfactory.control.budget import Caps
from devfactory.control.hitl import DecisionAction
from devfactory.control.lifecycle import Transition
from devfactory.store.runs import RunRow

RUN_ID = "20261123-051244-f67a09"


class RunRequest(BaseModel):
    """A run to queue for the workers."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "requirement": "A command-line tool that counts words in text files.",
                    "pipeline": "mvp",
                    "project": "tools",
                    "budget_tokens": 200000,
                }
            ]
        },
    )

    requirement: str = Field(min_length=1, max_length=100_000, description="What to build.")
    pipeline: str = Field(default="mvp", max_length=60, description="mvp, lean or full.")
    project: str = Field(default="default", min_length=1, max_length=120)
    budget_tokens: int | None = Field(default=None, ge=1, le=100_000_000)
    budget_cost_usd: float | None = Field(default=None, gt=0, le=100_000)
    unattended: bool | None = Field(
        default=None, description="Answer every pause by the policy's rules (default: setting)."
    )


class RunSummary(BaseModel):
    """A run as listed."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "run_id": RUN_ID,
                    "status": "QUEUED",
                    "reason": "",
                    "pipeline": "mvp",
                    "project": "tools",
                    "owner": "ann",
                    "requirement": "A command-line tool that counts words in text files.",
                    "created_at": "2026-11-23T05:12:44Z",
                    "updated_at": "2026-11-23T05:12:44Z",
                }
            ]
        }
    )

    run_id: str
    status: str = Field(description="The lifecycle phase, or QUEUED / INTERRUPTED.")
    reason: str
    pipeline: str
    project: str
    owner: str
    requirement: str
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: RunRow) -> RunSummary:
        """Describe a run's row."""
        return cls(
            run_id=row.run_id,
            status=row.shown_status,
            reason=row.reason,
            pipeline=row.pipeline,
            project=row.project,
            owner=row.owner,
            requirement=row.requirement[:2000],
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


class RunPage(BaseModel):
    """One page of runs, newest first; pass ``next_cursor`` as ``cursor`` for the next."""

    runs: list[RunSummary]
    next_cursor: str | None = None


class PendingQuestion(BaseModel):
    """A question a paused run waits on, and who may answer it how."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "run_id": RUN_ID,
                    "id": "2f6c0d0e9a8b4c1d",
                    "kind": "governance",
                    "title": "Risk HIGH: approval needed",
                    "question": "Approve, reject or modify the requirement?",
                    "team": None,
                    "actions": ["approve", "reject", "modify"],
                    "roles": ["approver", "admin"],
                }
            ]
        }
    )

    run_id: str
    id: str = Field(description="The interrupt id: name it in an answer.")
    kind: str
    title: str
    question: str
    team: str | None
    actions: list[str]
    roles: list[str]


class RunDetail(RunSummary):
    """A run in full: its lifecycle, stages, usage and what it waits on."""

    out_dir: str
    transitions: list[Transition]
    stages: list[dict[str, Any]]
    usage: dict[str, Any]
    build: dict[str, Any] | None
    pending: list[PendingQuestion]
    trace_url: str | None = None  # its Langfuse trace, when tracing is configured


class Accepted(BaseModel):
    """The request was taken; the run goes on in a worker."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"run_id": RUN_ID, "status": "QUEUED", "message": ""}]}
    )

    run_id: str
    status: str
    message: str = ""


class AnswerRequest(BaseModel):
    """A person's answer to what a paused run waits on."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"action": "approve", "text": "", "id": "2f6c0d0e"},
                {"action": "answer", "text": "Use UTC timestamps.", "id": "9b1e44a7"},
                {
                    "action": "approve",
                    "caps": {"tokens": 400000},
                    "id": "51d0c3e2",
                    "kind": "budget",
                },
            ]
        },
    )

    action: DecisionAction
    text: str = Field(default="", max_length=8000)
    id: str = Field(
        min_length=6,
        max_length=64,
        description="The question's id (GET /pending), or an unambiguous prefix of 6+ characters.",
    )
    kind: str | None = Field(
        default=None, max_length=40, description="The question's kind, checked when given."
    )
    caps: Caps | None = Field(default=None, description="New run caps (budget pauses only).")


class TeamSummary(BaseModel):
    """A team as listed."""

    slug: str
    name: str
    cluster: str
    description: str
    model: str
    may_ask: list[str]


class Health(BaseModel):
    """Liveness, or readiness with each check."""

    status: Literal["ok", "unavailable"]
    checks: dict[str, str] = Field(default_factory=dict)
