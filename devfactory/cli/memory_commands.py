"""``devfactory memory``: search, describe and re-embed the live memory banks."""

from __future__ import annotations

from typing import Annotated

import typer

from devfactory.cli import common, documents
from devfactory.cli.common import (
    EXIT_NOT_FOUND,
    EXIT_USAGE,
    app,
    fail,
    plain_name,
)
from devfactory.cli.documents import ReadJsonOption

memory_app = typer.Typer(
    help=(
        "Memory banks: team:<slug>, project:<name>, factory-shared-world (live memory) "
        "and facts:<slug> (each team's mem0 facts)."
    )
)
app.add_typer(memory_app, name="memory", rich_help_panel="Records")


@memory_app.command()
def search(
    bank: Annotated[
        str,
        typer.Argument(
            help="e.g. team:backend-engineering or facts:backend-engineering",
            callback=plain_name,
        ),
    ],
    query: Annotated[str, typer.Argument(help="What to look for, in plain words.")],
    k: Annotated[int, typer.Option("-k", min=1, max=100, help="How many.")] = 10,
    threshold: Annotated[float, typer.Option(min=-1.0, max=1.0)] = 0.0,
    as_json: ReadJsonOption = False,
) -> None:
    """Show the memories of a bank closest in meaning to the query.

    With --json: a list of objects with bank, kind, text, provenance and score.
    """
    from rich.table import Table

    from devfactory.memory.live import EmbedderMismatchError
    from devfactory.memory.service import FactMemoryOffError

    with common.session() as factory:
        try:
            found = factory.search_memory(bank, query, k=k, threshold=threshold)
        except (EmbedderMismatchError, FactMemoryOffError) as exc:
            raise fail(str(exc), EXIT_USAGE) from exc
    if as_json:
        documents.print_json(found)
        return
    if not found:
        common.console.print(f"nothing in {bank} matches")
        return
    table = Table("score", "kind", "memory", "from", title=f"{bank}: {query!r}")
    for m in found:
        source = ", ".join(f"{k}={v}" for k, v in m.provenance.items() if k in ("run", "team"))
        table.add_row(f"{m.score:.3f}", m.kind, m.text, source)
    common.console.print(table)


@memory_app.command()
def stats(as_json: ReadJsonOption = False) -> None:
    """List every bank with its embedder, dimension and what it holds.

    With --json: one object with embedder, dims, banks (each bank, embedder,
    dims, memories and kinds), facts (each team's count) and facts_table.
    """
    from rich.table import Table

    with common.session() as factory:
        held = factory.memory_stats()
    if as_json:
        documents.print_json(held)
        return
    table = Table(title=f"memory banks (embedding with {held.embedder}, {held.dims} dims)")
    for col in ("bank", "embedder", "dims", "memories", "by kind"):
        table.add_column(col)
    for b in held.banks:
        kinds = ", ".join(f"{k} {n}" for k, n in sorted(b.kinds.items()))
        table.add_row(b.bank, b.embedder, str(b.dims), str(b.memories), kinds)
    for team, n in held.facts.items():
        table.add_row(f"facts:{team}", held.embedder, str(held.dims), str(n), f"fact {n}")
    common.console.print(table)
    if held.facts_table:
        common.console.print(f"team facts (mem0) are in table {held.facts_table}")


@memory_app.command()
def reindex(
    bank: Annotated[str, typer.Argument(help="The bank to re-embed.", callback=plain_name)],
) -> None:
    """Re-embed a bank with the embedder in use now (after switching embedders)."""
    with common.session() as factory:
        try:
            done = factory.reindex_memory(bank)
        except LookupError as exc:
            raise fail(str(exc), EXIT_NOT_FOUND) from exc
    common.console.print(
        f"re-embedded {done.count} memories of {bank} with {done.embedder} ({done.dims} dims)"
    )
