"""``devfactory memory``: search, describe and re-embed the live memory banks."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from devfactory.cli import common
from devfactory.cli.common import EXIT_NOT_FOUND, EXIT_USAGE, app, console, fail
from devfactory.settings import get_settings

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
        str, typer.Argument(help="e.g. team:backend-engineering or facts:backend-engineering")
    ],
    query: Annotated[str, typer.Argument(help="What to look for, in plain words.")],
    k: Annotated[int, typer.Option("-k", min=1, max=100, help="How many.")] = 10,
    threshold: Annotated[float, typer.Option(min=-1.0, max=1.0)] = 0.0,
) -> None:
    """Show the memories of a bank closest in meaning to the query."""
    from devfactory.memory.live import EmbedderMismatchError

    factory = common.open_factory(get_settings())
    try:
        facts = factory.memory.facts
        if bank.startswith("facts:"):
            if facts is None:
                raise fail("fact memory is off (DEVFACTORY_FACT_MEMORY=false)", EXIT_USAGE)
            found = facts.search(bank.removeprefix("facts:"), query, k=k, threshold=threshold)
        else:
            found = factory.memory.live.recall([bank], query, k=k, threshold=threshold)
    except EmbedderMismatchError as exc:
        raise fail(str(exc), EXIT_USAGE) from exc
    finally:
        factory.close()
    if not found:
        console.print(f"nothing in {bank} matches")
        return
    table = Table(title=f"{bank}: {query!r}")
    for col in ("score", "kind", "memory", "from"):
        table.add_column(col)
    for m in found:
        source = ", ".join(f"{k}={v}" for k, v in m.provenance.items() if k in ("run", "team"))
        table.add_row(f"{m.score:.3f}", m.kind, m.text, source)
    console.print(table)


@memory_app.command()
def stats() -> None:
    """List every bank with its embedder, dimension and what it holds."""
    factory = common.open_factory(get_settings())
    try:
        banks = factory.memory.live.stats()
        embedder = factory.memory.live.embedder
        facts = factory.memory.facts
        fact_counts = facts.counts() if facts is not None else {}
    finally:
        factory.close()
    table = Table(title=f"memory banks (embedding with {embedder.name}, {embedder.dims} dims)")
    for col in ("bank", "embedder", "dims", "memories", "by kind"):
        table.add_column(col)
    for b in banks:
        kinds = ", ".join(f"{k} {n}" for k, n in sorted(b.kinds.items()))
        table.add_row(b.bank, b.embedder, str(b.dims), str(b.memories), kinds)
    if facts is not None:
        for team, n in fact_counts.items():
            table.add_row(f"facts:{team}", embedder.name, str(embedder.dims), str(n), f"fact {n}")
    console.print(table)
    if facts is not None:
        console.print(f"team facts (mem0) are in table {facts.collection}")


@memory_app.command()
def reindex(bank: Annotated[str, typer.Argument(help="The bank to re-embed.")]) -> None:
    """Re-embed a bank with the embedder in use now (after switching embedders)."""
    factory = common.open_factory(get_settings())
    try:
        count = factory.memory.live.reindex(bank)
        embedder = factory.memory.live.embedder
    except LookupError as exc:
        raise fail(str(exc), EXIT_NOT_FOUND) from exc
    finally:
        factory.close()
    console.print(
        f"re-embedded {count} memories of {bank} with {embedder.name} ({embedder.dims} dims)"
    )
