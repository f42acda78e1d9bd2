"""Teams, pipeline graphs, memory search, model routing and health, readiness, metrics."""

from __future__ import annotations

from typing import Annotated, Any

import psycopg
from fastapi import APIRouter, Query, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from psycopg_pool import PoolTimeout

from devfactory.api.auth import MetricsReader, Reader, Rules, visible
from devfactory.api.errors import ERRORS, ApiError
from devfactory.api.metrics import FactoryCollector
from devfactory.api.run_routes import factory_of
from devfactory.api.schemas import Health, ModelsOut, TeamSummary
from devfactory.factory.drawing import View, pipeline_view, to_dot, to_mermaid, to_png, to_svg
from devfactory.models.aliases import CHAT_ALIASES
from devfactory.models.router import ModelRouter
from devfactory.pipelines import available_pipelines
from devfactory.redact import redact, shown_url
from devfactory.store.health_snapshots import HealthStore
from devfactory.teams import load_teams

router = APIRouter(responses=ERRORS)


@router.get("/teams", response_model=list[TeamSummary], tags=["teams"], summary="List teams")
def list_teams(person: Reader) -> list[TeamSummary]:
    """List the 17 teams: cluster, model alias, and whom each may ask."""
    return [
        TeamSummary(
            slug=t.slug,
            name=t.name,
            cluster=str(t.cluster),
            description=t.description,
            model=t.model,
            may_ask=list(t.may_ask),
        )
        for t in load_teams().values()
    ]


@router.get("/teams/{slug}", tags=["teams"], summary="Show a team")
def show_team(slug: str, person: Reader) -> dict[str, Any]:
    """Return a team's spec and identity documents (SOUL.md, AGENTS.md, TOOLS.md, objective)."""
    teams = load_teams()
    if slug not in teams:
        raise ApiError(404, f"no team {slug!r}; teams: {', '.join(teams)}")
    return teams[slug].model_dump(mode="json")


GRAPH_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {
            "text/plain": {"schema": {"type": "string"}},
            "image/png": {"schema": {"type": "string", "format": "binary"}},
            "image/svg+xml": {"schema": {"type": "string"}},
        }
    }
}
GraphFormat = Annotated[str, Query(pattern="^(mermaid|dot|png|svg)$")]


def _drawn(drawing: View, format: str) -> Response:
    """Write a graph view as Mermaid, DOT, PNG or SVG (the last two need Graphviz)."""
    if format in ("png", "svg"):
        try:
            if format == "png":
                return Response(to_png(drawing), media_type="image/png")
            return Response(to_svg(drawing), media_type="image/svg+xml")
        except RuntimeError as exc:
            raise ApiError(503, str(exc)) from exc
    text = to_dot(drawing) if format == "dot" else to_mermaid(drawing)
    return Response(text, media_type="text/plain; charset=utf-8")


@router.get("/graph", tags=["graph"], summary="Draw a pipeline's graph", responses=GRAPH_RESPONSES)
def graph(
    person: Reader,
    pipeline: Annotated[str, Query(max_length=60)] = "mvp",
    format: GraphFormat = "mermaid",
    xray: bool = False,
) -> Response:
    """Draw the pipeline's compiled graph: clusters, clarification edges, nodes that wait."""
    if pipeline not in available_pipelines():
        names = ", ".join(available_pipelines())
        raise ApiError(404, f"no pipeline {pipeline!r}; pipelines: {names}")
    return _drawn(pipeline_view(pipeline, xray=xray), format)


@router.get(
    "/runs/{run_id}/graph", tags=["graph"], summary="Draw a run's graph", responses=GRAPH_RESPONSES
)
def run_graph(
    run_id: str,
    person: Reader,
    rules: Rules,
    request: Request,
    format: GraphFormat = "mermaid",
    xray: bool = False,
) -> Response:
    """Draw the run's graph: each stage coloured by its outcome, attempts and confidence."""
    factory = factory_of(request)
    visible(factory.get(run_id), person, rules)
    return _drawn(factory.drawing(run_id, xray=xray), format)


@router.get("/memory/{bank}/search", tags=["memory"], summary="Search a memory bank")
def search_memory(
    bank: str,
    person: Reader,
    rules: Rules,
    request: Request,
    q: Annotated[str, Query(min_length=1, max_length=2000)],
    k: Annotated[int, Query(ge=1, le=50)] = 5,
    threshold: Annotated[float, Query(ge=-1, le=1)] = 0.0,
) -> dict[str, Any]:
    """Return the memories of ``bank`` (``team:<slug>``, ``project:<name>``, ``facts:<team>``).

    Only memories of runs the caller may see are searched: their own runs', or
    every run's for the policy's ``see_all_runs`` roles.
    """
    owners = rules.visible_owners(person.name, person.role)
    try:
        found = factory_of(request).search_memory(bank, q, k=k, threshold=threshold, owners=owners)
    except (ValueError, KeyError) as exc:
        raise ApiError(400, str(exc)) from exc
    return {
        "bank": bank,
        "memories": [
            {"bank": m.bank, "kind": m.kind, "text": m.text, "score": m.score} for m in found
        ],
    }


@router.get(
    "/models", response_model=ModelsOut, tags=["service"], summary="Model routing and health"
)
def models(person: Reader, request: Request) -> ModelsOut:
    """Show each alias's chain in the order a call now tries it, with each provider's health.

    Health is what the processes calling models (workers, the chat, CLI runs)
    wrote in the last ``health_fresh_s``, merged per model: the worst circuit,
    the lowest score, the calls and errors added up. A model without health has
    made no call yet. A ``models_factory`` (a plugin or tests) serves every alias
    itself: then no chain is shown. Ollama's address is shown without its
    credentials (``redact.shown_url``): a viewer may read this page.
    """
    factory = factory_of(request)
    settings = factory.settings
    router = ModelRouter(settings)  # a fresh one: its probes say how things stand now
    if settings.serving.models_factory:
        return ModelsOut(
            models_factory=settings.serving.models_factory,
            ollama=shown_url(router.ollama_host),
            models=[],
        )
    try:
        found = HealthStore(factory.pool).read(settings.serving.health_fresh_s)
    except (psycopg.Error, PoolTimeout) as exc:
        raise ApiError(503, f"model health unavailable: {redact(str(exc))[:200]}") from exc
    rows = router.view({label: h.as_dict() for label, h in found.items()})
    return ModelsOut.model_validate({"ollama": shown_url(router.ollama_host), "models": rows})


@router.get("/health", response_model=Health, tags=["service"], summary="Liveness")
async def health() -> Health:
    """Say the process answers (no database or model is asked; on the event loop, no thread)."""
    return Health(status="ok")


@router.get(
    "/ready",
    response_model=Health,
    tags=["service"],
    summary="Readiness",
    responses={503: {"model": Health, "description": "a check failed"}},
)
def ready(request: Request, response: Response) -> Health:
    """Check the database answers and a model serves each chat alias; 503 if not."""
    factory = factory_of(request)
    checks: dict[str, str] = {}
    try:
        with factory.pool.connection(timeout=5) as conn:
            conn.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception as exc:  # noqa: BLE001 - readiness reports, it never raises
        checks["database"] = f"unavailable: {redact(str(exc))[:200]}"
    source = factory.models
    for alias in CHAT_ALIASES:
        try:
            if isinstance(source, ModelRouter):
                served = [label for a, label, ok in source.describe() if a == alias and ok]
                checks[alias] = served[0] if served else "no model available"
            else:
                checks[alias] = source.resolve(alias).label
        except Exception as exc:  # noqa: BLE001
            checks[alias] = f"no model available: {redact(str(exc))[:200]}"
    good = checks["database"] == "ok" and not any(v.startswith("no model") for v in checks.values())
    if not good:
        response.status_code = 503
    return Health(status="ok" if good else "unavailable", checks=checks)


@router.get(
    "/metrics",
    tags=["service"],
    summary="Prometheus metrics",
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
)
def metrics(person: MetricsReader, request: Request) -> Response:
    """Return runs by status, stage latency by team, tokens and cost, queue depth, pauses."""
    registry = CollectorRegistry()
    registry.register(FactoryCollector(factory_of(request)))
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
