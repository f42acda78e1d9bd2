"""Commands for people: answer what paused runs wait on, list it, show spend."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer

from devfactory.cli import common
from devfactory.cli.common import (
    EXIT_NOT_FOUND,
    EXIT_USAGE,
    AsOption,
    IdOption,
    InputOption,
    KindOption,
    RoleOption,
    app,
    console,
    fail,
    identity,
)
from devfactory.cli.driving import drive
from devfactory.console import caps_lines, pause_panel, pending_table, usage_table
from devfactory.settings import get_settings


def decide(
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
    who = identity(settings, by, role)
    try:
        decision = Decision(action=action, text=text, by=who[0], role=who[1], caps=caps)  # type: ignore[arg-type]
    except ValueError as exc:
        raise fail(str(exc), EXIT_USAGE) from exc
    factory = common.open_factory(settings)
    try:
        row = factory.get(run_id)
    except RunNotFoundError as exc:
        factory.close()
        raise fail(str(exc), EXIT_NOT_FOUND) from exc
    drive(
        factory,
        row.pipeline,
        lambda f, p: f.answer(run_id, decision, interrupt_id=interrupt_id, kind=kind, on_event=p),
        inline=common.interactive(interactive),
        as_=who,
    )


RunArg = Annotated[str, typer.Argument(help="The paused run.")]


@app.command(rich_help_panel="Waiting for a person")
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
    decide(
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


@app.command(rich_help_panel="Waiting for a person")
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
    decide(
        run_id,
        "reject",
        reason,
        by=by,
        role=role,
        interrupt_id=interrupt_id,
        kind=kind,
        interactive=interactive,
    )


@app.command(rich_help_panel="Waiting for a person")
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
    decide(
        run_id,
        "answer",
        text,
        by=by,
        role=role,
        interrupt_id=interrupt_id,
        kind=kind,
        interactive=interactive,
    )


@app.command(rich_help_panel="Waiting for a person")
def modify(
    run_id: RunArg,
    requirement: Annotated[str, typer.Argument(help="The edited requirement.")],
    by: AsOption = None,
    role: RoleOption = None,
    interactive: InputOption = True,
) -> None:
    """Edit a run's requirement at its governance pause; governance assesses it again."""
    decide(
        run_id,
        "modify",
        requirement,
        by=by,
        role=role,
        interrupt_id=None,
        kind="governance",
        interactive=interactive,
    )


@app.command(rich_help_panel="Waiting for a person")
def revise(
    run_id: RunArg,
    feedback: Annotated[str, typer.Argument(help="What to change.")],
    by: AsOption = None,
    role: RoleOption = None,
    interactive: InputOption = True,
) -> None:
    """Send the result back at the final review: the first team starts again with feedback."""
    decide(
        run_id,
        "revise",
        feedback,
        by=by,
        role=role,
        interrupt_id=None,
        kind="review",
        interactive=interactive,
    )


@app.command(rich_help_panel="Waiting for a person")
def pending(
    run_id: Annotated[str | None, typer.Argument(help="Only this run.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List what paused runs are waiting on, and who may answer."""
    from devfactory.runner import RunNotFoundError

    factory = common.open_factory(get_settings())
    try:
        items = factory.pending(run_id)
    except RunNotFoundError as exc:
        raise fail(str(exc), EXIT_NOT_FOUND) from exc
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


@app.command(rich_help_panel="Waiting for a person")
def usage(run_id: Annotated[str, typer.Argument(help="The run.")]) -> None:
    """Show a run's tokens, cost and model time by team, against its budget caps."""
    from devfactory.runner import RunNotFoundError

    factory = common.open_factory(get_settings())
    try:
        spent = factory.usage(run_id)
    except RunNotFoundError as exc:
        raise fail(str(exc), EXIT_NOT_FOUND) from exc
    finally:
        factory.close()
    console.print(usage_table(spent))
    for line in caps_lines(spent):
        console.print(line)
