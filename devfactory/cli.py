"""The ``devfactory`` command line.

Exit codes: 0 run COMPLETED (or command succeeded), 1 run FAILED or REJECTED,
2 bad usage (or an answer the pause does not accept), 3 run not found,
4 environment problem (database or model unavailable), 5 unexpected error
(traceback printed; the run can be resumed), 6 the run is PAUSED waiting for
a person (see ``devfactory pending``), 130 interrupted by Ctrl-C (resume the
run with ``devfactory resume``).
"""

from __future__ import annotations

import getpass
import json
import logging
import sys
import warnings
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.prompt import Prompt
from rich.table import Table

from devfactory.console import (
    Progress,
    caps_lines,
    pause_panel,
    pending_table,
    transitions_table,
    usage_table,
)
from devfactory.pipelines import PipelineError, available_pipelines, load_pipeline
from devfactory.settings import Settings, get_settings

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


def _identity(settings: Settings, by: str | None, role: str | None) -> tuple[str, str]:
    return by or settings.operator or getpass.getuser(), role or settings.operator_role


def _interactive(enabled: bool) -> bool:
    return enabled and sys.stdin.isatty() and console.is_terminal


def _finish(report: Any) -> None:
    colour = {"COMPLETED": "green", "PAUSED": "yellow"}.get(report.status, "red")
    console.print(f"[bold {colour}]{report.status}[/] run {report.run_id}")
    if report.reason:
        console.print(f"reason: {report.reason}", soft_wrap=True)
    console.print(f"artifacts: {report.out_dir}", soft_wrap=True)
    if report.status == "PAUSED":
        for item in report.pending:
            console.print(pause_panel(item.run_id, item.interrupt_id, item.pause))
        console.print(
            f"answer with: devfactory approve|reject|answer|modify|revise {report.run_id} ...",
            soft_wrap=True,
        )
        raise typer.Exit(EXIT_PAUSED)
    if report.status != "COMPLETED":
        raise typer.Exit(EXIT_FAILED)


def _ask_inline(report: Any, by: str, role: str) -> tuple[Any, str | None] | None:
    """Ask the person at the terminal to decide the first pending question."""
    from devfactory.control.hitl import Decision

    item = report.pending[0]
    pause = item.pause
    console.print(pause_panel(item.run_id, item.interrupt_id, pause))
    action = Prompt.ask(
        "decision", choices=[*pause.actions, "later"], default="later", console=console
    )
    if action == "later":
        return None
    text = ""
    if action in ("modify", "answer", "revise", "reject"):
        label = {
            "modify": "new requirement",
            "answer": "your answer",
            "revise": "what to change",
            "reject": "reason",
        }[action]
        text = Prompt.ask(label, console=console)
    decision = Decision.model_validate({"action": action, "text": text, "by": by, "role": role})
    return decision, item.interrupt_id


Action = Callable[[Any, Progress], Any]


def _drive(
    factory: Any, pipeline: str, action: Action, *, inline: bool = False, as_: tuple[str, str]
) -> None:
    """Run ``action(factory, progress)`` with live progress, ask inline, then close."""
    from devfactory.control.hitl import DecisionError
    from devfactory.models.router import ModelUnavailableError
    from devfactory.runner import RunBusyError, RunNotFoundError, RunStateError

    try:
        with Progress(pipeline, console) as progress:
            report = action(factory, progress)
        while inline and report.status == "PAUSED" and report.pending:
            asked = _ask_inline(report, *as_)
            if asked is None:
                break
            decision, interrupt_id = asked
            try:
                with Progress(pipeline, console) as progress:
                    report = factory.answer(
                        report.run_id, decision, interrupt_id=interrupt_id, on_event=progress
                    )
            except DecisionError as exc:
                err.print(f"[bold red]refused:[/] {exc}")
                report = factory.report(report.run_id)
    except KeyboardInterrupt:
        raise _fail(
            "interrupted; continue with `devfactory resume <run-id>`", EXIT_INTERRUPTED
        ) from None
    except ModelUnavailableError as exc:
        raise _fail(str(exc), EXIT_ENV) from exc
    except DecisionError as exc:
        raise _fail(str(exc), EXIT_USAGE) from exc
    except RunStateError as exc:
        raise _fail(str(exc), EXIT_USAGE) from exc
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
    project: Annotated[str, typer.Option(help="Project the run belongs to.")] = "default",
    budget_tokens: Annotated[
        int | None, typer.Option(min=1, help="Token cap for this run.")
    ] = None,
    budget_cost: Annotated[
        float | None, typer.Option(min=0.000001, help="Cost cap (USD) for this run.")
    ] = None,
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
        raise _fail(str(exc), EXIT_USAGE) from exc
    if not requirement.strip():
        raise _fail("the requirement is empty", EXIT_USAGE)
    settings = get_settings()
    caps = Caps(tokens=budget_tokens, cost_usd=budget_cost)
    _drive(
        _open_factory(settings),
        pipeline,
        lambda f, p: f.start(
            requirement, pipeline=pipeline, project=project, caps=caps, out_dir=out, on_event=p
        ),
        inline=_interactive(interactive),
        as_=_identity(settings, by, role),
    )


@app.command()
def resume(
    run_id: Annotated[str, typer.Argument(help="The run to continue.")],
    interactive: InputOption = True,
) -> None:
    """Continue an interrupted run from its last finished stage."""
    from devfactory.runner import RunBusyError, RunNotFoundError

    settings = get_settings()
    factory = _open_factory(settings)
    try:
        row = factory.get(run_id)
    except RunNotFoundError as exc:
        factory.close()
        raise _fail(str(exc), EXIT_NOT_FOUND) from exc
    try:
        _drive(
            factory,
            row.pipeline,
            lambda f, p: f.resume(run_id, on_event=p),
            inline=_interactive(interactive),
            as_=_identity(settings, None, None),
        )
    except RunBusyError as exc:
        raise _fail(str(exc), EXIT_USAGE) from exc


def _decide(
    run_id: str,
    action: str,
    text: str,
    *,
    by: str | None,
    role: str | None,
    interrupt_id: str | None,
    kind: str | None,
    interactive: bool,
    caps: Any = None,
) -> None:
    """Answer a paused run's question as a person, then drive it on."""
    from devfactory.control.hitl import Decision
    from devfactory.runner import RunNotFoundError

    settings = get_settings()
    who = _identity(settings, by, role)
    try:
        decision = Decision(action=action, text=text, by=who[0], role=who[1], caps=caps)  # type: ignore[arg-type]
    except ValueError as exc:
        raise _fail(str(exc), EXIT_USAGE) from exc
    factory = _open_factory(settings)
    try:
        row = factory.get(run_id)
    except RunNotFoundError as exc:
        factory.close()
        raise _fail(str(exc), EXIT_NOT_FOUND) from exc
    _drive(
        factory,
        row.pipeline,
        lambda f, p: f.answer(run_id, decision, interrupt_id=interrupt_id, kind=kind, on_event=p),
        inline=_interactive(interactive),
        as_=who,
    )


RunArg = Annotated[str, typer.Argument(help="The paused run.")]


@app.command()
def approve(
    run_id: RunArg,
    comment: Annotated[str, typer.Option(help="Why you approve (recorded).")] = "",
    budget_tokens: Annotated[
        int | None, typer.Option(min=1, help="Budget pause: raise the run's token cap to this.")
    ] = None,
    budget_cost: Annotated[
        float | None, typer.Option(min=0.000001, help="Budget pause: raise the cost cap (USD).")
    ] = None,
    by: AsOption = None,
    role: RoleOption = None,
    interrupt_id: IdOption = None,
    kind: KindOption = None,
    interactive: InputOption = True,
) -> None:
    """Approve what a paused run waits on (governance, budget override, final review)."""
    from devfactory.control.budget import Caps

    caps = None
    if budget_tokens is not None or budget_cost is not None:
        caps = Caps(tokens=budget_tokens, cost_usd=budget_cost)
    _decide(
        run_id,
        "approve",
        comment,
        by=by,
        role=role,
        interrupt_id=interrupt_id,
        kind=kind,
        interactive=interactive,
        caps=caps,
    )


@app.command()
def reject(
    run_id: RunArg,
    reason: Annotated[str, typer.Option(help="Why (recorded; required for approvals).")] = "",
    by: AsOption = None,
    role: RoleOption = None,
    interrupt_id: IdOption = None,
    kind: KindOption = None,
    interactive: InputOption = True,
) -> None:
    """Reject what a paused run waits on: the run ends REJECTED or FAILED with the reason."""
    _decide(
        run_id,
        "reject",
        reason,
        by=by,
        role=role,
        interrupt_id=interrupt_id,
        kind=kind,
        interactive=interactive,
    )


@app.command()
def answer(
    run_id: RunArg,
    text: Annotated[str, typer.Argument(help="Your answer or guidance.")],
    by: AsOption = None,
    role: RoleOption = None,
    interrupt_id: IdOption = None,
    kind: KindOption = None,
    interactive: InputOption = True,
) -> None:
    """Answer a team's escalated question, or guide a BLOCKED stage to try again."""
    _decide(
        run_id,
        "answer",
        text,
        by=by,
        role=role,
        interrupt_id=interrupt_id,
        kind=kind,
        interactive=interactive,
    )


@app.command()
def modify(
    run_id: RunArg,
    requirement: Annotated[str, typer.Argument(help="The edited requirement.")],
    by: AsOption = None,
    role: RoleOption = None,
    interactive: InputOption = True,
) -> None:
    """Edit a run's requirement at its governance pause; governance assesses it again."""
    _decide(
        run_id,
        "modify",
        requirement,
        by=by,
        role=role,
        interrupt_id=None,
        kind="governance",
        interactive=interactive,
    )


@app.command()
def revise(
    run_id: RunArg,
    feedback: Annotated[str, typer.Argument(help="What to change.")],
    by: AsOption = None,
    role: RoleOption = None,
    interactive: InputOption = True,
) -> None:
    """Send the result back at the final review: the first team starts again with feedback."""
    _decide(
        run_id,
        "revise",
        feedback,
        by=by,
        role=role,
        interrupt_id=None,
        kind="review",
        interactive=interactive,
    )


@app.command()
def pending(
    run_id: Annotated[str | None, typer.Argument(help="Only this run.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List what paused runs are waiting on, and who may answer."""
    from devfactory.runner import RunNotFoundError

    factory = _open_factory(get_settings())
    try:
        items = factory.pending(run_id)
    except RunNotFoundError as exc:
        raise _fail(str(exc), EXIT_NOT_FOUND) from exc
    finally:
        factory.close()
    if as_json:
        doc = [
            {"run_id": i.run_id, "id": i.interrupt_id, **i.pause.model_dump(mode="json")}
            for i in items
        ]
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
        return
    if not items:
        console.print("nothing is waiting for a person")
        return
    console.print(pending_table(items))
    for item in items:
        console.print(pause_panel(item.run_id, item.interrupt_id, item.pause))


@app.command()
def usage(run_id: Annotated[str, typer.Argument(help="The run.")]) -> None:
    """Show a run's tokens, cost and model time by team, against its budget caps."""
    from devfactory.runner import RunNotFoundError

    factory = _open_factory(get_settings())
    try:
        spent = factory.usage(run_id)
    except RunNotFoundError as exc:
        raise _fail(str(exc), EXIT_NOT_FOUND) from exc
    finally:
        factory.close()
    console.print(usage_table(spent))
    for line in caps_lines(spent):
        console.print(line)


@app.command()
def status(run_id: Annotated[str, typer.Argument(help="The run to show.")]) -> None:
    """Show a run's state, its lifecycle transitions, its stages and what it waits on."""
    from devfactory.runner import RunNotFoundError

    factory = _open_factory(get_settings())
    try:
        report = factory.report(run_id)
        transitions = factory.transitions(run_id)
    except RunNotFoundError as exc:
        raise _fail(str(exc), EXIT_NOT_FOUND) from exc
    finally:
        factory.close()
    console.print(f"run {report.run_id}: [bold]{report.status}[/]")
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
        console.print(f"[yellow]notice[/] {notice['kind']}: {notice['message']}", soft_wrap=True)
    for item in report.pending:
        console.print(pause_panel(item.run_id, item.interrupt_id, item.pause))


@app.command("list")
def list_runs(limit: Annotated[int, typer.Option(min=1, max=1000)] = 20) -> None:
    """List recent runs, newest first."""
    factory = _open_factory(get_settings())
    try:
        rows = factory.runs.list(limit)
    finally:
        factory.close()
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
