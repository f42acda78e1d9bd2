"""``devfactory audit``: the immutable event log of runs (verify, search, show)."""

from __future__ import annotations

from typing import Annotated

import typer

from devfactory.cli import common, documents
from devfactory.cli.common import EXIT_FAILED, app, plain_name
from devfactory.cli.documents import ReadJsonOption

audit_app = typer.Typer(help="The immutable, hash-chained audit log of every run.")
app.add_typer(audit_app, name="audit", rich_help_panel="Records")

RunArg = Annotated[str, typer.Argument(help="The run.", callback=plain_name)]


@audit_app.command()
def verify(run_id: RunArg, as_json: ReadJsonOption = False) -> None:
    """Recompute a run's hash chain; name the first broken link (exit 1) if any.

    With --json: one object with run_id, ok, rows, broken_at, problem and
    row_deleted (the exit code is the same).
    """
    from rich.text import Text

    from devfactory.cli.terminal import clean, styled

    with common.session() as factory:
        result = factory.verify_audit(run_id)
    if as_json:
        documents.print_json({"ok": result.ok, **documents.plain(result)})
        if not result.ok:
            raise typer.Exit(EXIT_FAILED)
        return
    if result.ok:
        intact = f": {result.rows} events of run {run_id}"
        common.console.print(Text.assemble(styled("chain intact", "green"), clean(intact)))
        return
    where = "audit log" if result.broken_at is None else f"chain broken at event {result.broken_at}"
    common.console.print(styled(where, "bold red"), f"of run {run_id}: {result.problem}")
    raise typer.Exit(EXIT_FAILED)


@audit_app.command()
def show(run_id: RunArg, as_json: ReadJsonOption = False) -> None:
    """Print a run's timeline: every event in chain order.

    With --json: a list of objects with seq, at, kind, actor, what (the line
    the table shows), payload, prev_hash and hash.
    """
    from rich.table import Table

    from devfactory.cli.timeline import what

    with common.session() as factory:
        events = factory.audit_events(run_id)
    if as_json:
        documents.print_json(
            [
                {
                    "seq": e.seq,
                    "at": e.at.isoformat(),
                    "kind": e.kind,
                    "actor": e.actor,
                    "what": what(e.kind, e.payload),
                    "payload": e.payload,
                    "prev_hash": e.prev_hash,
                    "hash": e.hash,
                }
                for e in events
            ]
        )
        return
    table = Table("#", "at (UTC)", "kind", "actor", "what", "hash", title=f"audit of run {run_id}")
    for event in events:
        table.add_row(
            str(event.seq),
            f"{event.at:%H:%M:%S}",
            event.kind,
            event.actor,
            what(event.kind, event.payload),
            event.hash[:12],
        )
    common.console.print(table)


@audit_app.command()
def search(
    query: Annotated[str, typer.Argument(help='Words, "a phrase", or -excluded.')],
    run_id: Annotated[
        str | None, typer.Option("--run", help="Only this run.", callback=plain_name)
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 20,
    as_json: ReadJsonOption = False,
) -> None:
    """Full-text search over every run's events.

    With --json: a list of objects with run_id, seq, kind, actor, at and snippet.
    """
    from rich.table import Table

    with common.session() as factory:
        hits = factory.search_audit(query, run_id=run_id, limit=limit)
    if as_json:
        documents.print_json(hits)
        return
    if not hits:
        common.console.print("no events match")
        return
    table = Table(
        "run", "#", "kind", "actor", "at (UTC)", "match", title=f"audit events matching {query!r}"
    )
    for hit in hits:
        table.add_row(
            hit.run_id, str(hit.seq), hit.kind, hit.actor, f"{hit.at:%Y-%m-%d %H:%M}", hit.snippet
        )
    common.console.print(table)
