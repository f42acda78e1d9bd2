"""Run commands: run, resume, status, diff, list, graph, models.

Why one module: they are the commands of the "Runs" help panel, registered in
its order, each a few lines over the factory's calls and the run's shared
options; a command's JSON document is ``documents.py``'s.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from devfactory.cli import common, documents
from devfactory.cli.common import (
    EXIT_ENV,
    EXIT_NOT_FOUND,
    EXIT_USAGE,
    AsOption,
    CostOption,
    GraphFormat,
    InputOption,
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

if TYPE_CHECKING:
    from devfactory.settings import Settings


@app.command(rich_help_panel="Runs")
def run(
    requirement: RequirementArg = None,
    file: RequirementFileOption = None,
    pipeline: PipelineOption = "mvp",
    project: ProjectOption = "default",
    budget_tokens: TokensOption = None,
    budget_cost: CostOption = None,
    out: OutOption = None,
    by: AsOption = None,
    role: RoleOption = None,
    interactive: InputOption = True,
    unattended: UnattendedOption = None,
    as_json: JsonOption = False,
    repo: Annotated[
        str | None,
        typer.Option(
            "--repo",
            help="Deliver into this existing repository (a path or a URL git can reach): "
            "the run works on a new branch devfactory/<run-id>, never on the base branch.",
        ),
    ] = None,
    base: Annotated[
        str | None,
        typer.Option("--base", help="The branch to start from (default: the repository's HEAD)."),
    ] = None,
) -> None:
    """Run a pipeline on a requirement and write its artifacts.

    The requirement is the argument, or stdin with ``-``, or ``--file PATH``.
    On a terminal, questions for a person are asked inline; otherwise the run
    pauses (exit 6) and waits for ``devfactory approve|reject|answer ...``.
    With ``--unattended`` the policy answers instead (``config/policy.yaml``).
    With ``--repo`` the run clones the repository into its folder, commits each
    passed stage on ``devfactory/<run-id>``, pushes that branch back and asks
    before merging it into ``--base`` (a "merge" pause).
    """
    from devfactory.cli.driving import drive
    from devfactory.control.budget import Caps
    from devfactory.factory.intake import StartRequest
    from devfactory.pipelines import PipelineError, load_pipeline

    try:
        load_pipeline(pipeline)
    except PipelineError as exc:
        raise fail(str(exc), EXIT_USAGE) from exc
    text = requirement_text(requirement, file)
    if base is not None and repo is None:
        raise fail("--base names a branch of --repo; give --repo too", EXIT_USAGE)
    common.require_tools()
    settings = get_settings()
    who = identity(settings, by, role)
    asked = StartRequest(
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
    with common.session() as factory:
        drive(
            factory,
            pipeline,
            lambda f, p: f.start(asked, on_event=p),
            inline=common.interactive(interactive),
            as_=who,
            as_json=as_json,
        )


@app.command(rich_help_panel="Runs")
def resume(
    run_id: Annotated[str, typer.Argument(help="The run to continue.", callback=plain_name)],
    interactive: InputOption = True,
    as_json: JsonOption = False,
) -> None:
    """Continue an interrupted run from its last finished stage."""
    from devfactory.cli.driving import drive

    common.require_tools()
    with common.session() as factory:
        row = factory.get(run_id)
        drive(
            factory,
            row.pipeline,
            lambda f, p: f.resume(run_id, on_event=p),
            inline=common.interactive(interactive),
            as_=identity(get_settings(), None, None),
            as_json=as_json,
        )


@app.command(rich_help_panel="Runs")
def status(
    run_id: Annotated[str, typer.Argument(help="The run to show.", callback=plain_name)],
    as_json: ReadJsonOption = False,
) -> None:
    """Show a run's state, its lifecycle transitions, its stages and what it waits on.

    With --json: one object with what ``run --json`` prints (run_id, status,
    reason, out_dir, usage, stages, build, pending) and the run's requirement,
    project, pipeline, owner, created_at, updated_at, unattended, next_stages,
    governance, notices and transitions.
    """
    from rich.table import Table

    from devfactory.cli.terminal import pause_panel, styled, transitions_table
    from devfactory.tracing import trace_url

    with common.reading() as reads:
        row, report, transitions = reads.detail(run_id)
    if as_json:
        documents.print_json(documents.status_document(row, report, transitions))
        return
    common.console.print(f"run {report.run_id}:", styled(report.status, "bold"))
    if report.shown.unattended:
        common.console.print("unattended: the policy's rules answer its pauses")
    if report.reason:
        common.console.print(f"reason: {report.reason}", soft_wrap=True)
    gov = report.shown.governance
    if gov is not None:
        common.console.print(
            f"governance: risk {gov.risk} ({gov.action}); "
            + "; ".join(gov.risk_factors or ["no risk factors"]),
            soft_wrap=True,
        )
    if report.status == "INTERRUPTED":
        common.console.print(f"its process is gone; continue with: devfactory resume {run_id}")
    if report.next_stages:
        common.console.print(f"next: {', '.join(report.next_stages)}")
    common.console.print(f"artifacts: {report.out_dir}", soft_wrap=True)
    if (link := trace_url(run_id)) is not None:
        common.console.print(f"trace: {link}", soft_wrap=True)
    common.console.print(transitions_table(transitions))
    table = Table(title="stages")
    for col in ("stage", "outcome", "model", "confidence", "attempts", "tokens in/out", "seconds"):
        table.add_column(col)
    for r in report.records:
        table.add_row(
            r.team,
            r.outcome.value,
            r.model,
            f"{r.result.confidence:.2f}" if r.result else "-",
            str(r.attempts),
            f"{r.usage.input_tokens}/{r.usage.output_tokens}",
            f"{r.seconds:.1f}",
        )
    common.console.print(table)
    for notice in report.shown.notices.values():
        common.console.print(
            styled("notice", "yellow"), f"{notice['kind']}: {notice['message']}", soft_wrap=True
        )
    for item in report.pending:
        common.console.print(pause_panel(item.run_id, item.interrupt_id, item.pause))


@app.command(rich_help_panel="Runs")
def diff(
    run_id: Annotated[str, typer.Argument(help="The run.", callback=plain_name)],
    team: Annotated[
        str | None,
        typer.Argument(help="A team of the run (default: the whole run).", callback=plain_name),
    ] = None,
    as_json: ReadJsonOption = False,
) -> None:
    """Show what a run's stages changed, from the git history of its folder.

    With a team: its newest commit (its stage in the latest round that changed
    something). Without: every file the run committed. Exit 3 when the run, or
    its folder's history (runs made before folders kept one), is not there.
    With --json: one object with run_id, team, commit (sha, author, subject, or
    null) and diff (the text).
    """
    from rich.syntax import Syntax

    from devfactory.cli.terminal import clean, styled
    from devfactory.pipelines import PipelineError, load_pipeline
    from devfactory.repos.workspace import Workspace, WorkspaceError

    with common.session() as factory:
        row = factory.get(run_id)
    try:
        teams = load_pipeline(row.pipeline).teams
    except PipelineError:  # a pipeline since removed: any team may be asked for
        teams = (team,) if team is not None else ()
    if team is not None and team not in teams:
        raise fail(f"no team {team!r} in pipeline {row.pipeline}: {', '.join(teams)}", EXIT_USAGE)
    workspace = Workspace(Path(row.out_dir))
    if not workspace.exists():
        raise fail(
            f"the folder of run {run_id} ({row.out_dir}) has no git history: the run was made "
            "before run folders kept one, or the folder was moved",
            EXIT_NOT_FOUND,
        )
    try:
        commit = workspace.last_commit(team) if team is not None else None
        text = workspace.diff(team)
    except WorkspaceError as exc:
        raise fail(str(exc), EXIT_ENV) from exc
    if as_json:
        made = None
        if commit is not None:
            made = {"sha": commit.sha, "author": commit.author, "subject": commit.subject}
        documents.print_json({"run_id": run_id, "team": team, "commit": made, "diff": text})
        return
    if commit is not None:
        common.err.print(styled(f"{commit.sha[:10]} {commit.author}: {commit.subject}", "bold"))
    if not text:
        common.err.print(f"{team or 'the run'} committed nothing in run {run_id}")
    elif common.console.is_terminal:
        common.console.print(
            Syntax(clean(text), "diff", theme="ansi_dark", background_color="default")
        )
    else:
        sys.stdout.write(text)


@app.command("list", rich_help_panel="Runs")
def list_runs(
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 20, as_json: ReadJsonOption = False
) -> None:
    """List recent runs, newest first.

    With --json: a list of objects with run_id, status, project, pipeline,
    owner, created_at, updated_at, reason, out_dir and requirement (whole).
    """
    from devfactory.cli.terminal import runs_table

    with common.reading() as reads:
        rows = reads.list_runs(limit)
    if as_json:
        documents.print_json([documents.run_document(row) for row in rows])
        return
    common.console.print(runs_table(rows))


@app.command(rich_help_panel="Runs")
def graph(
    pipeline: Annotated[str, typer.Option(help="Pipeline to draw.", callback=plain_name)] = "mvp",
    run: Annotated[
        str | None,
        typer.Option(
            "--run", help="Draw this run: each stage coloured by its outcome.", callback=plain_name
        ),
    ] = None,
    format: Annotated[
        GraphFormat, typer.Option("--format", help="mermaid, dot, png or json")
    ] = GraphFormat.mermaid,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write to a file.")] = None,
    xray: Annotated[bool, typer.Option(help="Show each stage's draft/report/gate nodes.")] = False,
) -> None:
    """Draw a pipeline's graph as compiled, with its teams' clusters, questions and waits.

    Teams are grouped by cluster; a dotted orange line is a question a team may
    ask another (its may_ask); a hexagon waits for a person. With --run, each
    stage shows its outcome, attempts and confidence. With --format json: one
    object with title, boxes (id, lines, kind, groups, outcome, waiting), lines
    (source, target, kind, back, label) and legend.
    """
    import json

    from devfactory.factory.drawing import pipeline_view, to_dot, to_mermaid, to_png
    from devfactory.pipelines import PipelineError

    if run is not None:
        with common.session() as factory:
            drawing = factory.drawing(run, xray=xray)
    else:
        try:
            drawing = pipeline_view(pipeline, xray=xray)
        except PipelineError as exc:
            raise fail(str(exc), EXIT_USAGE) from exc
    if format is GraphFormat.png:
        if output is None:
            raise fail("--format png needs --output FILE", EXIT_USAGE)
        try:
            output.write_bytes(to_png(drawing))
        except RuntimeError as exc:
            raise fail(str(exc), EXIT_ENV) from exc
        common.console.print(f"wrote {output}")
        return
    if format is GraphFormat.json:
        text = json.dumps(drawing, indent=2, default=documents.plain) + "\n"
    else:
        text = to_dot(drawing) if format is GraphFormat.dot else to_mermaid(drawing)
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text)
        common.console.print(f"wrote {output}")


@app.command(rich_help_panel="Runs")
def models(
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the routing and health as JSON on stdout.")
    ] = False,
    health: Annotated[
        bool,
        typer.Option(
            "--health/--no-health",
            help="Read the providers' health from the database (default on).",
        ),
    ] = True,
) -> None:
    """Show which model serves each alias, in the order a call now tries them, with health.

    Health (score, circuit, calls, errors, median latency) is what the processes
    calling the models (workers, the chat, CLI runs) recorded in the last
    ``health_fresh_s``; a model with none made no call yet. Without a database
    the routing is shown alone. Below it: the embedded model's shared server
    (where it listens, its pid, busy and total slots, its decoding speed), or
    that it is not running or not built. With ``DEVFACTORY_MODELS_FACTORY`` set,
    the model its function gives each alias, as every other entry point takes it.
    """
    import dataclasses
    import json

    from rich.table import Table

    from devfactory.cli.terminal import styled
    from devfactory.models.router import ModelRouter
    from devfactory.models.server_chat import embedded_server_status
    from devfactory.redact import redact, shown_url

    settings = get_settings()
    if (
        settings.serving.models_factory
    ):  # every entry point takes its models from it: so does this view
        _show_factory_models(settings, as_json)
        return
    router = ModelRouter(settings)
    merged: dict[str, dict[str, Any]] = {}
    problem = ""
    if health:
        try:
            merged = _read_health(settings)
        except Exception as exc:  # noqa: BLE001 - the routing is still worth showing
            problem = f"health not shown: {redact(str(exc)).splitlines()[0][:200]}"
    rows = router.view(merged)
    ollama = shown_url(router.ollama_host)  # where it is, never its credentials
    servers = [
        (model.name + (f" (draft {draft.name})" if draft else ""),
         embedded_server_status(settings, model, draft))
        for model, draft in router.embedded_servers()
    ]  # fmt: skip
    if as_json:
        doc = {
            "ollama": ollama,
            "models": rows,
            "health_problem": problem,
            "embedded_servers": {name: dataclasses.asdict(s) for name, s in servers},
        }
        sys.stdout.write(json.dumps(doc, indent=2, default=str) + "\n")
        return
    table = Table(title=f"Ollama: {ollama}")
    for col in ("alias", "order", "model", "available", "$/Mtok", "score", "circuit"):
        table.add_column(col)
    for col in ("calls", "errors", "timeouts", "p50 ms"):
        table.add_column(col, justify="right")
    for row in rows:
        found = row["health"] or {}
        if row["over_ceiling"]:
            shown = styled("over ceiling", "yellow")
        else:
            shown = styled("yes", "green") if row["available"] else styled("no", "dim")
        circuit = str(found.get("breaker", "-"))
        colour = {"closed": "green", "open": "red", "half_open": "yellow"}.get(circuit, "dim")
        score = found.get("score")
        table.add_row(
            row["alias"] + (" (cheapest)" if row["prefer"] == "cheapest" else ""),
            str(row["order"] or "-"),
            row["model"],
            shown,
            f"{row['usd_per_mtok']:g}",
            "-" if score is None else f"{score:.2f}",
            styled(circuit, colour),
            str(found.get("calls", "-")),
            str(found.get("errors", "-")),
            str(found.get("timeouts", "-")),
            "-" if found.get("p50_ms") is None else str(found["p50_ms"]),
        )
    common.console.print(table)
    for name, server in servers:
        common.console.print(f"Embedded model server {name}: {server.line()}", highlight=False)
    if problem:
        common.err.print(styled(problem, "yellow"))


def _show_factory_models(settings: Settings, as_json: bool) -> None:
    """Show the model ``models_factory`` gives each chat alias (no chain, no health: its own)."""
    import json

    from rich.table import Table

    from devfactory.models.aliases import CHAT_ALIASES
    from devfactory.models.router import ModelUnavailableError, model_source
    from devfactory.redact import redact

    source = model_source(settings)
    rows: list[dict[str, Any]] = []
    for alias in CHAT_ALIASES:
        try:
            label, problem = str(source.resolve(alias).label), ""
        except ModelUnavailableError as exc:
            label, problem = "-", redact(str(exc)).splitlines()[0][:200]
        rows.append({"alias": alias, "model": label, "available": not problem, "problem": problem})
    if as_json:
        doc = {"models_factory": settings.serving.models_factory, "models": rows}
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
        return
    table = Table(title=f"Models from DEVFACTORY_MODELS_FACTORY={settings.serving.models_factory}")
    for col in ("alias", "model", "available"):
        table.add_column(col)
    for row in rows:
        table.add_row(row["alias"], row["model"], "yes" if row["available"] else row["problem"])
    common.console.print(table)


def _read_health(settings: Settings) -> dict[str, dict[str, Any]]:
    """Return every model's health merged over the processes that call models."""
    from devfactory.store.db import open_pool, prepare
    from devfactory.store.health_snapshots import HealthStore

    database = prepare(settings)  # its errors are shown, with the routing still
    pool = open_pool(database.dsn, max_size=1, timeout=settings.storage.database_connect_timeout_s)
    try:
        found = HealthStore(pool).read(settings.serving.health_fresh_s)
    finally:
        pool.close()
    return {label: h.as_dict() for label, h in found.items()}
