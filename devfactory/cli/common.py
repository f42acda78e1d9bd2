"""Shared pieces of the CLI: the app, consoles, exit codes, options, the factory.

The CLI starts light: this module and every command module import only typer
and the standard library at the top, and each command imports what it needs
when it runs. ``devfactory --help`` loads no settings, no database driver and
no rich; ``list``, ``status`` and ``pending`` never load LangChain, the models
or the graph (``tests/unit/test_cli_light.py`` holds both). The consoles are
made on first use (``console``, ``err``).

Why one module: it is what every command shares (the app, the options declared
once, the exit codes, and how the factory and the database are opened and their
failures said in one line); split, every command module would import from each
part, and tests replace ``open_factory`` here for all of them.
"""

from __future__ import annotations

import getpass
import importlib.util
import logging
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperCommand, TyperGroup

from devfactory.control.ceilings import MAX_COST_USD, MAX_PROJECT_CHARS, MAX_TOKENS

if TYPE_CHECKING:
    from devfactory.cli.terminal import SafeConsole
    from devfactory.factory.reads import RunReads
    from devfactory.settings import Settings

    console: SafeConsole  # standard output, made on first use (module ``__getattr__``)
    err: SafeConsole  # standard error

EXIT_FAILED, EXIT_USAGE, EXIT_NOT_FOUND, EXIT_ENV, EXIT_BUG = 1, 2, 3, 4, 5
EXIT_PAUSED, EXIT_CONFLICT, EXIT_HELD, EXIT_INTERRUPTED = 6, 7, 8, 130
EXIT_CODES = (
    "Exit codes: 0 the run COMPLETED (or the command succeeded); 1 the run FAILED, was "
    "REJECTED or CANCELLED; 2 bad usage, or an answer the pause does not accept; 3 no such "
    "run; 4 the database or the model is unavailable; 5 unexpected error (resume the run); "
    "6 the run is PAUSED for a person (devfactory pending); 7 another process drives the run "
    "or claimed it first; 8 the run is held (the emergency stop, or a hold or an incident on "
    "its project): it waits in the queue until that is released; 130 interrupted (resume it)."
)
"""What each exit code means: the CLI's help ends with it, and the README has it as a table."""


class PanelGroup(TyperGroup):
    """A command group whose plain help lists its commands under their panels' titles."""

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        """Write one section per help panel ("Runs", "Service"...), in the commands' order."""
        shown = [
            (name, command)
            for name in self.list_commands(ctx)
            if (command := self.get_command(ctx, name)) is not None and not command.hidden
        ]
        panels: dict[str, list[tuple[str, Any]]] = {}
        for name, command in shown:
            panels.setdefault(getattr(command, "rich_help_panel", None) or "Commands", []).append(
                (name, command)
            )
        for title, commands in panels.items():
            limit = formatter.width - 6 - max(len(name) for name, _ in commands)
            with formatter.section(title):
                formatter.write_dl([(n, c.get_short_help_str(limit)) for n, c in commands])


app = typer.Typer(
    cls=PanelGroup,
    name="devfactory",
    help="A self-hosted AI software factory: requirement in, reviewed artifacts out.",
    epilog=EXIT_CODES,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain help: typer's rich help alone loads ~0.3 s of modules
)
log = logging.getLogger(__name__)


@cache
def _consoles() -> tuple[SafeConsole, SafeConsole]:
    from devfactory.cli.terminal import SafeConsole

    return SafeConsole(), SafeConsole(stderr=True)


def __getattr__(name: str) -> Any:
    """Make ``console`` (standard output) and ``err`` (standard error) on first use."""
    if name == "console":
        return _consoles()[0]
    if name == "err":
        return _consoles()[1]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def get_settings() -> Settings:
    """Return the process's settings (``devfactory.settings``, loaded on first use)."""
    from devfactory import settings

    return settings.get_settings()


def pipeline_names() -> tuple[str, ...]:
    """Name every packaged pipeline, from its file names (nothing is imported)."""
    spec = importlib.util.find_spec("devfactory.pipelines")
    folders = spec.submodule_search_locations if spec is not None else None
    return tuple(sorted(p.stem for folder in folders or () for p in Path(folder).glob("*.yaml")))


class LogFormat(StrEnum):
    """How log lines are written (``--log-format``)."""

    text = "text"
    json = "json"


def plain_name(param: typer.CallbackParam, value: Any) -> Any:
    """Refuse (exit 2, saying why) a name given with a control or invisible character.

    A name a person types (a project, a person, a pipeline, a team, a run or a
    question id) is written into logs, records and the audit log on one line:
    ``shown.name_problem`` is the rule, which the API's schemas apply too.
    """
    from devfactory.shown import name_problem

    problem = name_problem(value, "the name") if isinstance(value, str) else None
    if problem is not None:
        raise typer.BadParameter(problem)
    return value


def project_name(param: typer.CallbackParam, value: Any) -> Any:
    """Refuse (exit 2, saying why) a project's name the API would refuse.

    The same rule as every name (``plain_name``) and the API's length: 1 to
    ``MAX_PROJECT_CHARS`` characters. A longer project made here could never
    be named to the API, whose filters and routes take no more.
    """
    value = plain_name(param, value)
    if isinstance(value, str) and not 1 <= len(value) <= MAX_PROJECT_CHARS:
        raise typer.BadParameter(
            f"a project's name has 1 to {MAX_PROJECT_CHARS} characters (as the API takes "
            f"it), not {len(value):,}"
        )
    return value


def name_option(*names: str, help: str) -> Any:
    """Return an option that takes a name (``plain_name`` checks it)."""
    return typer.Option(*names, help=help, callback=plain_name)


AsOption = Annotated[
    str | None, name_option("--as", help="Who answers (default: DEVFACTORY_OPERATOR or $USER).")
]
RoleOption = Annotated[
    str | None,
    name_option(
        "--role",
        help="The role you act in when the users file does not list you (default: "
        "operator_role); a person it lists acts in the role it gives them.",
    ),
]
IdOption = Annotated[
    str | None,
    name_option(
        "--id", help="The pending question you answer: its id, or 6+ characters of it (required)."
    ),
]
KindOption = Annotated[
    str | None, name_option("--kind", help="The kind of question --id names (checked, if given).")
]
TokensOption = Annotated[
    int | None, typer.Option(min=1, max=MAX_TOKENS, help="A token cap for the run.")
]
CostOption = Annotated[
    float | None,
    typer.Option(min=0.000001, max=MAX_COST_USD, help="A cost cap for the run (USD)."),
]
PipelineOption = Annotated[str, name_option(help="Pipeline: " + ", ".join(pipeline_names()))]
ProjectOption = Annotated[
    str, typer.Option(help="Project the run belongs to.", callback=project_name)
]
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
    json = "json"


@cache
def database_down_errors() -> tuple[type[BaseException], ...]:
    """Return what a database that is not there raises (exit 4, never a traceback).

    ``DatabaseError`` (it could not be reached or started), and what a
    connection that stopped answering raises.
    """
    import psycopg
    from psycopg_pool import PoolTimeout

    from devfactory.store.db import DatabaseError

    return (DatabaseError, psycopg.OperationalError, psycopg.InterfaceError, PoolTimeout)


def database_down(exc: BaseException) -> str:
    """Say in one line that the database is not there, why, and how to mend it."""
    from devfactory.redact import redact
    from devfactory.store.db import DatabaseError

    first = redact((str(exc).strip().splitlines() or [type(exc).__name__])[0])
    said = first if isinstance(exc, DatabaseError) else f"the database is unavailable: {first}"
    return f"{said}; {database_fix()}"


def database_fix() -> str:
    """Say how to mend a database that is not there: where it was looked for, what to set."""
    settings = get_settings()
    if settings.storage.database_url:
        return (
            "start the Postgres that DATABASE_URL names, or set DATABASE_URL to one that "
            "answers (unset, the factory runs its own under DEVFACTORY_DATA_DIR)"
        )
    return (
        f"the embedded Postgres runs in {settings.storage.data_dir / 'pg'}: check that "
        "DEVFACTORY_DATA_DIR is writable, or set DATABASE_URL to a Postgres that answers"
    )


@contextmanager
def database_needed(doing: str = "") -> Iterator[None]:
    """Exit 4 with one line (what failed, how to mend it) when the database is not there.

    The one handler every command that opens the database goes through;
    ``doing`` says what was left undone ("console sign-ins were not ended: ").
    """
    try:
        yield
    except database_down_errors() as exc:
        raise fail(doing + database_down(exc), EXIT_ENV) from exc


def identity(settings: Settings, by: str | None, role: str | None) -> tuple[str, str]:
    """Return who acts and in which role; exit 2 when the users file says otherwise.

    The name is ``--as``/``--by``, else the ``operator`` setting, else the OS
    user. A person of the users file acts in the role the file gives them, so no
    record names a role nobody has: a ``--role`` that differs is refused. A name
    given (flag or setting) that the file lacks is refused while the file lists
    anyone. Otherwise (no users file, or the OS user outside it) the role is
    ``--role``, else ``operator_role``.
    """
    from devfactory.shown import with_article
    from devfactory.users import UserError, UserStore

    named = by or settings.runs.operator
    name = named or getpass.getuser()
    store = UserStore.of(settings)
    try:
        person, listed = store.find(name), bool(store.people())
    except (UserError, OSError) as exc:
        raise fail(f"the users file cannot be read: {exc}", EXIT_ENV) from exc
    if person is not None:
        if role and role != person.role:
            raise fail(
                f"{name} is {with_article(person.role)} in {store.path}, not "
                f"{with_article(role)}: leave --role out (change a role with "
                "`devfactory users add`)",
                EXIT_USAGE,
            )
        return name, person.role
    if named and listed:
        raise fail(
            f"{name} is not in the users file ({store.path}): act as someone who is "
            f"(--as NAME), or add them (`devfactory users add {name} --role ROLE`)",
            EXIT_USAGE,
        )
    return name, role or settings.runs.operator_role


def require_role(settings: Settings, who: tuple[str, str], needed: str, what: str) -> None:
    """Exit 2 before anything opens unless ``who`` acts in role ``needed``, saying how to.

    The factory refuses such a command anyway; here the refusal also says how
    this CLI chooses who acts (``identity``): a person of the users file acts
    in the role it gives them, so it takes another of its people (``--as``);
    anyone else takes ``--role`` or the ``operator_role`` setting.
    """
    from devfactory.shown import with_article
    from devfactory.users import UserStore

    name, role = who
    if role == needed:
        return
    store = UserStore.of(settings)
    people = store.people()
    holders = ", ".join([p.name for p in people if p.role == needed][:5])  # a few to name
    others = (
        f"act as one of its {needed}s with --as NAME ({holders})"
        if holders
        else f"it lists no {needed}: add one (`devfactory users add NAME --role {needed}`) "
        "and act as them with --as NAME"
    )
    if store.find(name) is not None:
        how = f"{name} is {with_article(role)} in {store.path}, and acts in that role: {others}"
    else:
        how = (
            f"acting as {name} in the role {role!r}; give --role {needed}, or set "
            f"DEVFACTORY_OPERATOR_ROLE={needed} (the operator_role setting)"
        )
        if people:
            how += f", or, as a person of {store.path}, {others}"
    raise fail(f"role {role!r} may not {what}; it needs {needed}: {how}", EXIT_USAGE)


def interactive(enabled: bool) -> bool:
    """Say whether to ask questions inline: asked for, and on a terminal both ways."""
    return enabled and sys.stdin.isatty() and _consoles()[0].is_terminal


def fail(message: str, code: int) -> typer.Exit:
    """Print an error (a JSON log line where the process logs JSON) and return the exit to raise."""
    if os.environ.get("DEVFACTORY_LOG_FORMAT") == "json":  # the CLI callback sets it
        logging.getLogger("devfactory.cli").error(message, extra={"exit_code": code})
    else:
        from devfactory.cli.terminal import styled

        _consoles()[1].print(styled("error:", "bold red"), message, soft_wrap=True)
    return typer.Exit(code)


def require_tools() -> None:
    """Exit 4, naming each one, when a program the gates run is not installed.

    ``run``, ``resume``, the answers that drive a run on, ``worker`` and ``serve``
    call it first: a gate whose tool is missing would pass what it never checked
    (``checks/gate_tools.py``).
    """
    from devfactory.checks.gate_tools import missing_message, missing_tools

    missing = missing_tools()
    if missing:
        raise fail(missing_message(missing), EXIT_ENV)


def require_models(factory: Any) -> None:
    """Exit 4 when the embedded model's server cannot start and no other model serves.

    ``driving.drive`` calls it (for ``run``, ``resume``, ``demo`` and the
    answers that drive a run on) with the factory it drives the run with,
    before the run's first stage: its router starts the servers
    (``ModelRouter.start_servers``); any other model source (a models factory:
    a scripted model, a plugin) has none to start.
    """
    source = getattr(factory, "model_source", None)
    start = getattr(source(), "start_servers", None) if callable(source) else None
    problem = start() if callable(start) else None
    if problem:
        raise fail(str(problem), EXIT_ENV)


def open_factory(settings: Settings) -> Any:
    """Open the factory (database, checkpointer); exit 4 when the database is unavailable."""
    from devfactory.factory.facade import Factory

    with database_needed():
        factory = Factory(settings)
    say_database(settings)
    return factory


def say_database(settings: Settings) -> None:
    """Say which database a command uses (a log line where the process logs JSON)."""
    from devfactory.cli.terminal import styled
    from devfactory.store.db import describe_database

    where = f"database: {describe_database(settings)}"
    if logs_json(settings):
        log.info(where)  # a log line like every other (shown with --verbose)
    else:
        _consoles()[1].print(styled(where, "dim"))


def logs_json(settings: Settings) -> bool:
    """Say whether this process logs JSON lines, where stderr takes nothing but log lines.

    ``--log-format`` is in the environment (the CLI's callback puts it there for
    what it starts), else the setting says.
    """
    return (os.environ.get("DEVFACTORY_LOG_FORMAT") or settings.storage.log_format) == "json"


def refused(exc: BaseException) -> typer.Exit | None:
    """Print why the factory refused, and return the exit it ends the command with.

    None: ``exc`` is no refusal but a fault, to go on up as it is.
    """
    from devfactory.factory.refusals import Refusal, refusal

    kind = refusal(exc)
    if kind is None:
        return None
    code = {Refusal.NOT_FOUND: EXIT_NOT_FOUND, Refusal.BUSY: EXIT_CONFLICT, Refusal.HELD: EXIT_HELD}
    return fail(str(exc), code.get(kind, EXIT_USAGE))  # any other refusal: bad usage


@contextmanager
def answering(close: Callable[[], None]) -> Iterator[None]:
    """Run a command's reads and writes: a refusal exits with its kind's code, why printed.

    A missing run exits 3, a run the emergency stop (or its project's hold)
    refuses 8, one another process drives 7, any other refusal 2 (``refused``);
    a database gone exits 4. ``close`` runs at the end, whatever happened; a
    pool whose server went away fails to close, and must not hide why the
    command stopped.
    """
    try:
        yield
    except database_down_errors() as exc:
        raise fail(database_down(exc), EXIT_ENV) from exc  # as ``database_needed``
    except Exception as exc:
        if (exit_ := refused(exc)) is None:
            raise
        raise exit_ from exc
    finally:
        try:
            close()
        except database_down_errors():
            pass


@contextmanager
def session() -> Iterator[Any]:
    """Open the factory for one command, and close it; a run that does not exist exits 3."""
    factory = open_factory(get_settings())
    with answering(factory.close):
        yield factory


@contextmanager
def reading() -> Iterator[RunReads]:
    """Open the run records for a read (``list``, ``status``, ``pending``): no graph, no models.

    Only the database is opened. A run recorded before views existed has its
    view built from its checkpoint, by the whole factory, opened for it alone.
    """
    from devfactory.factory.reads import RunReads
    from devfactory.store.db import open_pool, prepare
    from devfactory.store.runs_table import RunStore
    from devfactory.store.views import RunView

    settings = get_settings()
    with database_needed():
        database = prepare(settings)
        pool = open_pool(
            database.dsn, max_size=2, timeout=settings.storage.database_connect_timeout_s
        )
    say_database(settings)
    whole: list[Any] = []

    def from_checkpoint(row: Any) -> RunView:
        if not whole:
            whole.append(open_factory(settings))
        built: RunView = whole[0].view_from_checkpoint(row)
        return built

    def close() -> None:
        for factory in whole:
            factory.close()
        pool.close()

    with answering(close):
        yield RunReads(RunStore(pool), missing=from_checkpoint)
