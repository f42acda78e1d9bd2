"""Commands for operators: the emergency stop, held teams and projects, thresholds, incidents.

Every change is an admin's (``--role admin``, or the ``operator_role`` setting)
and is appended to the audit log with who made it; a refused role exits 2 with
the reason. ``devfactory controls`` shows what holds now.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer

from devfactory.cli import common
from devfactory.cli.common import (
    EXIT_USAGE,
    AsOption,
    RoleOption,
    app,
    fail,
    get_settings,
    identity,
    plain_name,
    project_name,
)

PANEL = "Operations"
team_app = typer.Typer(help="Pause or resume a team in every run.", no_args_is_help=True)
project_app = typer.Typer(help="Pause or resume a project's runs.", no_args_is_help=True)
incidents_app = typer.Typer(
    help="Incidents that paused a project: list, show, resume, roll back, close."
)
app.add_typer(team_app, name="team", rich_help_panel=PANEL)
app.add_typer(project_app, name="project", rich_help_panel=PANEL)
app.add_typer(incidents_app, name="incidents", rich_help_panel=PANEL)

TeamArg = Annotated[
    str, typer.Argument(help="The team's slug (devfactory teams).", callback=plain_name)
]
ProjectArg = Annotated[str, typer.Argument(help="The project.", callback=project_name)]
IncidentArg = Annotated[int, typer.Argument(min=1, help="The incident's id.")]
ReasonOption = Annotated[str, typer.Option("--reason", help="Why (kept in the audit log).")]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")]
StatusOption = Annotated[
    str | None, typer.Option(help="Only these: open, resumed, rolled_back, closed.")
]


@contextmanager
def operating() -> Iterator[Any]:
    """Open the factory for one operator's command; refusals and bad input exit 2."""
    with common.session() as factory:  # a refusal exits with its code (common.refused)
        try:
            yield factory
        except ValueError as exc:  # a value a check refuses
            raise fail(str(exc), EXIT_USAGE) from exc


@contextmanager
def acting(by: str | None, role: str | None) -> Iterator[tuple[Any, tuple[str, str]]]:
    """Open the factory for an admin's change, with who makes it (checked first: ``identity``)."""
    who = identity(get_settings(), by, role)
    with operating() as factory:
        yield factory, who


def _say(text: str) -> None:
    common.console.print(text, soft_wrap=True)


@app.command(rich_help_panel=PANEL)
def stop(
    reason: ReasonOption,
    by: AsOption = None,
    role: RoleOption = None,
) -> None:
    """Emergency stop: every run halts at its next step and nothing new starts (admin)."""
    with acting(by, role) as (factory, who):
        held, made = factory.switchboard.stop(by=who[0], role=who[1], reason=reason)
    said = "emergency stop ON" if made else "the emergency stop was already on"
    _say(f"{said}: {held.describe()}; release it with `devfactory release`")


@app.command(rich_help_panel=PANEL)
def release(
    note: Annotated[str, typer.Option("--note", help="A note for the audit log.")] = "",
    by: AsOption = None,
    role: RoleOption = None,
) -> None:
    """Release the emergency stop: queued runs go on (admin)."""
    with acting(by, role) as (factory, who):
        released = factory.switchboard.release(by=who[0], role=who[1], note=note)
    _say("the emergency stop was not on" if released is None else "emergency stop released")


@team_app.command("pause")
def pause_team(
    team: TeamArg, reason: ReasonOption = "", by: AsOption = None, role: RoleOption = None
) -> None:
    """Hold a team: its stages wait before they start, in every run (admin)."""
    with acting(by, role) as (factory, who):
        made = factory.switchboard.pause_team(team, by=who[0], role=who[1], reason=reason)
    _say(f"team {team} paused" if made is not None else f"team {team} was already paused")


@team_app.command("resume")
def resume_team(team: TeamArg, by: AsOption = None, role: RoleOption = None) -> None:
    """Resume a team: each of its held stages goes on (its run returns to the workers)."""
    with acting(by, role) as (factory, who):
        went_on = factory.interventions.resume_team(team, by=who[0], role=who[1])
    runs = ", ".join(went_on) or "none waited"
    _say(f"team {team} resumed; runs going on: {runs}")


@project_app.command("pause")
def pause_project(
    project: ProjectArg, reason: ReasonOption = "", by: AsOption = None, role: RoleOption = None
) -> None:
    """Hold a project: its runs halt at their next step, its new runs queue (admin)."""
    with acting(by, role) as (factory, who):
        made = factory.switchboard.pause_project(project, by=who[0], role=who[1], reason=reason)
    _say(f"project {project} paused" if made else f"project {project} was already on hold")


@project_app.command("resume")
def resume_project(project: ProjectArg, by: AsOption = None, role: RoleOption = None) -> None:
    """Release a project's hold (a person's or an incident's); its runs go on (admin)."""
    with acting(by, role) as (factory, who):
        released = factory.switchboard.resume_project(project, by=who[0], role=who[1])
    _say(f"project {project} resumed" if released else f"project {project} was not on hold")


@app.command(rich_help_panel=PANEL)
def threshold(
    team: TeamArg,
    value: Annotated[
        float | None,
        typer.Argument(min=0.0, max=1.0, help="The confidence the gate needs (0..1)."),
    ] = None,
    clear: Annotated[
        bool, typer.Option("--clear", help="Back to the team's own threshold (team.yaml).")
    ] = False,
    by: AsOption = None,
    role: RoleOption = None,
) -> None:
    """Set a team's confidence threshold at run time: the next attempt of every run uses it."""
    if (value is None) == (not clear):
        raise fail("give a VALUE between 0 and 1, or --clear", EXIT_USAGE)
    with acting(by, role) as (factory, who):
        before = factory.switchboard.set_threshold(
            team, None if clear else value, by=who[0], role=who[1]
        )
    was = "its own" if before is None else f"{before:g}"
    now = "its own (team.yaml)" if clear else f"{value:g}"
    _say(f"team {team}: confidence threshold {now} (was {was})")


@app.command(rich_help_panel=PANEL)
def caps(
    project: ProjectArg,
    tokens: Annotated[int | None, typer.Option(min=1, help="The project's token cap.")] = None,
    cost_usd: Annotated[
        float | None, typer.Option(min=0.000001, help="The project's cost cap (USD).")
    ] = None,
    seconds: Annotated[
        float | None, typer.Option(min=0.001, help="The project's model-seconds cap.")
    ] = None,
    by: AsOption = None,
    role: RoleOption = None,
) -> None:
    """Set a project's budget caps at run time: running runs check them at their next attempt."""
    from devfactory.control.budget import Caps
    from devfactory.control.hitl import DecisionError

    if tokens is None and cost_usd is None and seconds is None:
        raise fail("give at least one of --tokens, --cost-usd, --seconds", EXIT_USAGE)
    who = identity(get_settings(), by, role)
    try:
        new = Caps(tokens=tokens, cost_usd=cost_usd, seconds=seconds)
    except ValueError as exc:
        raise fail(str(exc), EXIT_USAGE) from exc
    with common.session() as factory:
        current = {
            scope: Caps.model_validate(c)
            for scope, c in (factory.stores.caps.current(project) or {}).items()
        }
        try:
            kept = factory.set_project_caps(
                project, {**current, "project": new}, by=who[0], role=who[1]
            )
        except (DecisionError, ValueError) as exc:
            raise fail(str(exc), EXIT_USAGE) from exc
    _say(f"project {project}: caps {json.dumps(kept['project'])}")


@app.command(rich_help_panel=PANEL)
def controls(as_json: JsonFlag = False) -> None:
    """Show what holds now: the emergency stop, paused teams and projects, thresholds."""
    with operating() as factory:
        now = factory.switchboard.controls.read()
    holds = [h for h in (now.stop, *now.teams.values(), *now.projects.values()) if h]
    if as_json:
        shown = [{**dataclasses.asdict(h), "at": h.at.isoformat()} for h in holds]
        doc = {"stopped": now.stop is not None, "holds": shown, "thresholds": now.thresholds}
        typer.echo(json.dumps(doc))
        return
    _say("emergency stop: " + ("ON" if now.stop else "off"))
    for held in holds:
        _say(f"- {held.describe()} (since {held.at:%Y-%m-%d %H:%M:%S})")
    for team, value in sorted(now.thresholds.items()):
        _say(f"- team {team}: confidence threshold {value:g}")


def _incident_lines(incident: Any) -> list[str]:
    return [
        f"incident {incident.id} [{incident.status}] {incident.trigger}, project "
        f"{incident.project}, run {incident.run_id or '-'}, "
        f"opened {incident.opened_at:%Y-%m-%d %H:%M:%S}",
        f"  {incident.summary}",
    ]


@incidents_app.callback(invoke_without_command=True)
def incidents(
    ctx: typer.Context,
    status: StatusOption = None,
    as_json: JsonFlag = False,
) -> None:
    """List the incidents, newest first (with no subcommand)."""
    if ctx.invoked_subcommand is not None:
        return
    _list(status, as_json)


@incidents_app.command("list")
def list_incidents(
    status: StatusOption = None,
    as_json: JsonFlag = False,
) -> None:
    """List the incidents, newest first."""
    _list(status, as_json)


def _list(status: str | None, as_json: bool) -> None:
    with operating() as factory:
        found = factory.switchboard.list_incidents(status=status)
    if as_json:
        typer.echo(json.dumps([i.model_dump(mode="json") for i in found]))
        return
    if not found:
        _say("no incidents")
    for incident in found:
        for line in _incident_lines(incident):
            _say(line)


@incidents_app.command("show")
def show_incident(ident: IncidentArg, as_json: JsonFlag = False) -> None:
    """Show one incident: its summary, last actions, spend and the decision."""
    with operating() as factory:
        incident = factory.switchboard.incident(ident)
    if as_json:
        typer.echo(incident.model_dump_json())
        return
    for line in _incident_lines(incident):
        _say(line)
    _say(f"  spend since the last gate: {json.dumps(incident.spend.get('since_last_gate', {}))}")
    _say(f"  the run's spend: {json.dumps(incident.spend.get('run', {}))}")
    _say("  last actions:")
    for action in incident.last_actions:
        _say(
            f"    {action.get('at', '')} {action.get('kind', '')} by {action.get('actor', '')}: "
            f"{action.get('what', '')}"
        )
    if incident.decided_by:
        _say(f"  decided by {incident.decided_by}: {incident.decision}")


def _decide(action: str) -> Callable[..., None]:
    def command(
        ident: IncidentArg,
        note: Annotated[str, typer.Option("--note", help="Why (kept with the decision).")] = "",
        by: AsOption = None,
        role: RoleOption = None,
    ) -> None:
        with acting(by, role) as (factory, who):
            decided = factory.interventions.decide_incident(
                ident, action, by=who[0], role=who[1], text=note
            )
        _say(f"incident {decided.id} {decided.status}: {decided.decision}")

    return command


_HELP = {
    "resume": "Resume an incident's project: its runs go on (admin).",
    "rollback": "Roll back an incident's run (revise at its review, else cancel), resume the "
    "project (admin).",
    "close": "Close an incident and resume its project (admin).",
}
for _action, _text in _HELP.items():
    incidents_app.command(_action, help=_text)(_decide(_action))
