"""Operations over HTTP: the emergency stop, held teams and projects, thresholds, incidents.

Every change is an admin's (403 for any other role) and is appended to the
audit log with who made it; operators may read what holds and the incidents.
An incident is seen by whoever may see its run (its owner, and the policy's
``see_all_runs`` roles); to anyone else it does not exist (404), and a hold
it put on a project says only which incident holds it. A held project is
listed only to those who may see its name (``visible_projects``: the projects
of the runs one may see). While the emergency
stop holds, a request that would start or drive a run is answered 423
(Locked) with who stopped the factory and why (``errors.py``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from devfactory.api.auth import Permission, Rules, may, visible_projects
from devfactory.api.errors import ERRORS
from devfactory.api.schemas import PlainName, examples, one_line_name
from devfactory.control.ceilings import MAX_PROJECT_CHARS
from devfactory.control.incidents import IncidentAction, IncidentNotFoundError
from devfactory.control.overrides import Hold
from devfactory.factory.interventions import Interventions
from devfactory.factory.switchboard import Switchboard
from devfactory.store.incidents_table import Incident
from devfactory.users import Person

router = APIRouter(tags=["operations"], responses=ERRORS)
TeamSlug = Annotated[str, Path(max_length=80), AfterValidator(one_line_name)]
ProjectName = Annotated[str, Path(max_length=MAX_PROJECT_CHARS), AfterValidator(one_line_name)]


class StopRequest(BaseModel):
    """Why the factory must stop now."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=2000, description="Kept in the audit log.")


class NoteRequest(BaseModel):
    """A note kept with a release, a resume or an incident's decision."""

    model_config = ConfigDict(extra="forbid")

    note: str = Field(default="", max_length=2000)


class HoldRequest(BaseModel):
    """Why a team or a project is held."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(default="", max_length=2000)


class ThresholdRequest(BaseModel):
    """A team's confidence threshold, set at run time (null: back to its team.yaml's)."""

    model_config = examples({"team": "qa-engineering", "confidence": 0.8}, extra="forbid")

    team: PlainName = Field(min_length=1, max_length=80)
    confidence: float | None = Field(ge=0.0, le=1.0)


class HoldView(BaseModel):
    """One control that holds."""

    kind: Literal["stop", "team", "project"]
    target: str
    by: str
    reason: str
    at: datetime
    incident: int | None = None


class ControlsView(BaseModel):
    """What holds now: the emergency stop, held teams and projects, thresholds."""

    stopped: bool
    stop: HoldView | None
    teams: list[HoldView]
    projects: list[HoldView]
    thresholds: dict[str, float]


class Done(BaseModel):
    """What a change did."""

    changed: bool
    message: str
    runs: list[str] = Field(default_factory=list)  # the runs it let go on


def _view(hold: Hold, hidden: bool = False) -> HoldView:
    """Describe a hold; ``hidden``: its incident's run is not the caller's to see."""
    shown = HoldView.model_validate(hold, from_attributes=True)
    return shown.model_copy(update={"reason": f"incident {hold.incident}"}) if hidden else shown


def switchboard_of(request: Request) -> Switchboard:
    """Return the factory's operations service."""
    ops: Switchboard = request.app.state.factory.switchboard
    return ops


def interventions_of(request: Request) -> Interventions:
    """Return the factory's service for the operator's decisions that answer runs."""
    done: Interventions = request.app.state.factory.interventions
    return done


@router.get("/operations", response_model=ControlsView, summary="What holds now")
def controls(
    person: Annotated[Person, may(Permission.CONTROL, "read the operations")],
    rules: Rules,
    request: Request,
) -> ControlsView:
    """Show the emergency stop, the held teams and projects, and the thresholds set.

    A held project is listed only when the caller may see its name (a project
    of a run they may see); one held by an incident of a run the caller may not
    see is listed with the incident's id alone: what the run did is its owner's
    to read.
    """
    ops = switchboard_of(request)
    now = ops.controls.read()
    owners = rules.visible_owners(person.name, person.role)
    seen = visible_projects(request.app.state.factory.runs, person, rules)

    def hidden(hold: Hold) -> bool:
        if hold.incident is None or owners is None:
            return False
        try:
            ops.incident(hold.incident, owners=owners)
        except IncidentNotFoundError:
            return True
        return False

    return ControlsView(
        stopped=now.stop is not None,
        stop=_view(now.stop) if now.stop is not None else None,
        teams=[_view(h) for h in now.teams.values()],
        projects=[
            _view(h, hidden(h)) for h in now.projects.values() if seen is None or h.target in seen
        ],
        thresholds=now.thresholds,
    )


@router.post("/operations/stop", response_model=Done, summary="Emergency stop")
def stop(
    body: StopRequest,
    person: Annotated[Person, may(Permission.PURGE, "use the emergency stop")],
    request: Request,
) -> Done:
    """Stop every run at its next step and refuse new ones until released (admins only)."""
    held, made = switchboard_of(request).stop(by=person.name, role=person.role, reason=body.reason)
    return Done(changed=made, message=held.describe())


@router.post("/operations/release", response_model=Done, summary="Release the emergency stop")
def release(
    body: NoteRequest,
    person: Annotated[Person, may(Permission.PURGE, "release the emergency stop")],
    request: Request,
) -> Done:
    """Release the emergency stop; queued runs go on (admins only)."""
    released = switchboard_of(request).release(by=person.name, role=person.role, note=body.note)
    if released is None:
        return Done(changed=False, message="the emergency stop was not on")
    return Done(changed=True, message=f"released ({released.describe()})")


@router.post("/teams/{slug}/pause", response_model=Done, summary="Pause a team in every run")
def pause_team(
    slug: TeamSlug,
    body: HoldRequest,
    person: Annotated[Person, may(Permission.PURGE, "pause a team")],
    request: Request,
) -> Done:
    """Hold a team: its stages wait before they start; other stages go on (admins only)."""
    made = switchboard_of(request).pause_team(
        slug, by=person.name, role=person.role, reason=body.reason
    )
    return Done(changed=made is not None, message=f"team {slug} paused")


@router.post("/teams/{slug}/resume", response_model=Done, summary="Resume a team")
def resume_team(
    slug: TeamSlug,
    person: Annotated[Person, may(Permission.PURGE, "resume a team")],
    request: Request,
) -> Done:
    """Release a team and let each of its held stages go on (admins only)."""
    went_on = interventions_of(request).resume_team(slug, by=person.name, role=person.role)
    return Done(changed=True, message=f"team {slug} resumed", runs=went_on)


@router.post("/projects/{project}/pause", response_model=Done, summary="Pause a project")
def pause_project(
    project: ProjectName,
    body: HoldRequest,
    person: Annotated[Person, may(Permission.PURGE, "pause a project")],
    request: Request,
) -> Done:
    """Hold a project: its runs halt at their next step, new ones queue (admins only)."""
    made = switchboard_of(request).pause_project(
        project, by=person.name, role=person.role, reason=body.reason
    )
    return Done(changed=made is not None, message=f"project {project} paused")


@router.post("/projects/{project}/resume", response_model=Done, summary="Resume a project")
def resume_project(
    project: ProjectName,
    person: Annotated[Person, may(Permission.PURGE, "resume a project")],
    request: Request,
) -> Done:
    """Release a project's hold (a person's or an incident's); its runs go on (admins only)."""
    released = switchboard_of(request).resume_project(project, by=person.name, role=person.role)
    return Done(changed=released is not None, message=f"project {project} resumed")


@router.post("/thresholds", response_model=Done, summary="Set a team's confidence threshold")
def set_threshold(
    body: ThresholdRequest,
    person: Annotated[Person, may(Permission.PURGE, "set a team's threshold")],
    request: Request,
) -> Done:
    """Set a team's confidence threshold; the next attempt of every run uses it (admins only)."""
    before = switchboard_of(request).set_threshold(
        body.team, body.confidence, by=person.name, role=person.role
    )
    was = "its own" if before is None else f"{before:g}"
    now = "its own" if body.confidence is None else f"{body.confidence:g}"
    return Done(changed=True, message=f"team {body.team}: threshold {now} (was {was})")


@router.get("/incidents", response_model=list[Incident], summary="List incidents")
def list_incidents(
    person: Annotated[Person, may(Permission.CONTROL, "read the incidents")],
    rules: Rules,
    request: Request,
    status: Literal["open", "resumed", "rolled_back", "closed"] | None = None,
    limit: int = Query(default=50, ge=1, le=500),
) -> list[Incident]:
    """List the incidents of the runs the caller may see, newest first (in ``status`` if given)."""
    owners = rules.visible_owners(person.name, person.role)
    return switchboard_of(request).list_incidents(status=status, limit=limit, owners=owners)


@router.get("/incidents/{ident}", response_model=Incident, summary="Show an incident")
def show_incident(
    ident: int,
    person: Annotated[Person, may(Permission.CONTROL, "read the incidents")],
    rules: Rules,
    request: Request,
) -> Incident:
    """Show one incident of a run the caller may see: summary, last actions, spend, decision."""
    owners = rules.visible_owners(person.name, person.role)
    return switchboard_of(request).incident(ident, owners=owners)


@router.post("/incidents/{ident}/{action}", response_model=Incident, summary="Decide an incident")
def decide_incident(
    ident: int,
    action: IncidentAction,
    body: NoteRequest,
    person: Annotated[Person, may(Permission.PURGE, "resume, roll back or close an incident")],
    request: Request,
) -> Incident:
    """Resume, roll back (revise at review, else cancel) or close an incident (admins only)."""
    return interventions_of(request).decide_incident(
        ident, action, by=person.name, role=person.role, text=body.note
    )
