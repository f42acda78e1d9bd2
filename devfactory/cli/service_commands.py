"""Service commands: submit runs to the workers, run a worker, cancel a run."""

from __future__ import annotations

import json
import logging
from typing import Annotated

import typer

from devfactory.cli import common, documents
from devfactory.cli.common import (
    EXIT_ENV,
    EXIT_USAGE,
    AsOption,
    CostOption,
    JsonOption,
    OutOption,
    PipelineOption,
    ProjectOption,
    RoleOption,
    TokensOption,
    UnattendedOption,
    app,
    fail,
    get_settings,
    identity,
    plain_name,
)
from devfactory.cli.documents import ReadJsonOption
from devfactory.cli.requirement_input import RequirementArg, RequirementFileOption, requirement_text

# A worker's own lines (its metrics address, waiting, stopped): log lines, not console
# text, so that under ``--log-format json`` all it writes is JSON. INFO, written whatever
# the root's level unless set elsewhere, as its run-event lines are (``worker.events_log``).
log = logging.getLogger(__name__)


@app.command(rich_help_panel="Service")
def submit(
    requirement: RequirementArg = None,
    file: RequirementFileOption = None,
    pipeline: PipelineOption = "mvp",
    project: ProjectOption = "default",
    budget_tokens: TokensOption = None,
    budget_cost: CostOption = None,
    out: OutOption = None,
    by: AsOption = None,
    role: RoleOption = None,
    unattended: UnattendedOption = None,
    as_json: JsonOption = False,
    repo: Annotated[
        str | None,
        typer.Option(
            "--repo",
            help="Deliver into this existing repository (a path or a URL whose host "
            "repo_allowed_hosts lists): the worker clones it, and the run works on a new "
            "branch devfactory/<run-id>.",
        ),
    ] = None,
    base: Annotated[
        str | None,
        typer.Option("--base", help="The branch to start from (default: the repository's HEAD)."),
    ] = None,
) -> None:
    """Queue a run for the workers (``devfactory worker``) and print its id; nothing runs here.

    The requirement is the argument, or stdin with ``-``, or ``--file PATH``.

    With ``--repo`` the repository is only checked here (no network): the worker
    that claims the run clones it first, and a clone that fails ends the run
    FAILED (``devfactory status`` says so; the worker's log has git's reason).
    """
    from devfactory.cli.terminal import styled
    from devfactory.control.budget import Caps
    from devfactory.factory.intake import StartRequest
    from devfactory.pipelines import PipelineError, load_pipeline

    try:
        load_pipeline(pipeline)
    except PipelineError as exc:
        raise fail(str(exc), EXIT_USAGE) from exc
    if base is not None and repo is None:
        raise fail("--base names a branch of --repo; give --repo too", EXIT_USAGE)
    text = requirement_text(requirement, file)
    who = identity(get_settings(), by, role)
    with common.session() as factory:
        row = factory.submit(
            StartRequest(
                text,
                pipeline=pipeline,
                project=project,
                caps=Caps(tokens=budget_tokens, cost_usd=budget_cost),
                out_dir=out,
                owner=who[0],
                unattended=unattended,
                repo=repo,
                base=base,
            )
        )
    if as_json:
        typer.echo(json.dumps({"run_id": row.run_id, "status": row.shown_status}))
    else:
        common.console.print(styled("QUEUED", "bold cyan"), f"run {row.run_id}")


@app.command(rich_help_panel="Service")
def worker(
    idle_exit: Annotated[
        float | None,
        typer.Option(min=0, help="Stop after this many seconds with nothing to do."),
    ] = None,
    max_runs: Annotated[
        int | None, typer.Option(min=1, help="Stop after driving this many runs.")
    ] = None,
    watchdog: Annotated[
        bool, typer.Option(help="Take part in the watchdog (one worker at a time leads).")
    ] = True,
    metrics_port: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=65535,
            help="Serve Prometheus metrics on this port: the factory's, as the API's "
            "/metrics, and this worker's own.",
        ),
    ] = None,
    metrics_host: Annotated[
        str, typer.Option(help="Where the metrics listen (not exposed beyond it).")
    ] = "127.0.0.1",
) -> None:
    """Claim queued runs and drive them, one at a time, until stopped (SIGTERM or Ctrl-C).

    Start as many as the machine has room for: two workers never drive the
    same run, and a run whose worker died is resumed by another.
    """
    from devfactory.worker import Watchdog, Worker, install_signal_handlers, serve_metrics

    if log.level == logging.NOTSET:
        log.setLevel(logging.INFO)
    common.require_tools()
    with common.session() as factory:
        work = Worker(factory)
        keeper = Watchdog(factory) if watchdog else None
        install_signal_handlers(work, keeper)
        if keeper is not None:
            keeper.start()
        if metrics_port is not None:
            try:
                serve_metrics(work, keeper, host=metrics_host, port=metrics_port)
            except OSError as exc:
                raise fail(f"metrics: {metrics_host}:{metrics_port}: {exc}", EXIT_ENV) from exc
            log.info("metrics on http://%s:%s/", metrics_host, metrics_port)
        log.info("worker %s: waiting for runs", work.name, extra={"worker": work.name})
        try:
            driven = work.run(idle_exit_s=idle_exit, max_runs=max_runs)
        finally:
            if keeper is not None:
                keeper.stop()
                keeper.join(timeout=10)
        log.info(
            "worker %s: stopped after %d run(s)%s",
            work.name,
            driven,
            f" ({work.stopping})" if work.stopping else "",
            extra={"worker": work.name, "runs": driven},
        )


@app.command(rich_help_panel="Service")
def cancel(
    run_id: Annotated[str, typer.Argument(help="The run to stop.", callback=plain_name)],
    by: AsOption = None,
    role: RoleOption = None,
) -> None:
    """Cancel a run: at once if nobody drives it, else at its driver's next step."""
    from devfactory.cli.terminal import styled

    who = identity(get_settings(), by, role)
    with common.session() as factory:
        row = factory.cancel(run_id, by=who[0], role=who[1])
    if row.status == "CANCELLED":
        common.console.print(styled("CANCELLED", "bold red"), f"run {run_id}")
    else:
        common.console.print(
            styled("CANCELLING", "bold yellow"),
            f"run {run_id}: its driver stops at the next step",
        )


@app.command(rich_help_panel="Service")
def serve(
    host: Annotated[
        str | None, typer.Option(help="Address (default: the api_host setting).")
    ] = None,
    port: Annotated[
        int | None, typer.Option(min=1, max=65535, help="Port (default: the api_port setting).")
    ] = None,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            help="Server processes sharing the address (uvicorn's workers); at most the "
            "api_workers_max setting.",
        ),
    ] = 1,
) -> None:
    """Serve the REST API (OpenAPI at /docs); runs execute in `devfactory worker` processes."""
    import os
    import sys

    settings = get_settings()
    try:
        settings.service.api_processes(workers)
    except ValueError as exc:
        raise fail(str(exc), EXIT_USAGE) from exc
    common.require_tools()
    host, port = host or settings.service.api_host, port or settings.service.api_port
    why = address_taken(host, port)
    if why:  # one line and exit 4, not the console's address and then uvicorn's exit 3
        raise fail(
            f"cannot serve on {host}:{port}: {why} (is another server there? --port picks another)",
            EXIT_ENV,
        )
    from devfactory.store.db import reach

    with common.database_needed():  # one line and exit 4 here, not the server's traceback
        reach(settings)
    argv = ["-m", "devfactory.api", "--host", host, "--port", str(port), "--workers", str(workers)]
    os.execv(sys.executable, [sys.executable, *argv])  # the server gets this process's signals


def address_taken(host: str, port: int) -> str:
    """Say why ``host``:``port`` cannot be listened on now (another server holds it), or ""."""
    import socket

    try:
        infos = socket.getaddrinfo(
            host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
    except socket.gaierror as exc:
        return f"no such address ({exc.strerror})"
    family, kind, proto, _, where = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds it
        try:
            probe.bind(where)
        except OSError as exc:
            return (exc.strerror or str(exc)).lower()
    return ""


keys_app = typer.Typer(help="API keys: each acts for a person of the users file, in their role.")
app.add_typer(keys_app, name="keys", rich_help_panel="Service")


@keys_app.command("create")
def create_key(
    name: Annotated[
        str,
        typer.Argument(help="Whose key: a person of the users file, or new.", callback=plain_name),
    ],
    role: Annotated[
        str | None, typer.Option(help="The role of a new person (API only: no chat password).")
    ] = None,
) -> None:
    """Make an API key and print it once; the file keeps only its hash."""
    from devfactory.cli.terminal import styled
    from devfactory.users import UserError, UserStore

    try:
        key, token = UserStore.of(get_settings()).create_key(name, role)
    except UserError as exc:
        raise fail(str(exc), EXIT_USAGE) from exc
    common.err.print(styled(f"key {key.id} for {key.name}; it is shown only now:", "dim"))
    typer.echo(token)


@keys_app.command("list")
def list_keys(as_json: ReadJsonOption = False) -> None:
    """List API keys (id, person, role now, made), never their secrets.

    With --json: a list of objects with id, name, role (null for a person no
    longer in the users file) and created.
    """
    from devfactory.users import UserStore

    store = UserStore.of(get_settings())
    found = [(key, store.find(key.name)) for key in store.keys()]
    if as_json:
        documents.print_json(
            [
                {
                    "id": key.id,
                    "name": key.name,
                    "role": person.role if person else None,
                    "created": key.created,
                }
                for key, person in found
            ]
        )
        return
    for key, person in found:
        common.console.print(key.id, key.name, person.role if person else "-", key.created)


@keys_app.command("revoke")
def revoke_key(
    ident: Annotated[str, typer.Argument(help="The key's id (keys list).", callback=plain_name)],
) -> None:
    """Delete an API key: requests sent with it are refused from now on."""
    from devfactory.users import UserStore

    if not UserStore.of(get_settings()).revoke_key(ident):
        raise fail(f"no key {ident!r}", EXIT_USAGE)
    common.console.print(f"revoked {ident}")


@app.command(rich_help_panel="Service")
def purge(
    run_id: Annotated[
        str, typer.Argument(help="An archived run (see retention_days).", callback=plain_name)
    ],
    by: AsOption = None,
    role: RoleOption = None,
) -> None:
    """Delete an archived run's checkpoints, live events and folder; its audit log stays."""
    who = identity(get_settings(), by, role)
    with common.session() as factory:
        done = factory.purge(run_id, by=who[0], role=who[1])
    for what, how in done.items():
        common.console.print(f"{what}: {how}", soft_wrap=True)
