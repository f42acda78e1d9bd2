"""The ``devfactory`` command line.

Exit codes: 0 run COMPLETED (or command succeeded), 1 run FAILED, 2 bad usage,
3 run not found, 4 environment problem (database or model unavailable),
5 unexpected error (traceback printed; the run can be resumed),
130 interrupted by Ctrl-C (resume the run with ``devfactory resume``).
"""

from __future__ import annotations

import logging
import sys
import warnings
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.live import Live
from rich.table import Table

from devfactory.pipelines import PipelineError, available_pipelines, load_pipeline
from devfactory.settings import Settings, get_settings

EXIT_FAILED, EXIT_USAGE, EXIT_NOT_FOUND, EXIT_ENV, EXIT_BUG, EXIT_INTERRUPTED = 1, 2, 3, 4, 5, 130

app = typer.Typer(
    name="devfactory",
    help="A self-hosted AI software factory: requirement in, reviewed artifacts out.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
console = Console()
err = Console(stderr=True)


class GraphFormat(StrEnum):
    """Output formats of ``devfactory graph``."""

    mermaid = "mermaid"
    png = "png"


def _fail(message: str, code: int) -> typer.Exit:
    err.print(f"[bold red]error:[/] {message}", soft_wrap=True)
    return typer.Exit(code)


def _open_factory(settings: Settings) -> Any:
    from devfactory.runner import Factory
    from devfactory.store.db import DatabaseError, describe_database

    try:
        factory = Factory(settings)
    except DatabaseError as exc:
        raise _fail(str(exc), EXIT_ENV) from exc
    err.print(f"[dim]database: {describe_database(settings)}[/]")
    return factory


class Progress:
    """Live per-stage progress: team, model, status, confidence, tokens, seconds."""

    def __init__(self, pipeline: str, out: Console) -> None:
        self.order = load_pipeline(pipeline).teams
        self.rows: dict[str, dict[str, str]] = {
            t: {"model": "", "status": "pending", "conf": "", "tokens": "", "secs": ""}
            for t in self.order
        }
        self.out = out
        self.live: Live | None = None
        self.caption = ""

    def table(self) -> Table:
        """Render the current progress table."""
        table = Table(title="devfactory run", caption=self.caption, expand=False)
        for col in ("stage", "model", "status", "confidence", "tokens in/out", "seconds"):
            table.add_column(col)
        colours = {"PASSED": "green", "BLOCKED": "red", "SKIPPED": "yellow"}
        for team in self.order:
            row = self.rows[team]
            status = row["status"]
            colour = colours.get(status, "cyan" if status.startswith("attempt") else "dim")
            table.add_row(
                team,
                row["model"],
                f"[{colour}]{status}[/]",
                row["conf"],
                row["tokens"],
                row["secs"],
            )
        return table

    def __call__(self, event: dict[str, Any]) -> None:
        """Apply one factory event."""
        kind = event.get("event")
        line = ""
        if kind == "stage_started":
            row = self.rows[event["team"]]
            row.update(model=event["model"], status=f"attempt {event['attempt']}")
            line = f"▶ {event['team']} attempt {event['attempt']} on {event['model']}"
        elif kind == "stage_finished":
            rec = event["record"]
            res = rec.get("result") or {}
            usage = rec["usage"]
            self.rows[rec["team"]].update(
                model=rec["model"] or self.rows[rec["team"]]["model"],
                status=rec["outcome"],
                conf=f"{res['confidence']:.2f}" if res else "",
                tokens=f"{usage['input_tokens']}/{usage['output_tokens']}",
                secs=f"{rec['seconds']:.1f}",
            )
            line = (
                f"■ {rec['team']} {rec['outcome']} confidence="
                f"{self.rows[rec['team']]['conf'] or '-'} model={rec['model'] or '-'} "
                f"tokens={usage['input_tokens']}/{usage['output_tokens']} "
                f"seconds={rec['seconds']:.1f}"
                + (f" reason={rec['reason']}" if rec["reason"] else "")
            )
        elif kind == "run_started":
            self.caption = f"run {event['run_id']} -> {event['out_dir']}"
            line = (
                f"run {event['run_id']} ({'resumed' if event['resumed'] else 'new'}), "
                f"pipeline {event['pipeline']}, output {event['out_dir']}"
            )
        if self.live is not None:
            self.live.update(self.table())
        elif line:
            self.out.print(line, highlight=False, soft_wrap=True)
            self.out.file.flush()

    def __enter__(self) -> Progress:
        if self.out.is_terminal:
            self.live = Live(self.table(), console=self.out, refresh_per_second=4)
            self.live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.live is not None:
            self.live.__exit__(None, None, None)


def _finish(report: Any) -> None:
    colour = "green" if report.status == "COMPLETED" else "red"
    console.print(f"[bold {colour}]{report.status}[/] run {report.run_id}")
    if report.reason:
        console.print(f"reason: {report.reason}", soft_wrap=True)
    console.print(f"artifacts: {report.out_dir}", soft_wrap=True)
    if report.status != "COMPLETED":
        raise typer.Exit(EXIT_FAILED)


def _drive(factory: Any, pipeline: str, action: Any) -> None:
    """Run ``action(factory, progress)`` with live progress, then close the factory."""
    from devfactory.models.router import ModelUnavailableError
    from devfactory.runner import RunBusyError, RunNotFoundError

    try:
        with Progress(pipeline, console) as progress:
            report = action(factory, progress)
    except KeyboardInterrupt:
        raise _fail(
            "interrupted; continue with `devfactory resume <run-id>`", EXIT_INTERRUPTED
        ) from None
    except ModelUnavailableError as exc:
        raise _fail(str(exc), EXIT_ENV) from exc
    except (RunBusyError, RunNotFoundError):
        raise
    except Exception as exc:  # noqa: BLE001 - scripts must tell a crash from a FAILED run
        err.print_exception()
        raise _fail(
            f"unexpected error: {exc}; `devfactory resume <run-id>` continues from the last "
            "checkpoint",
            EXIT_BUG,
        ) from exc
    finally:
        factory.close()
    _finish(report)


@app.command()
def run(
    requirement: Annotated[str, typer.Argument(help="What to build, in plain words.")],
    pipeline: Annotated[
        str, typer.Option(help="Pipeline: " + ", ".join(available_pipelines()))
    ] = "mvp",
    out: Annotated[
        Path | None, typer.Option(help="Output folder (default ./out/<run-id>).")
    ] = None,
) -> None:
    """Run a pipeline on a requirement and write its artifacts."""
    try:
        load_pipeline(pipeline)
    except PipelineError as exc:
        raise _fail(str(exc), EXIT_USAGE) from exc
    if not requirement.strip():
        raise _fail("the requirement is empty", EXIT_USAGE)
    _drive(
        _open_factory(get_settings()),
        pipeline,
        lambda f, p: f.start(requirement, pipeline=pipeline, out_dir=out, on_event=p),
    )


@app.command()
def resume(run_id: Annotated[str, typer.Argument(help="The run to continue.")]) -> None:
    """Continue an interrupted run from its last finished stage."""
    from devfactory.runner import RunBusyError, RunNotFoundError

    factory = _open_factory(get_settings())
    try:
        row = factory.get(run_id)
    except RunNotFoundError as exc:
        factory.close()
        raise _fail(str(exc), EXIT_NOT_FOUND) from exc
    try:
        _drive(factory, row.pipeline, lambda f, p: f.resume(run_id, on_event=p))
    except RunBusyError as exc:
        raise _fail(str(exc), EXIT_USAGE) from exc


@app.command()
def status(run_id: Annotated[str, typer.Argument(help="The run to show.")]) -> None:
    """Show a run's state and its stages."""
    from devfactory.runner import RunNotFoundError

    factory = _open_factory(get_settings())
    try:
        report = factory.report(run_id)
    except RunNotFoundError as exc:
        raise _fail(str(exc), EXIT_NOT_FOUND) from exc
    finally:
        factory.close()
    console.print(f"run {report.run_id}: [bold]{report.status}[/]")
    if report.reason:
        console.print(f"reason: {report.reason}")
    if report.status == "INTERRUPTED":
        console.print(f"its process is gone; continue with: devfactory resume {run_id}")
    if report.next_stages:
        console.print(f"next: {', '.join(report.next_stages)}")
    console.print(f"artifacts: {report.out_dir}")
    table = Table()
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


@app.command("list")
def list_runs(limit: Annotated[int, typer.Option(min=1, max=1000)] = 20) -> None:
    """List recent runs, newest first."""
    factory = _open_factory(get_settings())
    try:
        rows = factory.runs.list(limit)
    finally:
        factory.close()
    table = Table()
    for col in ("run", "status", "pipeline", "created", "requirement"):
        table.add_column(col)
    for row in rows:
        shown = "INTERRUPTED" if row.interrupted else row.status
        table.add_row(
            row.run_id,
            shown,
            row.pipeline,
            f"{row.created_at:%Y-%m-%d %H:%M}",
            row.requirement[:60],
        )
    console.print(table)


@app.command()
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
        raise _fail(str(exc), EXIT_USAGE) from exc
    if format is GraphFormat.png:
        if output is None:
            raise _fail("--format png needs --output FILE", EXIT_USAGE)
        try:
            output.write_bytes(graph_png(compiled, xray=xray))
        except RuntimeError as exc:
            raise _fail(str(exc), EXIT_ENV) from exc
        console.print(f"wrote {output}")
        return
    text = graph_mermaid(compiled, xray=xray)
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text)
        console.print(f"wrote {output}")


@app.command()
def models() -> None:
    """Show which model serves each alias, in fallback order."""
    from devfactory.models.router import ModelRouter

    router = ModelRouter(get_settings())
    table = Table(title=f"Ollama: {router.ollama_host}")
    for col in ("alias", "model", "available"):
        table.add_column(col)
    for alias, label, ok in router.describe():
        table.add_row(alias, label, "[green]yes[/]" if ok else "[dim]no[/]")
    console.print(table)


@app.callback()
def main(verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False) -> None:
    """Configure logging for every command."""
    # pgserver asks platformdirs for a runtime dir; its fallback warning is noise.
    warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
