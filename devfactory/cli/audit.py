"""``devfactory audit``: the immutable event log of runs (verify, search, show)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from devfactory.cli import common
from devfactory.cli.common import EXIT_FAILED, EXIT_NOT_FOUND, app, console, fail
from devfactory.settings import get_settings

audit_app = typer.Typer(help="The immutable, hash-chained audit log of every run.")
app.add_typer(audit_app, name="audit", rich_help_panel="Records")

RunArg = Annotated[str, typer.Argument(help="The run.")]


def _known(factory: object, run_id: str) -> None:
    from devfactory.runner import RunNotFoundError

    try:
        factory.get(run_id)  # type: ignore[attr-defined]
    except RunNotFoundError as exc:
        factory.close()  # type: ignore[attr-defined]
        raise fail(str(exc), EXIT_NOT_FOUND) from exc


@audit_app.command()
def verify(run_id: RunArg) -> None:
    """Recompute a run's hash chain; name the first broken link (exit 1) if any."""
    factory = common.open_factory(get_settings())
    _known(factory, run_id)
    try:
        result = factory.audit.verify(run_id)
    finally:
        factory.close()
    if result.ok:
        console.print(f"[green]chain intact[/]: {result.rows} events of run {run_id}")
        return
    console.print(
        f"[bold red]chain broken at event {result.broken_at}[/] of run {run_id}: {result.problem}"
    )
    raise typer.Exit(EXIT_FAILED)


@audit_app.command()
def show(run_id: RunArg) -> None:
    """Print a run's timeline: every event in chain order."""
    factory = common.open_factory(get_settings())
    _known(factory, run_id)
    try:
        events = factory.audit.events(run_id)
    finally:
        factory.close()
    table = Table(title=f"audit of run {run_id}")
    for col in ("#", "at (UTC)", "kind", "actor", "what", "hash"):
        table.add_column(col)
    for event in events:
        table.add_row(
            str(event.seq),
            f"{event.at:%H:%M:%S}",
            event.kind,
            event.actor,
            _what(event.kind, event.payload),
            event.hash[:12],
        )
    console.print(table)


def _what(kind: str, payload: dict) -> str:
    if kind == "transition":
        return f"{payload['from']} -> {payload['to']}: {payload.get('reason', '')}"[:120]
    if kind == "task_result":
        return f"{payload['team']} {payload['outcome']} ({payload['attempts']} attempts)"
    if kind == "usage":
        return (
            f"{payload['team']} {payload['input_tokens']}/{payload['output_tokens']} tokens "
            f"on {payload['model']}"
        )
    if kind == "decision":
        return f"{payload['pause']}: {payload['action']} {payload.get('text', '')}"[:120]
    if kind == "governance":
        return f"risk {payload['risk']} -> {payload['action']}"
    if kind == "clarification":
        return f"{payload['asker']} asked {payload['target']}: {payload['outcome']}"[:120]
    if kind == "run_created":
        return f"{payload['pipeline']}: {payload['requirement']}"[:120]
    return str(payload)[:120]


@audit_app.command()
def search(
    query: Annotated[str, typer.Argument(help='Words, "a phrase", or -excluded.')],
    run_id: Annotated[str | None, typer.Option("--run", help="Only this run.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 20,
) -> None:
    """Full-text search over every run's events."""
    factory = common.open_factory(get_settings())
    try:
        hits = factory.audit.search(query, run_id=run_id, limit=limit)
    finally:
        factory.close()
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
