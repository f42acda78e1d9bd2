"""The operator's console: the reads only it needs (its pages are ``console_pages.py``).

The console's pages hold no data: signed in (``console_signin.py``), they read and act
through the API's own routes (runs, the run's graph as SVG drawn by Graphviz,
Server-Sent Events, files, pending questions, answers), so the roles and the
policy decide exactly what they decide for an API key. The routes here add what
only a console shows: who is signed in and what their role allows, runs with
their spend, each stage's diff, costs summed by team, model, project and day,
memory banks with their newest entries, and which model serves each alias now
and why.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from pathlib import Path as FilePath
from typing import Annotated, Any

import httpx
from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from devfactory.api.auth import Permission, Reader, Rules, allows, may, visible, visible_projects
from devfactory.api.errors import ERRORS, ApiError
from devfactory.api.run_routes import StatusFilter, factory_of, known_status
from devfactory.control.budget import Caps, Spend
from devfactory.control.ceilings import MAX_PROJECT_CHARS
from devfactory.factory.reports import default_caps
from devfactory.models.local_server import embedded_available
from devfactory.models.router import ModelRouter
from devfactory.pipelines import available_pipelines
from devfactory.redact import redact, shown_url
from devfactory.repos.workspace import Workspace
from devfactory.store.health_snapshots import read_health
from devfactory.store.runs_table import RunRow
from devfactory.users import Person

log = logging.getLogger(__name__)
router = APIRouter(prefix="/console/api", tags=["console"], responses=ERRORS)
RUNS_READ = 500  # the newest runs summed on the costs page
MAX_DIFF = 200_000  # characters of one stage's diff shown


@router.get("/me", summary="Who is signed in and what their role allows")
def me(person: Reader, rules: Rules) -> dict[str, Any]:
    """Return the signed-in person, their role, what it allows, and the pipelines."""
    return {
        "name": person.name,
        "role": person.role,
        "may": {p.value: allows(person.role, p) for p in Permission},
        "sees_all_runs": person.role in rules.see_all_runs,
        "answers": sorted(kind for kind, roles in rules.roles.items() if person.role in roles),
        "pipelines": available_pipelines(),
    }


def _spent(row: RunRow) -> dict[str, Any]:
    spend = Spend.model_validate(row.spend or {})
    return {"tokens": spend.tokens, "cost_usd": spend.cost_usd, "calls": spend.calls}


def _visible_rows(request: Request, person: Person, rules: Rules, **where: Any) -> list[RunRow]:
    owner = None if person.role in rules.see_all_runs else person.name
    return factory_of(request).runs.page(RUNS_READ, owner=owner, **where)


@router.get("/runs", summary="Runs with their spend, filtered and searched")
def console_runs(
    person: Reader,
    rules: Rules,
    request: Request,
    status: StatusFilter = None,
    project: Annotated[str | None, Query(max_length=MAX_PROJECT_CHARS)] = None,
    q: Annotated[str, Query(max_length=200, description="Words in the id, text, owner")] = "",
    limit: Annotated[int, Query(ge=1, le=RUNS_READ)] = 100,
) -> dict[str, Any]:
    """List the runs the person may see, newest first, with what each spent.

    The filters and the words are one query; ``more`` says whether runs past
    ``limit`` matched too.
    """
    known_status(status)
    owner = None if person.role in rules.see_all_runs else person.name
    rows = factory_of(request).runs.page(
        limit + 1, status=status or None, owner=owner, project=project or None, words=q.split()
    )
    found = [
        {
            "run_id": row.run_id,
            "status": row.shown_status,
            "reason": row.reason,
            "pipeline": row.pipeline,
            "project": row.project,
            "owner": row.owner,
            "requirement": row.requirement[:300],
            "created_at": row.created_at.isoformat(),
            "updated_at": row.updated_at.isoformat(),
            "spent": _spent(row),
        }
        for row in rows[:limit]
    ]
    return {"runs": found, "matched": len(found), "more": len(rows) > limit}


@router.get("/runs/{run_id}/diffs", summary="What each stage changed in the run's folder")
def stage_diffs(run_id: str, person: Reader, rules: Rules, request: Request) -> dict[str, Any]:
    """Return each team's newest change to the run's git workspace as a unified diff."""
    factory = factory_of(request)
    row = visible(factory.get(run_id), person, rules)
    workspace = Workspace(FilePath(row.out_dir))
    if not workspace.exists():
        return {"run_id": run_id, "stages": []}
    found = []
    for record in factory.report(run_id).records:
        patch = workspace.diff(record.team)
        if patch:
            cut = len(patch) > MAX_DIFF
            found.append({"team": record.team, "diff": patch[:MAX_DIFF], "cut": cut})
    return {"run_id": run_id, "stages": found}


def _add(into: dict[str, Spend], key: str, spend: Spend) -> None:
    into[key] = into.get(key, Spend()) + spend


@router.get("/costs", summary="Tokens, cost and model time by team, model, project and day")
def costs(person: Reader, rules: Rules, request: Request) -> dict[str, Any]:
    """Sum the spend of the runs the person may see, against the budgets.

    The newest ``RUNS_READ`` runs count, each by what its row keeps (one query,
    no checkpoint read): its total for projects and days, and its split by team
    and model (every model call of the run's ledger, an entry under the model of
    its latest call) for teams and models.
    """
    factory = factory_of(request)
    rows = _visible_rows(request, person, rules)
    by_project: dict[str, Spend] = {}
    by_day: dict[str, Spend] = {}
    for row in rows:
        spend = Spend.model_validate(row.spend or {})
        _add(by_project, row.project, spend)
        _add(by_day, row.created_at.date().isoformat(), spend)
    by_team: dict[str, Spend] = {}
    by_model: dict[str, Spend] = {}
    for row in rows:
        for entry in (row.spend or {}).get("by") or ():
            spend = Spend.model_validate(entry)
            _add(by_team, str(entry.get("team") or "?"), spend)
            _add(by_model, str(entry.get("model") or "not recorded"), spend)

    def table(found: dict[str, Spend]) -> list[dict[str, Any]]:
        return [
            {"name": name, **spend.model_dump(), "tokens": spend.tokens}
            for name, spend in sorted(found.items(), key=lambda kv: -kv[1].tokens)
        ]

    return {
        "runs": len(rows),
        "by_project": table(by_project),
        "by_team": table(by_team),
        "by_model": table(by_model),
        "by_day": sorted(table(by_day), key=lambda r: r["name"]),
        "caps": default_caps(factory.settings),
    }


def _served(alias: str, chain: list[dict[str, Any]]) -> dict[str, Any]:
    """Say which entry of an alias's fallback chain serves it, and why that one.

    Entries with an ``order`` (``ModelRouter.view``: health, price) serve in that order.
    """
    ordered = [e for e in chain if e.get("order")]
    first = min(ordered, key=lambda e: e["order"], default=None) if ordered else None
    first = first or next((e for e in chain if e["available"] and "order" not in e), None)
    skipped = [e["model"] for e in chain[: chain.index(first)]] if first else []
    if first is None:
        why = "nothing in its fallback chain is available"
    elif skipped:
        why = f"the first available in its chain; {', '.join(skipped)} not available"
        why += " (or circuit open, degraded or dearer)" if ordered else ""
    else:
        why = "the first in its chain, and available"
    return {"alias": alias, "serves": first["model"] if first else None, "why": why, "chain": chain}


def _ollama_health(host: str, timeout: float) -> dict[str, Any]:
    """Ask Ollama for its models now: reachable or not, how fast, and what went wrong."""
    started = time.perf_counter()
    try:
        answer = httpx.get(f"{host}/api/tags", timeout=timeout)
        answer.raise_for_status()
        models = sorted(str(m["name"]) for m in answer.json().get("models", []))
        problem = ""
    except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
        models, problem = [], redact(str(exc))[:300] or type(exc).__name__
    return {
        "host": shown_url(host),
        "reachable": not problem,
        "models": models,
        "ms": round(1000 * (time.perf_counter() - started)),
        "problem": problem,
    }


def _project_of(bank: str) -> str | None:
    return bank.removeprefix("project:") if bank.startswith("project:") else None


@router.get("/memory", summary="Memory banks, their sizes and newest entries")
def memory(
    person: Reader,
    rules: Rules,
    request: Request,
    recent: Annotated[int, Query(ge=0, le=50)] = 5,
) -> dict[str, Any]:
    """Describe the banks the person may read, each with its newest entries they may see."""
    factory = factory_of(request)
    owners = rules.visible_owners(person.name, person.role)
    stats = factory.memory_stats()
    mine = visible_projects(factory.runs, person, rules)
    banks = []
    for bank in stats.banks:
        project = _project_of(bank.bank)
        if mine is not None and project is not None and project not in mine:
            continue
        entries = factory.recent_memories(bank.bank, owners=owners, limit=recent) if recent else []
        banks.append(
            {
                "bank": bank.bank,
                "memories": bank.memories,
                "kinds": bank.kinds,
                "embedder": bank.embedder,
                "recent": [{"kind": m.kind, "text": m.text} for m in entries],
            }
        )
    return {
        "enabled": factory.settings.recall.memory_enabled,
        "embedder": stats.embedder,
        "dims": stats.dims,
        "banks": banks,
        "facts": stats.facts,
    }


@router.get("/settings", summary="Which model serves each alias now and why, and the budgets")
def settings_view(person: Reader, rules: Rules, request: Request) -> dict[str, Any]:
    """Return the model routing, the providers' health and the budgets a new run gets.

    Each alias shows its fallback chain, what serves it now and why. The budgets
    set per project are those of the projects the person may see
    (``visible_projects``: a viewer without runs sees none).
    """
    factory = factory_of(request)
    seen = visible_projects(factory.runs, person, rules)
    projects = [row for row in factory.project_caps() if seen is None or row["project"] in seen]
    settings = factory.settings
    aliases: dict[str, list[dict[str, Any]]] = defaultdict(list)
    routing: list[dict[str, Any]]
    router = ModelRouter(settings)  # a fresh one: its probes say how things stand now
    if settings.serving.models_factory:
        why = f"models_factory {settings.serving.models_factory} serves every alias"
        routing = [
            {"alias": "*", "serves": settings.serving.models_factory, "why": why, "chain": []}
        ]
    else:
        for link in router.view(read_health(factory.pool, settings.serving.health_fresh_s)):
            aliases[link["alias"]].append(link)  # model, available, order, health, price
        routing = [_served(alias, chain) for alias, chain in aliases.items()]
    return {
        "projects": [{**row, "at": row["at"].isoformat()} for row in projects],
        "routing": routing,
        "providers": {
            "ollama": _ollama_health(router.ollama_host, settings.serving.probe_timeout_s),
            "embedded": {"available": embedded_available(settings)},
        },
        "caps": default_caps(settings),
        "budget_warn_at": settings.runs.budget_warn_at,
        "change": "an admin sets a project's budgets below (recorded in the audit log as "
        "project:<name>); the defaults and the model routing are set in the settings "
        "(DEVFACTORY_BUDGET_*) and models.yaml. A run takes its caps when it starts.",
    }


class ProjectCapsRequest(BaseModel):
    """The budgets a project's new runs get: each run's caps, and the project's total."""

    model_config = ConfigDict(extra="forbid")

    run: Caps | None = Field(default=None, description="Each new run's caps (None: the settings').")
    project: Caps | None = Field(
        default=None, description="The project's caps over all its runs (None: the settings')."
    )


@router.put("/settings/projects/{project}", summary="Set a project's budgets (admins)")
def set_project_caps(
    project: Annotated[str, Path(max_length=MAX_PROJECT_CHARS)],
    body: ProjectCapsRequest,
    person: Annotated[Person, may(Permission.PURGE, "set a project's budgets")],
    request: Request,
) -> dict[str, Any]:
    """Set the caps the project's new runs get; the change is recorded in the audit log."""
    caps = {scope: c for scope, c in (("run", body.run), ("project", body.project)) if c}
    if not caps:
        raise ApiError(400, "give run caps, project caps, or both")
    kept = factory_of(request).set_project_caps(project, caps, by=person.name, role=person.role)
    return {"project": project, "caps": kept}
