"""``devfactory audit``: the immutable event log of runs (verify, search, show)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.table import Table
from rich.text import Text

from devfactory.cli import common
from devfactory.cli.common import EXIT_FAILED, app, console
from devfactory.console import clean, styled
from devfactory.events import (
    ClarificationRouted,
    DecisionRecorded,
    DraftSaved,
    Event,
    FactsExtracted,
    GovernanceAssessed,
    Notice,
    PhaseChanged,
    Recalled,
    RunCreated,
    RunError,
    RunFinished,
    RunStarted,
    StageFinished,
    StageStarted,
    TaskResultRecorded,
    UsageRecorded,
    parse_event,
)

audit_app = typer.Typer(help="The immutable, hash-chained audit log of every run.")
app.add_typer(audit_app, name="audit", rich_help_panel="Records")

RunArg = Annotated[str, typer.Argument(help="The run.")]


@audit_app.command()
def verify(run_id: RunArg) -> None:
    """Recompute a run's hash chain; name the first broken link (exit 1) if any."""
    with common.session() as factory:
        result = factory.verify_audit(run_id)
    if result.ok:
        intact = f": {result.rows} events of run {run_id}"
        console.print(Text.assemble(styled("chain intact", "green"), clean(intact)))
        return
    where = "audit log" if result.broken_at is None else f"chain broken at event {result.broken_at}"
    console.print(styled(where, "bold red"), f"of run {run_id}: {result.problem}")
    raise typer.Exit(EXIT_FAILED)


@audit_app.command()
def show(run_id: RunArg) -> None:
    """Print a run's timeline: every event in chain order."""
    with common.session() as factory:
        events = factory.audit_events(run_id)
    table = Table(title=f"audit of run {run_id}")
    for col in ("#", "at (UTC)", "kind", "actor", "what", "hash"):
        table.add_column(col)
    for event in events:
        table.add_row(
            str(event.seq),
            f"{event.at:%H:%M:%S}",
            event.kind,
            event.actor,
            what(event.kind, event.payload),
            event.hash[:12],
        )
    console.print(table)


# One line per kind of event, for the timeline; kinds in AS_STORED show their payload.
LINES: dict[type[Event], Callable[[Any], str]] = {
    PhaseChanged: lambda e: f"{e.from_phase} -> {e.to_phase}: {e.reason}"[:120],
    TaskResultRecorded: lambda e: f"{e.team} {e.outcome} ({e.attempts} attempts)",
    UsageRecorded: lambda e: f"{e.team} {e.input_tokens}/{e.output_tokens} tokens on {e.model}",
    DecisionRecorded: lambda e: f"{e.pause}: {e.action} {e.text}"[:120],
    GovernanceAssessed: lambda e: f"risk {e.risk} -> {e.action}",
    ClarificationRouted: lambda e: f"{e.asker} asked {e.target}: {e.outcome}"[:120],
    RunCreated: lambda e: f"{e.pipeline}: {e.requirement}"[:120],
}
AS_STORED: frozenset[type[Event]] = frozenset(
    {
        Notice,  # its kind and message say it best
        FactsExtracted,
        # never appended to the audit log: the driver's own, and a stage's progress
        RunStarted,
        RunFinished,
        RunError,
        StageStarted,
        StageFinished,  # kept as its task_result and usage
        Recalled,
        DraftSaved,
    }
)


def what(kind: str, payload: dict[str, Any]) -> str:
    """Say in one line what an audit event records."""
    try:
        event = parse_event({"event": kind, **payload})
    except ValidationError:  # a kind this version does not know, or an older shape
        return str(payload)[:120]
    if type(event) in AS_STORED:
        return str(payload)[:120]
    return LINES[type(event)](event)


@audit_app.command()
def search(
    query: Annotated[str, typer.Argument(help='Words, "a phrase", or -excluded.')],
    run_id: Annotated[str | None, typer.Option("--run", help="Only this run.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 20,
) -> None:
    """Full-text search over every run's events."""
    with common.session() as factory:
        hits = factory.search_audit(query, run_id=run_id, limit=limit)
    if not hits:
        console.print("no events match")
        return
    table = Table(title=f"audit events matching {query!r}")
    for col in ("run", "#", "kind", "actor", "at (UTC)", "match"):
        table.add_column(col)
    for hit in hits:
        table.add_row(
            hit.run_id, str(hit.seq), hit.kind, hit.actor, f"{hit.at:%Y-%m-%d %H:%M}", hit.snippet
        )
    console.print(table)
