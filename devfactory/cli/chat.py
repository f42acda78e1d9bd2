"""``devfactory chat`` and ``devfactory users``: the chat, who may sign in, and their sign-ins."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated

import typer

from devfactory.cli import common, documents
from devfactory.cli.common import EXIT_NOT_FOUND, EXIT_USAGE, app, fail, get_settings
from devfactory.cli.documents import ReadJsonOption

if TYPE_CHECKING:
    from devfactory.settings import Settings
    from devfactory.store.sessions import SessionStore

users_app = typer.Typer(help="People who may sign in to the chat, and their roles.")
app.add_typer(users_app, name="users", rich_help_panel="Chat")


@app.command(rich_help_panel="Chat")
def chat(
    host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
    port: Annotated[int | None, typer.Option(min=1, max=65535, help="Port.")] = None,
) -> None:
    """Serve the chat (Chainlit) until Ctrl-C: the factory, each team, group chat, Q&A."""
    from devfactory.chat import serve
    from devfactory.users import UserStore

    settings = get_settings()
    store = UserStore.of(settings)
    if not store.people() and not settings.service.chat_header_auth:
        raise fail(
            "nobody may sign in yet: add someone with "
            "`devfactory users add <name> --role approver`",
            EXIT_USAGE,
        )
    from devfactory.chat.guard import chat_origins

    host, port = host or settings.service.chat_host, port or settings.service.chat_port
    common.console.print(f"devfactory chat on http://{host}:{port} (Ctrl-C stops it)")
    common.console.print(
        "open it at "
        + " or ".join(chat_origins(settings, host, port))
        + " (pages from elsewhere are refused; set chat_public_origin behind a proxy)"
    )
    with common.database_needed():  # the signing secret and the runs live in the database
        serve(settings, host=host, port=port)


@users_app.command("add")
def add_user(
    name: Annotated[str, typer.Argument(help="The sign-in name.", callback=common.plain_name)],
    role: Annotated[
        str, typer.Option(help="viewer, operator, reviewer, approver or admin.")
    ] = "operator",
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from stdin.")
    ] = False,
) -> None:
    """Add someone (or change their password and role).

    A password has at least 12 characters and must not be easy to guess (common
    passwords, names, words and keyboard patterns are refused).
    """
    from devfactory.users import UserError, UserStore

    settings = get_settings()
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    elif not sys.stdin.isatty():  # no terminal to ask on: say how, not getpass's warning
        raise fail(
            "no terminal to ask the password on: give it on standard input with "
            f"--password-stdin (devfactory users add {name} --password-stdin < file)",
            EXIT_USAGE,
        )
    else:
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    try:
        person = UserStore.of(settings).add(name, password, role)
    except UserError as exc:
        raise fail(str(exc), EXIT_USAGE) from exc
    common.console.print(f"{person.name} may sign in as {person.role}")


@users_app.command("list")
def list_users(as_json: ReadJsonOption = False) -> None:
    """List who may sign in, with their roles.

    With --json: a list of objects with name and role.
    """
    from rich.table import Table

    from devfactory.users import UserStore

    settings = get_settings()
    people = UserStore.of(settings).people()
    if as_json:
        documents.print_json([{"name": p.name, "role": p.role} for p in people])
        return
    table = Table("name", "role")
    for person in people:
        table.add_row(person.name, person.role)
    common.console.print(table)


def end_console_sign_ins(settings: Settings, ending: Callable[[SessionStore], int]) -> int | None:
    """End console sign-ins with ``ending`` (on the sign-in store); return how many ended.

    None: the factory has no database yet (no ``DATABASE_URL``, no embedded
    Postgres made under the data directory), so nobody ever signed in to the
    console, and no Postgres is started for nothing. A database that cannot be
    reached exits 4: the caller must not believe that the sign-ins ended.
    """
    if not settings.storage.database_url and not (settings.storage.data_dir / "pg").exists():
        return None
    from devfactory.store.db import open_pool, prepare
    from devfactory.store.sessions import SessionStore

    with common.database_needed("console sign-ins were not ended: "):
        database = prepare(settings)  # the sign-ins' table exists, whatever version made it
        pool = open_pool(
            database.dsn, max_size=1, timeout=settings.storage.database_connect_timeout_s
        )
    with common.answering(pool.close):
        return ending(SessionStore(pool))


@users_app.command("remove")
def remove_user(
    name: Annotated[str, typer.Argument(help="The sign-in name.", callback=common.plain_name)],
) -> None:
    """Remove someone, and end their console sign-ins."""
    from devfactory.users import UserStore

    settings = get_settings()
    if not UserStore.of(settings).remove(name):
        raise fail(f"no user {name!r}", EXIT_NOT_FOUND)
    # their sign-ins already act for nobody (the file is read on every request); ending
    # them means one made before does not come back if the name is given to someone again
    ended = end_console_sign_ins(settings, lambda store: store.end_person(name))
    common.console.print(
        f"{name} removed" + (f"; {ended} console sign-in(s) ended" if ended else "")
    )


@users_app.command("unlock")
def unlock_user(
    name: Annotated[str, typer.Argument(help="The sign-in name.", callback=common.plain_name)],
    address: Annotated[
        str | None,
        typer.Option(
            help="Also clear this client address's lock (a flood from it).",
            callback=common.plain_name,
        ),
    ] = None,
    by: common.AsOption = None,
    role: common.RoleOption = None,
) -> None:
    """Clear a name's sign-in locks (chat and console), at every address (admin; audited)."""
    from devfactory.control.overrides import ADMIN

    settings = get_settings()
    who = common.identity(settings, by, role)
    common.require_role(settings, who, ADMIN, "unlock a sign-in")
    with common.session() as factory:
        cleared = factory.switchboard.unlock_sign_in(name, by=who[0], role=who[1], address=address)
    common.console.print(
        f"{name} may sign in again" + ("" if cleared else " (no lock or failure was counted)")
    )


@users_app.command("rotate-secret")
def rotate_secret() -> None:
    """Replace the chat's signing secret and end every console sign-in; people sign in again."""
    from devfactory.chat.secret import rotate

    settings = get_settings()
    path = rotate(settings)
    common.console.print(
        f"replaced {path}: every chat sign-in is revoked; people sign in again. "
        "(A chat whose environment sets CHAINLIT_AUTH_SECRET keeps that secret: "
        "change it there and restart the chat.)"
    )
    ended = end_console_sign_ins(settings, lambda store: store.end_all())
    if ended is not None:
        common.console.print(f"every console sign-in ended ({ended}); people sign in again")
