"""Shared pieces of the CLI: the app, consoles, exit codes, options, the factory."""

from __future__ import annotations

import getpass
import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Annotated, Any

import psycopg
import typer
from psycopg_pool import PoolTimeout
from typer.core import TyperCommand

from devfactory.console import SafeConsole, styled
from devfactory.control.budget import MAX_COST_USD, MAX_TOKENS
from devfactory.pipelines import available_pipelines
from devfactory.settings import Settings, get_settings

EXIT_FAILED, EXIT_USAGE, EXIT_NOT_FOUND, EXIT_ENV, EXIT_BUG = 1, 2, 3, 4, 5
EXIT_PAUSED, EXIT_CONFLICT, EXIT_INTERRUPTED = 6, 7, 130

app = typer.Typer(
    name="devfactory",
    help="A self-hosted AI software factory: requirement in, reviewed artifacts out.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
console = SafeConsole()
err = SafeConsole(stderr=True)
log = logging.getLogger(__name__)

AsOption = Annotated[
    str | None, typer.Option("--as", help="Who answers (default: DEVFACTORY_OPERATOR or $USER).")
]
RoleOption = Annotated[
    str | None, typer.Option("--role", help="The role you answer as (default: operator_role).")
]
IdOption = Annotated[
    str | None,
    typer.Option(
        "--id", help="The pending question you answer: its id, or 6+ characters of it (required)."
    ),
]
KindOption = Annotated[
    str | None,
    typer.Option("--kind", help="The kind of question --id names (checked, if given)."),
]
TokensOption = Annotated[
    int | None, typer.Option(min=1, max=MAX_TOKENS, help="A token cap for the run.")
]
CostOption = Annotated[
    float | None,
    typer.Option(min=0.000001, max=MAX_COST_USD, help="A cost cap for the run (USD)."),
]
PipelineOption = Annotated[str, typer.Option(help="Pipeline: " + ", ".join(available_pipelines()))]
ProjectOption = Annotated[str, typer.Option(help="Project the run belongs to.")]
OutOption = Annotated[
    Path | None,
    typer.Option(help="Output folder (default <data_dir>/runs/<run-id>, or runs_dir's when set)."),
]
UnattendedOption = Annotated[
    bool | None,
    typer.Option(
        "--unattended/--attended",
        help="Answer every pause by the policy's unattended rules (default: the "
        "unattended setting); only a governance approval of a project nobody "
        "pre-approved still waits for a person.",
    ),
]
InputOption = Annotated[
    bool,
    typer.Option(
        "--input/--no-input", help="Ask pending questions inline when on a terminal (default on)."
    ),
]
JsonOption = Annotated[
    bool,
    typer.Option(
        "--json",
        help="Print the run's report as one JSON object on stdout (progress on stderr, no "
        "inline questions); the exit code is the same.",
    ),
]


@dataclass(frozen=True)
class Answerer:
    """Who answers a pause, which question, and whether to go on asking inline."""

    by: str | None
    role: str | None
    interrupt_id: str | None
    kind: str | None
    interactive: bool


_answer_options = typer.Typer(add_completion=False)


@_answer_options.command()
def _answerer(
    by: AsOption = None,
    role: RoleOption = None,
    interrupt_id: IdOption = None,
    kind: KindOption = None,
    interactive: InputOption = True,
) -> None:
    """Declare, once, the options every command that answers a pause takes."""


@cache
def _answer_params() -> tuple[Any, ...]:
    """Return the answer options as click parameters (typer builds them from ``_answerer``)."""
    return tuple(typer.main.get_command(_answer_options).params)


class AnswerCommand(TyperCommand):
    """A command that answers a pause: it takes the ``Answerer`` options besides its own.

    Their values are taken out of the command's parameters before it runs and
    handed to it as ``answerer(ctx)``.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.params.extend(_answer_params())

    def invoke(self, ctx: Any) -> Any:
        """Set the shared options aside as an ``Answerer``, then run the command."""
        shared = {p.name: ctx.params.pop(p.name) for p in _answer_params()}
        ctx.meta["answerer"] = Answerer(**shared)
        return super().invoke(ctx)


def answerer(ctx: typer.Context) -> Answerer:
    """Return the shared answer options of the running ``AnswerCommand``."""
    found: Answerer = ctx.meta["answerer"]
    return found


class GraphFormat(StrEnum):
    """Output formats of ``devfactory graph``."""

    mermaid = "mermaid"
    png = "png"
    dot = "dot"


# What a database that stopped answering raises (exit 4, never a traceback).
DATABASE_DOWN = (psycopg.OperationalError, psycopg.InterfaceError, PoolTimeout)


def database_down(exc: BaseException) -> str:
    """Say in one line that the database stopped answering, and why."""
    from devfactory.redact import redact

    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return f"the database is unavailable: {redact(first)}"


def identity(settings: Settings, by: str | None, role: str | None) -> tuple[str, str]:
    """Return who answers and in which role (flags, then settings, then the OS user)."""
    return by or settings.operator or getpass.getuser(), role or settings.operator_role


def interactive(enabled: bool) -> bool:
    """Say whether to ask questions inline: asked for, and on a terminal both ways."""
    return enabled and sys.stdin.isatty() and console.is_terminal


def fail(message: str, code: int) -> typer.Exit:
    """Print an error (a JSON log line where the process logs JSON) and return the exit to raise."""
    if os.environ.get("DEVFACTORY_LOG_FORMAT") == "json":  # the CLI callback sets it
        logging.getLogger("devfactory.cli").error(message, extra={"exit_code": code})
    else:
        err.print(styled("error:", "bold red"), message, soft_wrap=True)
    return typer.Exit(code)


def open_factory(settings: Settings) -> Any:
    """Open the factory (database, checkpointer); exit 4 when the database is unavailable."""
    from devfactory.runner import Factory
    from devfactory.store.db import DatabaseError, describe_database

    try:
        factory = Factory(settings)
    except DatabaseError as exc:
        raise fail(str(exc), EXIT_ENV) from exc
    except DATABASE_DOWN as exc:
        raise fail(database_down(exc), EXIT_ENV) from exc
    where = f"database: {describe_database(settings)}"
    if logs_json(settings):
        log.info(where)  # a log line like every other (shown with --verbose)
    else:
        err.print(styled(where, "dim"))
    return factory


def logs_json(settings: Settings) -> bool:
    """Say whether this process logs JSON lines, where stderr takes nothing but log lines.

    ``--log-format`` is in the environment (the CLI's callback puts it there for
    what it starts), else the setting says.
    """
    return (os.environ.get("DEVFACTORY_LOG_FORMAT") or settings.log_format) == "json"


@contextmanager
def session() -> Iterator[Any]:
    """Open the factory for one command, and close it; a run that does not exist exits 3."""
    from devfactory.runner import RunNotFoundError

    factory = open_factory(get_settings())
    try:
        yield factory
    except RunNotFoundError as exc:
        raise fail(str(exc), EXIT_NOT_FOUND) from exc
    except DATABASE_DOWN as exc:
        raise fail(database_down(exc), EXIT_ENV) from exc
    finally:
        try:
            factory.close()
        except DATABASE_DOWN:  # closing a pool whose server went away must not mask why
            pass
