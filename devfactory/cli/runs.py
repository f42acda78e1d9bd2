"""Run commands: run, resume, status, list, graph, models."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from devfactory.cli import common
from devfactory.cli.common import (
    EXIT_CONFLICT,
    EXIT_ENV,
    EXIT_USAGE,
    AsOption,
    CostOption,
    GraphFormat,
    InputOption,
    RoleOption,
    TokensOption,
    app,
    console,
    fail,
    identity,
)
from devfactory.cli.driving import drive
from devfactory.console import pause_panel, styled, transitions_table
from devfactory.pipelines import PipelineError, available_pipelines, load_pipeline
from devfactory.settings import get_settings


@app.command(rich_help_panel="Runs")
def run(
    requirement: Annotated[str, typer.Argument(help="What to build, in plain words.")],
    pipeline: Annotated[
        str, typer.Option(help="Pipeline: " + ", ".join(available_pipelines()))
    ] = "mvp",
    project: Annotated[str, typer.Option(help="Project the run belongs to.")] = "default",
    budget_tokens: TokensOption = None,
    budget_cost: CostOption = None,
    out: Annotated[
        Path | None, typer.Option(help="Output folder (default ./out/<run-id>).")
    ] = None,
    by: AsOption = None,
    role: RoleOption = None,
    interactive: InputOption = True,
) -> None:
    """Run a pipeline on a requirement and write its artifacts.

    On a terminal, questions for a person are asked inline; otherwise the run
    pauses (exit 6) and waits for ``devfactory approve|reject|answer ...``.
    """
    from devfactory.control.budget import Caps

    try:
        load_pipeline(pipeline)
    except PipelineError as exc:
        raise fail(str(exc), EXIT_USAGE) from exc
    if not requirement.strip():
        raise fail("the requirement is empty", EXIT_USAGE)
    settings = get_settings()
    caps = Caps(tokens=budget_tokens, cost_usd=budget_cost)
    who = identity(settings, by, role)
    with common.session() as factory:
        drive(
            factory,
            pipeline,
            lambda f, p: f.start(
                requirement,
                pipeline=pipeline,
                project=project,
                caps=caps,
                out_dir=out,
                on_event=p,
                owner=who[0],
            ),
            inline=common.interactive(interactive),
            as_=who,
        )


@app.command(rich_help_panel="Runs")
def resume(
    run_id: Annotated[str, typer.Argument(help="The run to continue.")],
    interactive: InputOption = True,
) -> None:
    """Continue an interrupted run from its last finished stage."""
    from devfactory.runner import RunBusyError

    with common.session() as factory:
        row = factory.get(run_id)
        try:
            drive(
                factory,
                row.pipeline,
                lambda f, p: f.resume(run_id, on_event=p),
                inline=common.interactive(interactive),
                as_=identity(get_settings(), None, None),
            )
        except RunBusyError as exc:
            raise fail(str(exc), EXIT_CONFLICT) from exc


@app.command(rich_help_panel="Runs")
def status(run_id: Annotated[str, typer.Argument(help="The run to show.")]) -> None:
    """Show a run's state, its lifecycle transitions, its stages and what it waits on."""
    with common.session() as factory:
        report = factory.report(run_id)
        transitions = factory.transitions(run_id)
    console.print(f"run {report.run_id}:", styled(report.status, "bold"))
    if report.reason:
        console.print(f"reason: {report.reason}", soft_wrap=True)
    gov = report.values.get("governance") or {}
    if gov:
        console.print(
            f"governance: risk {gov.get('risk')} ({gov.get('action')}); "
            + "; ".join(gov.get("risk_factors", []) or ["no risk factors"]),
            soft_wrap=True,
        )
    if report.status == "INTERRUPTED":
        console.print(f"its process is gone; continue with: devfactory resume {run_id}")
    if report.next_stages:
        console.print(f"next: {', '.join(report.next_stages)}")
    console.print(f"artifacts: {report.out_dir}", soft_wrap=True)
    console.print(transitions_table(transitions))
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
    console.print(table)
    for notice in (report.values.get("notices") or {}).values():
        console.print(
            styled("notice", "yellow"), f"{notice['kind']}: {notice['message']}", soft_wrap=True
        )
    for item in report.pending:
        console.print(pause_panel(item.run_id, item.interrupt_id, item.pause))


@app.command("list", rich_help_panel="Runs")
def list_runs(limit: Annotated[int, typer.Option(min=1, max=1000)] = 20) -> None:
    """List recent runs, newest first."""
    with common.session() as factory:
        rows = factory.list_runs(limit)
    table = Table()
    for col in ("run", "status", "project", "pipeline", "created", "requirement"):
        table.add_column(col)
    for row in rows:
        table.add_row(
            row.run_id,
            row.shown_status,
            row.project,
            row.pipeline,
            f"{row.created_at:%Y-%m-%d %H:%M}",
            row.requirement[:60],
        )
    console.print(table)


@app.command(rich_help_panel="Runs")
def graph(
    pipeline: Annotated[str, typer.Option(help="Pipeline to draw.")] = "mvp",
    format: Annotated[
        GraphFormat, typer.Option("--format", help="mermaid or png")
    ] = GraphFormat.mermaid,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write to a file.")] = None,
    xray: Annotated[bool, typer.Option(help="Show each stage's draft/report/gate nodes.")] = False,
) -> None:
    """Draw a pipeline's graph exactly as it is compiled."""
    from devfactory.graph import build_graph
    from devfactory.render import graph_mermaid, graph_png

    try:
        compiled = build_graph(pipeline).compile()
    except PipelineError as exc:
        raise fail(str(exc), EXIT_USAGE) from exc
    if format is GraphFormat.png:
        if output is None:
            raise fail("--format png needs --output FILE", EXIT_USAGE)
        try:
            output.write_bytes(graph_png(compiled, xray=xray))
        except RuntimeError as exc:
            raise fail(str(exc), EXIT_ENV) from exc
        console.print(f"wrote {output}")
        return
    text = graph_mermaid(compiled, xray=xray)
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text)
        console.print(f"wrote {output}")


@app.command(rich_help_panel="Runs")
def models() -> None:
    """Show which model serves each alias, in fallback order."""
    from devfactory.models.router import ModelRouter

    router = ModelRouter(get_settings())
    table = Table(title=f"Ollama: {router.ollama_host}")
    for col in ("alias", "model", "available"):
        table.add_column(col)
    for alias, label, ok in router.describe():
        table.add_row(alias, label, styled("yes", "green") if ok else styled("no", "dim"))
    console.print(table)
