"""Runs over HTTP: submit, list, show, cancel, resume, answer, and what waits on people.

Nothing here drives a run: submitting, resuming and answering queue the run
for the workers (``devfactory worker``), so the API process stays responsive
and a crashed API loses nothing. Every answer goes through the factory's
``check_answer`` and ``answer``, exactly as the CLI's and the chat's do, and
is recorded with the key's person and role.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.concurrency import run_in_threadpool

from devfactory.api.auth import (
    Admin,
    Answerer,
    Permission,
    Reader,
    Rules,
    Starter,
    may,
    may_see,
    visible,
)
from devfactory.api.errors import ERRORS, ApiError
from devfactory.api.finished import FinishedRuns, Rendered
from devfactory.api.schemas import (
    Accepted,
    AnswerRequest,
    PendingQuestion,
    PlainName,
    RunDetail,
    RunPage,
    RunRequest,
    RunSummary,
)
from devfactory.control.budget import Caps, Spend
from devfactory.control.ceilings import MAX_PROJECT_CHARS
from devfactory.control.hitl import Decision
from devfactory.control.lifecycle import TERMINAL, Phase
from devfactory.factory.facade import Factory
from devfactory.factory.intake import StartRequest
from devfactory.factory.reports import Pending, RunUsage, report_document
from devfactory.repos.local_source import inside_roots, resolved_source
from devfactory.repos.repository import local_path_of
from devfactory.store.runs_table import RunRow
from devfactory.tracing import trace_url
from devfactory.users import Person

router = APIRouter(tags=["runs"], responses=ERRORS)


def factory_of(request: Request) -> Factory:
    """Return the app's factory."""
    found: Factory = request.app.state.factory
    return found


def finished_of(request: Request) -> FinishedRuns:
    """Return the finished runs' details this process keeps."""
    found: FinishedRuns = request.app.state.finished
    return found


StatusFilter = Annotated[str | None, Query(max_length=40, description="A phase, or QUEUED.")]
"""A ``status`` query that lists runs: routes check it with ``known_status``."""


def known_status(status: str | None) -> None:
    """Refuse (400) a status filter that is neither a lifecycle phase nor QUEUED."""
    if status and status != "QUEUED" and status not in Phase.__members__:
        raise ApiError(400, f"unknown status {status!r}; a lifecycle phase, or QUEUED")


def question(item: Pending) -> PendingQuestion:
    """Describe one pending question."""
    pause = item.pause
    return PendingQuestion(
        **pause.model_dump(mode="json", exclude={"details", "error", "reasoning", "deadline_s"}),
        run_id=item.run_id,
        id=item.interrupt_id,
        error_line=pause.error_line(),
        deadline=item.deadline,
        expired=item.expired(),
        reasoning=pause.why(),  # only where it adds to the question
    )


def _cursor(row: RunRow) -> str:
    raw = f"{row.created_at.isoformat()}|{row.run_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _after(cursor: str | None) -> tuple[datetime, str] | None:
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        at, ident = raw.split("|", 1)
        return datetime.fromisoformat(at), ident
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ApiError(400, "that cursor is not one this API gave") from None


@router.post("/runs", status_code=202, response_model=Accepted, summary="Queue a run")
def submit_run(body: RunRequest, person: Starter, request: Request) -> Accepted:
    """Queue a run for the workers; it starts as soon as one is free.

    With ``repo`` nothing is cloned here and nothing is connected to: the source's
    syntax, a path's place under ``repo_local_roots`` and a URL's host against
    ``repo_allowed_hosts`` are checked, and the worker that claims the run clones
    it (bounded, at the address it checked) before the first step. A clone that
    fails ends the run FAILED; its events say why, never quoting the host.
    """
    factory = factory_of(request)
    folder = local_path_of(body.repo) if body.repo is not None else None
    if folder is not None:
        local_source_allowed(folder, factory.settings.repos.repo_local_roots)
    row = factory.submit(
        StartRequest(
            body.requirement,
            pipeline=body.pipeline,
            project=body.project,
            caps=Caps(tokens=body.budget_tokens, cost_usd=body.budget_cost_usd),
            owner=person.name,
            unattended=body.unattended,
            repo=body.repo,
            base=body.base,
        ),
        confined=folder is not None,
    )
    # what this call did; a worker may already have claimed it by now
    return Accepted(run_id=row.run_id, status="QUEUED", message="queued for a worker")


def local_source_allowed(folder: Path, roots: Sequence[Path]) -> None:
    """Refuse (422) a repository path on this server outside the ``repo_local_roots`` setting.

    Over HTTP, a path names a folder on the API's machine, which its caller may not
    be allowed to read; only the folders an operator listed may be cloned.
    """
    if not inside_roots(resolved_source(folder), roots):
        raise ApiError(
            422,
            "a repository path is taken over the API only under the repo_local_roots setting; "
            "give a URL git can reach",
        )


@router.get("/runs", response_model=RunPage, summary="List runs, newest first")
def list_runs(
    person: Reader,
    rules: Rules,
    request: Request,
    status: StatusFilter = None,
    project: Annotated[PlainName | None, Query(max_length=MAX_PROJECT_CHARS)] = None,
    owner: Annotated[PlainName | None, Query(max_length=120)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=400)] = None,
) -> RunPage:
    """List the runs the caller may see (their own, or all for ``see_all_runs`` roles)."""
    known_status(status)
    if person.role not in rules.see_all_runs:
        if owner not in (None, person.name):
            return RunPage(runs=[])
        owner = person.name
    rows = factory_of(request).runs.page(
        limit + 1, after=_after(cursor), status=status, owner=owner, project=project
    )
    more = len(rows) > limit
    rows = rows[:limit]
    return RunPage(
        runs=[RunSummary.of(r) for r in rows],
        next_cursor=_cursor(rows[-1]) if more and rows else None,
    )


@router.get("/runs/{run_id}", response_model=RunDetail, summary="Show a run in full")
async def show_run(run_id: str, person: Reader, rules: Rules, request: Request) -> Response:
    """Return the run's status, lifecycle, stages with their TaskResults, usage and pauses.

    A finished run's detail is served as this process rendered it, until the database
    announces a change of the run (``api/finished.py``); the caller is checked each time.
    """
    finished = finished_of(request)
    rendered = finished.get(run_id)
    if rendered is None:
        since = finished.epoch  # before the read: a change heard after it was not read
        rendered = await run_in_threadpool(render_run, factory_of(request), run_id)
        finished.keep(rendered, since)
    may_see(run_id, rendered.owner, person, rules)
    return Response(rendered.body, media_type="application/json")


def render_run(factory: Factory, run_id: str) -> Rendered:
    """Read a run (one query: its row, its view, its transitions) and render its detail."""
    found, report, transitions = factory.detail(run_id)
    spent = RunUsage.of(run_id, found.project, report.shown.spend, {}, project_spent=Spend()).total
    document = report_document(report, spent)
    stages = document["stages"]
    for stage, record in zip(stages, report.records, strict=True):
        stage["result"] = record.result.model_dump(mode="json") if record.result else None
    detail = RunDetail(
        **RunSummary.of(found).model_dump(),
        out_dir=found.out_dir,
        transitions=transitions,
        stages=stages,
        usage=document["usage"],
        build=document["build"],
        pending=[question(p) for p in report.pending],
        trace_url=trace_url(run_id),
    )
    return Rendered(
        run_id=run_id,
        owner=found.owner,
        body=detail.model_dump_json().encode(),
        finished=found.status in TERMINAL,
    )


@router.post("/runs/{run_id}/cancel", response_model=Accepted, summary="Cancel a run")
def cancel_run(
    run_id: str,
    person: Annotated[Person, may(Permission.CONTROL, "cancel runs")],
    rules: Rules,
    request: Request,
) -> Accepted:
    """Stop a run: at once if nobody drives it, else at its worker's next step (202)."""
    factory = factory_of(request)
    visible(factory.get(run_id), person, rules)
    row = factory.cancel(run_id, by=person.name, role=person.role)
    done = row.status == Phase.CANCELLED
    return Accepted(
        run_id=run_id,
        status=row.shown_status,
        message="cancelled" if done else "its worker stops at the next step",
    )


@router.post(
    "/runs/{run_id}/resume", status_code=202, response_model=Accepted, summary="Resume a run"
)
def resume_run(
    run_id: str,
    person: Annotated[Person, may(Permission.CONTROL, "resume runs")],
    rules: Rules,
    request: Request,
) -> Accepted:
    """Queue an interrupted run (its driver died) for a worker, from its last checkpoint."""
    factory = factory_of(request)
    row = visible(factory.get(run_id), person, rules)
    if row.status == Phase.PAUSED:
        raise ApiError(409, f"run {run_id} waits for a person: answer it (POST .../answer)")
    if row.queued:
        return Accepted(run_id=run_id, status=row.shown_status, message="already queued")
    if not row.interrupted:
        raise ApiError(409, f"run {run_id} is {row.shown_status}: nothing to resume")
    if not factory.queue.enqueue(row):
        raise ApiError(409, f"run {run_id} was taken by another process first")
    return Accepted(run_id=run_id, status="QUEUED", message="queued for a worker")


@router.get("/pending", response_model=list[PendingQuestion], summary="What waits on people")
def list_pending(person: Reader, rules: Rules, request: Request) -> list[PendingQuestion]:
    """List the questions paused runs the caller may see wait on, the most urgent first.

    Sorted by priority (CRITICAL first), then deadline (soonest first).
    """
    factory = factory_of(request)
    items = factory.pending()
    owners = {r.run_id: r.owner for r in factory.list_runs(1000, status=Phase.PAUSED)}
    return [
        question(item)
        for item in items
        if item.run_id in owners  # a run answered since: it waits no more
        and rules.may_see_run(person.name, person.role, owners[item.run_id])
    ]


@router.post(
    "/runs/{run_id}/answer", status_code=202, response_model=Accepted, summary="Answer a pause"
)
async def answer_run(
    run_id: str, body: AnswerRequest, person: Answerer, rules: Rules, request: Request
) -> Accepted:
    """Answer what a paused run waits on; the run goes back to the workers.

    The policy's roles for the pause decide whether the key's person may answer
    it (403 otherwise); the decision is recorded with their name and role.
    """
    factory = factory_of(request)
    visible(await run_in_threadpool(factory.get, run_id), person, rules)
    decision = Decision(
        action=body.action,
        text=body.text,
        by=person.name,
        role=person.role,
        caps=body.caps,
        alternative=body.alternative,
    )
    report = await run_in_threadpool(
        factory.answer, run_id, decision, interrupt_id=body.id, kind=body.kind, queue=True
    )
    return Accepted(run_id=run_id, status=report.status, message=f"{body.action} recorded")


@router.delete("/runs/{run_id}", summary="Purge an archived run")
def purge_run(run_id: str, person: Admin, request: Request) -> dict[str, Any]:
    """Delete an archived run's checkpoints, live events and folder (admins only).

    The run's row, its lifecycle and its audit log stay; the purge is appended
    to the audit log with who did it.
    """
    factory = factory_of(request)
    factory.get(run_id)
    done = factory.purge(run_id, by=person.name, role=person.role)
    finished_of(request).changed(run_id)  # this process reads its own write at once
    return {"run_id": run_id, "purged": done}
