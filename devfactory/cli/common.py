"""Shared pieces of the CLI: the app, consoles, exit codes, options, the factory."""

from __future__ import annotations

import getpass
import sys
from enum import StrEnum
from typing import Annotated, Any

import typer
from rich.console import Console

from devfactory.settings import Settings

EXIT_FAILED, EXIT_USAGE, EXIT_NOT_FOUND, EXIT_ENV, EXIT_BUG = 1, 2, 3, 4, 5
EXIT_PAUSED, EXIT_INTERRUPTED = 6, 130

app = typer.Typer(
    name="devfactory",
    help="A self-hosted AI software factory: requirement in, reviewed artifacts out.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
console = Console()
err = Console(stderr=True)

AsOption = Annotated[
    str | None, typer.Option("--as", help="Who answers (default: DEVFACTORY_OPERATOR or $USER).")
]
RoleOption = Annotated[
    str | None, typer.Option("--role", help="The role you answer as (default: operator_role).")
]
IdOption = Annotated[
    str | None, typer.Option("--id", help="Which pending question (id prefix), if several.")
]
KindOption = Annotated[
    str | None, typer.Option("--kind", help="Which kind of pending question, if several.")
]
InputOption = Annotated[
    bool,
    typer.Option(
        "--input/--no-input", help="Ask pending questions inline when on a terminal (default on)."
    ),
]


class GraphFormat(StrEnum):
    """Output formats of ``devfactory graph``."""

    mermaid = "mermaid"
    png = "png"


def fail(message: str, code: int) -> typer.Exit:
    """Print an error and return the exit to raise."""
    err.print(f"[bold red]error:[/] {message}", soft_wrap=True)
    return typer.Exit(code)


def open_factory(settings: Settings) -> Any:
    """Open the factory (database, checkpointer); exit 4 when the database is unavailable."""
    from devfactory.runner import Factory
    from devfactory.store.db import DatabaseError, describe_database

    try:
        factory = Factory(settings)
    except DatabaseError as exc:
        raise fail(str(exc), EXIT_ENV) from exc
    err.print(f"[dim]database: {describe_database(settings)}[/]")
    return factory


def identity(settings: Settings, by: str | None, role: str | None) -> tuple[str, str]:
    """Return who answers and in which role (flags, then settings, then the OS user)."""
    return by or settings.operator or getpass.getuser(), role or settings.operator_role


def interactive(enabled: bool) -> bool:
    """Say whether to ask questions inline: asked for, and on a terminal both ways."""
    return enabled and sys.stdin.isatty() and console.is_terminal
