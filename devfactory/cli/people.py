"""Commands for people: answer what paused runs wait on, list it, show spend, pre-approve.

The five answering commands (approve, reject, answer, modify, revise) are
``AnswerCommand``s: ``--as``, ``--role``, ``--id``, ``--kind`` and
``--input/--no-input`` are declared once, in ``cli/common.py``.
"""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer

from devfactory.cli import common, documents
from devfactory.cli.common import (
    EXIT_USAGE,
    AnswerCommand,
    CostOption,
    RoleOption,
    TokensOption,
    answerer,
    app,
    fail,
    get_settings,
    identity,
    plain_name,
    project_name,
)
from devfactory.cli.documents import ReadJsonOption
from devfactory.cli.requirement_input import RequirementFileOption, requirement_text

RunArg = Annotated[str, typer.Argument(help="The paused run.", callback=plain_name)]
AlternativeOption = Annotated[
    str | None,
    typer.Option(
        "--alternative",
        help="Pick one of the request's alternatives by its id (devfactory pending lists "
        "them), e.g. cheaper_model or drop_stage:documentation; narrow_scope takes the "
        "narrowed requirement as the text.",
    ),
]
PANEL = "Waiting for a person"


def decide(
    ctx: typer.Context,
    run_id: str,
    action: str,
    text: str,
    *,
    caps: Any = None,
    kind: str | None = None,
    alternative: str | None = None,
) -> None:
    """Answer a paused run's question as a person, then drive it on.

    ``kind`` is the kind of question the command is for, when only one is
    (``modify`` answers governance, ``revise`` the final review); ``--kind``
    picks otherwise.
    """
    from devfactory.cli.driving import drive
    from devfactory.control.hitl import Decision

    options = answerer(ctx)
    common.require_tools()  # the answer drives the run on, through its gates
    who = identity(get_settings(), options.by, options.role)
    try:
        decision = Decision(
            action=action,  # type: ignore[arg-type]
            text=text,
            by=who[0],
            role=who[1],
            caps=caps,
            alternative=(alternative or "").strip() or None,
        )
    except ValueError as exc:
        raise fail(str(exc), EXIT_USAGE) from exc
    with common.session() as factory:
        row = factory.get(run_id)
        ident = (options.interrupt_id or "").strip()
        if not ident:  # an answer names the question it answers
            waiting = ", ".join(
                f"--id {p.interrupt_id[:8]} ({p.pause.kind}: {p.pause.title})"
                for p in factory.pending(run_id)
            )
            raise fail(
                f"name the question you answer with --id; run {run_id} waits on: "
                + (waiting or "nothing"),
                EXIT_USAGE,
            )
        drive(
            factory,
            row.pipeline,
            lambda f, p: f.answer(
                run_id,
                decision,
                interrupt_id=ident,
                kind=options.kind or kind,
                on_event=p,
            ),
            inline=common.interactive(options.interactive),
            as_=who,
        )


@app.command(cls=AnswerCommand, rich_help_panel=PANEL)
def approve(
    ctx: typer.Context,
    run_id: RunArg,
    comment: Annotated[str, typer.Option(help="Why you approve (recorded).")] = "",
    budget_tokens: TokensOption = None,
    budget_cost: CostOption = None,
    alternative: AlternativeOption = None,
) -> None:
    """Approve what a paused run waits on (governance, budget override, final review, merge).

    With ``--alternative`` the run takes that course instead (the comment is the
    narrowed requirement for narrow_scope).
    """
    from devfactory.control.budget import Caps

    caps = None
    if budget_tokens is not None or budget_cost is not None:
        caps = Caps(tokens=budget_tokens, cost_usd=budget_cost)
    decide(ctx, run_id, "approve", comment, caps=caps, alternative=alternative)


@app.command(cls=AnswerCommand, rich_help_panel=PANEL)
def reject(
    ctx: typer.Context,
    run_id: RunArg,
    reason: Annotated[str, typer.Option(help="Why (recorded; required for approvals).")] = "",
) -> None:
    """Reject what a paused run waits on: the run ends REJECTED or FAILED with the reason."""
    decide(ctx, run_id, "reject", reason)


@app.command(cls=AnswerCommand, rich_help_panel=PANEL)
def answer(
    ctx: typer.Context,
    run_id: RunArg,
    text: Annotated[str, typer.Argument(help="Your answer or guidance ('' with an alternative).")],
    alternative: AlternativeOption = None,
) -> None:
    """Answer a team's escalated question, or guide a BLOCKED stage to try again.

    With ``--alternative`` a BLOCKED stage takes that course instead (the cheaper
    model, or dropping the stage).
    """
    decide(ctx, run_id, "answer", text, alternative=alternative)


@app.command(cls=AnswerCommand, rich_help_panel=PANEL)
def modify(
    ctx: typer.Context,
    run_id: RunArg,
    requirement: Annotated[
        str | None,
        typer.Argument(help="The edited requirement; - reads it from stdin (or give --file)."),
    ] = None,
    file: RequirementFileOption = None,
) -> None:
    """Edit a run's requirement at its governance pause; governance assesses it again.

    The edited requirement is the argument, or stdin with ``-``, or ``--file
    PATH``, within an answer's cap (``MAX_ANSWER_CHARS``, as the API's).
    """
    from devfactory.control.ceilings import MAX_ANSWER_CHARS

    text = requirement_text(requirement, file, MAX_ANSWER_CHARS)
    decide(ctx, run_id, "modify", text, kind="governance")


@app.command(cls=AnswerCommand, rich_help_panel=PANEL)
def revise(
    ctx: typer.Context,
    run_id: RunArg,
    feedback: Annotated[str, typer.Argument(help="What to change.")],
) -> None:
    """Send the result back at the final review: the first team starts again with feedback."""
    decide(ctx, run_id, "revise", feedback, kind="review")


@app.command(rich_help_panel=PANEL)
def pending(
    run_id: Annotated[
        str | None, typer.Argument(help="Only this run.", callback=plain_name)
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List what paused runs are waiting on, most urgent first, and who may answer.

    Sorted by priority (CRITICAL first), then deadline (soonest first).
    """
    from devfactory.cli.terminal import pause_panel, pending_table

    with common.reading() as reads:
        items = reads.pending(run_id)
    if as_json:
        doc = [
            {
                "run_id": i.run_id,
                "id": i.interrupt_id,
                **i.pause.model_dump(mode="json"),
                "error_line": i.pause.error_line(),
                "deadline": i.deadline.isoformat() if i.deadline else None,
                "expired": i.expired(),
            }
            for i in items
        ]
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
        return
    if not items:
        common.console.print("nothing is waiting for a person")
        return
    common.console.print(pending_table(items))
    for item in items:
        common.console.print(
            pause_panel(item.run_id, item.interrupt_id, item.pause, deadline=item.deadline)
        )


@app.command(rich_help_panel=PANEL)
def usage(run_id: RunArg, as_json: ReadJsonOption = False) -> None:
    """Show a run's tokens, cost and model time by team, against its budget caps.

    With --json: one object with run_id, project, teams (each team's calls,
    input_tokens, output_tokens, cost_usd, seconds), total, run_caps,
    project_caps and project_total.
    """
    from devfactory.cli.terminal import caps_lines, usage_table

    with common.session() as factory:
        spent = factory.usage(run_id)
    if as_json:
        documents.print_json(spent)
        return
    common.console.print(usage_table(spent))
    for line in caps_lines(spent):
        common.console.print(line)


@app.command("approve-project", rich_help_panel=PANEL)
def approve_project(
    project: Annotated[
        str,
        typer.Argument(
            help="The project whose unattended runs you approve.", callback=project_name
        ),
    ],
    by: Annotated[
        str | None,
        typer.Option(
            "--by",
            "--as",
            help="Who approves (default: DEVFACTORY_OPERATOR or $USER).",
            callback=plain_name,
        ),
    ] = None,
    role: RoleOption = None,
    note: Annotated[str, typer.Option(help="Why, or on what terms (recorded).")] = "",
    revoke: Annotated[bool, typer.Option(help="Withdraw the project's pre-approval.")] = False,
) -> None:
    """Pre-approve a project: its unattended runs pass the governance approval without a person.

    Only a role that may approve a governance pause may do it; the record is kept
    in Postgres, appended to the audit log, and named by every run it lets through.
    Text aimed at the reviewers still waits for a person.
    """
    who = identity(get_settings(), by, role)
    with common.session() as factory:
        kept = factory.approve_project(project, by=who[0], role=who[1], note=note, revoke=revoke)
    done = "revoked the pre-approval of" if revoke else "pre-approved"
    common.console.print(
        f"{kept.by} ({kept.role}) {done} project {kept.project!r} at {kept.at:%Y-%m-%d %H:%M}"
    )
