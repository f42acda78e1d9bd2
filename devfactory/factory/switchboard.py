"""Operate the factory: the emergency stop, held teams and projects, thresholds, incidents.

``Switchboard`` is the factory's service for operators (``Factory.switchboard``).
Every change is an admin's (``control/overrides.check_admin``), kept in
Postgres (``store/controls.py``) and appended to the audit log: the factory's
own changes under the chain ``factory:operations``, a project's incidents under
``project:<name>`` and the run that triggered them.

How each control acts:

* **Emergency stop**: every driving process halts its run at the next step
  boundary (``RunDriver._stream`` asks ``halt``): the run goes back to the queue
  with its checkpoint, nothing lost. Workers claim nothing (``RunQueue.claim``),
  and a new run is refused (``HaltedError``) until an admin releases it; then the
  queued runs go on.
* **A held project** (by an admin, or by an incident): its runs halt the same
  way; its new runs are created and queued, and not claimed until it is resumed.
* **A held team**: its stages ask a ``hold`` pause before they start
  (``graph/stage/holds.py``); the other stages of the same step go on. Releasing the
  team lets its next stages start; the holds already asked are answered by
  ``Interventions.resume_team`` (``interventions.py``).
* **Thresholds**: a team's confidence threshold and a project's caps are read by
  the gate and the budget check at each attempt, so running runs follow them.

Incidents: an ``IncidentWatch`` (``incident_watch.py``) is fed by the recorder
as facts arrive (a stage finished, a run ended) and hands each trigger that fires
to ``open_incident``: the project is held, the incident is written to the audit
log and to ``INCIDENTS.md`` in the project's folder (``incidents_file.py``), and
a ``Notice`` goes to the run's live feed and the log. A person resumes, rolls
back or closes it through ``Interventions.decide_incident``: what a decision does
to the incident's run is done there, through ``Answers``; the record of the
decision and the release of the project's hold are done here (``end_incident``).

Why one module: the controls and the incidents are one mechanism, the holds on
the factory that the driver and the queue obey; an incident is an automatic
hold of a project with a record, and its decisions release that same hold.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from devfactory.control.budget import Caps
from devfactory.control.incidents import (
    DECIDED,
    IncidentAction,
    IncidentError,
    IncidentNotFoundError,
    Trigger,
)
from devfactory.control.overrides import (
    Hold,
    OperationInputError,
    UnknownTeamError,
    check_admin,
    check_threshold,
)
from devfactory.events import Notice
from devfactory.factory.incident_watch import IncidentWatch
from devfactory.factory.incidents_file import append_section, decided_section, opened_section
from devfactory.factory.reports import checked_name
from devfactory.factory.stores import Stores
from devfactory.redact import redact
from devfactory.settings import Settings
from devfactory.store.controls import CachedControls, Controls, HaltedError
from devfactory.store.incidents_table import Incident, IncidentStore
from devfactory.store.queue import CHANNEL
from devfactory.store.runs_table import RunRow
from devfactory.store.signins import throttle as signin_throttle

log = logging.getLogger(__name__)

CHAIN = "factory:operations"
"""The audit chain of the factory's own controls (stop, release, teams, thresholds)."""


def _what(payload: Mapping[str, Any]) -> str:
    """Say in a few words what an audit event held (for an incident's last actions)."""
    for key in ("reason", "message", "to", "team", "question", "action"):
        if payload.get(key):
            return str(payload[key])[:160]
    return ""


def _reason(text: str) -> str:
    """Return a person's reason or note as it is kept: stripped, redacted (no NUL), bounded."""
    return redact(text.strip())[:2000]


class Switchboard:
    """The operator's controls and the incidents: what admins change, and what triggers do."""

    def __init__(self, settings: Settings, stores: Stores) -> None:
        self.settings, self.stores = settings, stores
        self.controls = Controls(stores.pool)
        self.incidents = IncidentStore(stores.pool)
        self.current = CachedControls(self.controls, settings.operations.operations_cache_s)
        self._caps: dict[str, tuple[float, dict[str, Caps | None] | None]] = {}
        self._caps_lock = threading.Lock()

    # --- what drives and the graph read ---------------------------------------------------

    def halt(self, project: str) -> str:
        """Say why a run of ``project`` must stop at this step boundary ("" to go on)."""
        return self.current().halt(project)

    def check_new(self) -> None:
        """Raise ``HaltedError`` while the emergency stop holds (nothing new starts)."""
        stop = self.current().stop
        if stop is not None:
            raise HaltedError(stopped_message(stop))

    def check_drive(self, project: str) -> None:
        """Raise ``HaltedError`` when a run of ``project`` may not be driven now."""
        self.check_new()
        held = self.current().projects.get(project)
        if held is not None:
            raise HaltedError(
                f"project {project} is on hold ({held.describe()}); its runs wait until it is "
                "resumed (devfactory incidents, or devfactory project resume)"
            )

    def project_caps(self, project: str) -> dict[str, Caps | None] | None:
        """Return the caps an admin set for ``project`` now (cached ``operations_cache_s``)."""
        ttl = self.settings.operations.operations_cache_s
        with self._caps_lock:
            kept = self._caps.get(project)
            if kept is not None and time.monotonic() - kept[0] < ttl:
                return kept[1]
        kept_caps = self.stores.caps.current(project)
        caps = (
            None
            if kept_caps is None
            else {
                scope: None if c is None else Caps.model_validate(c)
                for scope, c in kept_caps.items()
            }
        )
        with self._caps_lock:
            self._caps[project] = (time.monotonic(), caps)
        return caps

    def watch(self, row: RunRow) -> IncidentWatch:
        """Return the incident triggers for one drive of ``row``."""
        return IncidentWatch(self, self.incidents, self.settings, row)

    # --- the emergency stop ---------------------------------------------------------------

    def stop(self, *, by: str, role: str, reason: str) -> tuple[Hold, bool]:
        """Turn the emergency stop on; return it and whether this call turned it on."""
        check_admin(role, "stop the factory")
        reason = _reason(reason)
        if not reason:
            raise OperationInputError("an emergency stop needs a reason")
        actor = f"{by} ({role})"
        made = self.controls.hold("stop", "", by=actor, reason=reason)
        self.current.forget()
        if made is None:  # held already: by whoever turned it on first
            held = self.current().stop
            if held is None:  # released in between: try again
                return self.stop(by=by, role=role, reason=reason)
            return held, False
        self._audit("emergency_stop", {"reason": reason}, actor)
        log.warning("emergency stop by %s: %s", actor, reason)
        return made, True

    def release(self, *, by: str, role: str, note: str = "") -> Hold | None:
        """Turn the emergency stop off; queued runs go on. None: it was not on."""
        check_admin(role, "release the emergency stop")
        released = self.controls.release("stop", "")
        self.current.forget()
        if released is None:
            return None
        actor = f"{by} ({role})"
        self._audit("emergency_release", {"stopped_by": released.by, "note": _reason(note)}, actor)
        self._wake_workers()
        log.warning("emergency stop released by %s", actor)
        return released

    # --- teams and projects on hold --------------------------------------------------------

    def pause_team(self, team: str, *, by: str, role: str, reason: str = "") -> Hold | None:
        """Hold ``team`` in every run: its stages wait before they start. None: held already."""
        check_admin(role, "pause a team")
        self._known_team(team)
        actor = f"{by} ({role})"
        made = self.controls.hold("team", team, by=actor, reason=_reason(reason))
        self.current.forget()
        if made is not None:
            self._audit("team_paused", {"team": team, "reason": made.reason}, actor)
        return made

    def release_team(self, team: str, *, by: str, role: str) -> Hold | None:
        """Release ``team``: its next stages start. None: it was not held.

        The holds its stages asked already wait for an answer; resuming a team
        (``Interventions.resume_team``) answers them after this.
        """
        check_admin(role, "resume a team")
        self._known_team(team)
        actor = f"{by} ({role})"
        released = self.controls.release("team", team)
        self.current.forget()
        if released is not None:
            self._audit("team_resumed", {"team": team, "held_by": released.by}, actor)
        return released

    def pause_project(self, project: str, *, by: str, role: str, reason: str = "") -> Hold | None:
        """Hold ``project``: its runs halt at their next step, its new runs queue."""
        check_admin(role, "pause a project")
        project = checked_name(project, "the project")
        actor = f"{by} ({role})"
        made = self.controls.hold("project", project, by=actor, reason=_reason(reason))
        self.current.forget()
        if made is not None:
            self._audit("project_paused", {"reason": made.reason}, actor, f"project:{project}")
        return made

    def resume_project(self, project: str, *, by: str, role: str) -> Hold | None:
        """Release ``project`` (a hold by a person or an incident); its runs go on."""
        check_admin(role, "resume a project")
        project = checked_name(project, "the project")
        released = self.controls.release("project", project)
        self.current.forget()
        if released is not None:
            actor = f"{by} ({role})"
            body = {"held_by": released.by}
            self._audit("project_resumed", body, actor, f"project:{project}")
            self._wake_workers()
        return released

    # --- thresholds -----------------------------------------------------------------------

    def set_threshold(
        self, team: str, confidence: float | None, *, by: str, role: str
    ) -> float | None:
        """Set ``team``'s confidence threshold at run time (None: its team.yaml's again).

        Returns the override it replaced (None: there was none). The gate reads it
        at each stage's next attempt, in every run.
        """
        check_admin(role, "change a team's confidence threshold")
        self._known_team(team)
        if confidence is not None:
            check_threshold(confidence)
        actor = f"{by} ({role})"
        before = self.controls.set_threshold(team, confidence, by=actor)
        self.current.forget()
        body = {"team": team, "confidence": confidence, "before": before}
        self._audit("threshold", body, actor)
        return before

    # --- sign-in locks --------------------------------------------------------------------

    def unlock_sign_in(self, name: str, *, by: str, role: str, address: str | None = None) -> int:
        """Clear ``name``'s sign-in locks at every address (and ``address``'s lock, if given).

        Returns how many counts were cleared (0: nothing was locked or counted).
        Recorded in the audit log whatever it cleared, with who asked.
        """
        check_admin(role, "unlock a sign-in")
        name = checked_name(name, "the name")
        actor = f"{by} ({role})"
        cleared = signin_throttle(self.settings, self.stores.pool).unlock(name, address)
        body = {"name": name, "address": address, "cleared": cleared}
        self._audit("signin_unlocked", body, actor)
        log.warning("sign-in of %s unlocked by %s (%d counts cleared)", name, actor, cleared)
        return cleared

    # --- incidents ------------------------------------------------------------------------

    def open_incident(
        self, row: RunRow, trigger: Trigger, spend: dict[str, Any]
    ) -> Incident | None:
        """Open an incident for ``row``'s project: hold it, record it, tell people.

        None when the same trigger already holds an open incident for this run.
        """
        project = row.project
        for open_one in self.incidents.open_for(project):
            if open_one.run_id == row.run_id and open_one.trigger == trigger.kind:
                return None
        last = [
            {
                "seq": e.seq,
                "kind": e.kind,
                "actor": e.actor,
                "at": e.at.isoformat(),
                "what": _what(e.payload),
            }
            for e in self.stores.audit.events(row.run_id)[
                -self.settings.operations.incident_last_actions :
            ]
        ]
        incident = self.incidents.open(
            project, row.run_id, trigger.kind, trigger.summary, last_actions=last, spend=spend
        )
        self.controls.hold(
            "project",
            project,
            by=f"incident:{incident.id}",
            reason=f"{trigger.kind}: {trigger.summary}",
            incident=incident.id,
        )
        self.current.forget()
        body = incident.model_dump(mode="json")
        self.stores.audit.append(
            f"project:{project}", "incident", body, actor="factory", key=f"incident:{incident.id}"
        )
        self.stores.audit.append(
            row.run_id, "incident", body, actor="factory", key=f"incident:{incident.id}"
        )
        append_section(self.settings, project, opened_section(incident))
        message = (
            f"incident {incident.id} ({trigger.kind}): {trigger.summary}; project {project} is "
            "on hold until a person resumes, rolls back or closes it"
        )
        self.stores.feed.append(
            row.run_id, Notice(kind="incident", team="factory", message=message[:2000])
        )
        log.warning("%s", message, extra={"run_id": row.run_id})
        return incident

    def list_incidents(
        self, *, status: str | None = None, limit: int = 50, owners: tuple[str, ...] | None = None
    ) -> list[Incident]:
        """Return the newest incidents first (only those in ``status`` when given).

        ``owners``: only the incidents of runs these people started, the rule runs
        are seen by (``Policy.visible_owners``; None: every incident).
        """
        if status is not None and status not in ("open", *DECIDED.values()):
            raise IncidentError(f"no incident status {status!r}")
        return self.incidents.every(status=status, limit=limit, owners=owners)

    def incident(self, ident: int, *, owners: tuple[str, ...] | None = None) -> Incident:
        """Return one incident, or raise ``IncidentNotFoundError``.

        ``owners`` as for ``list_incidents``: the incident of a run someone may not
        see does not exist for them, as the run does not.
        """
        found = self.incidents.get(ident)
        if found is None or not self._seen_by(found, owners):
            raise IncidentNotFoundError(f"no incident {ident}")
        return found

    def _seen_by(self, incident: Incident, owners: tuple[str, ...] | None) -> bool:
        """Say whether the run of ``incident`` was started by one of ``owners`` (None: all)."""
        if owners is None:
            return True
        row = self.stores.runs.get(incident.run_id) if incident.run_id else None
        return row is not None and row.owner in owners

    def decidable(self, ident: int, action: IncidentAction, *, role: str) -> Incident:
        """Return the open incident ``ident`` that ``role`` may decide with ``action``.

        Raises ``OperationsRefusedError`` for a role that is not an admin's,
        ``IncidentNotFoundError`` for no such incident, and ``IncidentError`` for
        an unknown action or an incident decided already.
        """
        check_admin(role, "decide an incident")
        if action not in DECIDED:
            raise IncidentError(f"an incident is resumed, rolled back or closed, not {action!r}")
        incident = self.incident(ident)
        if incident.status != "open":
            raise IncidentError(f"incident {ident} is {incident.status} already")
        return incident

    def end_incident(
        self, incident: Incident, action: IncidentAction, *, by: str, role: str, decision: str
    ) -> Incident:
        """End an incident ``decidable`` returned with ``action``, saying ``decision``.

        When no other incident of the project is open, the hold the incidents put
        on it is released (a hold an admin set by hand stays). The decision is
        recorded in the incident, the audit log and INCIDENTS.md. What it does to
        the incident's run is done first, by ``Interventions.decide_incident``.
        """
        check_admin(role, "decide an incident")
        actor = f"{by} ({role})"
        ident = incident.id
        decided = self.incidents.decide(ident, DECIDED[action], by=actor, decision=decision)
        if decided is None:
            raise IncidentError(f"incident {ident} was decided by someone else first")
        if not self.incidents.open_for(incident.project):
            if self.controls.release("project", incident.project, only_incident=True):
                self._wake_workers()
        self.current.forget()
        body = decided.model_dump(mode="json", include={"id", "status", "decided_by", "decision"})
        key = f"incident:{ident}:{decided.status}"
        self.stores.audit.append(
            f"project:{incident.project}", "incident_decided", body, actor=actor, key=key
        )
        if incident.run_id:
            self.stores.audit.append(
                incident.run_id, "incident_decided", body, actor=actor, key=key
            )
        append_section(self.settings, incident.project, decided_section(decided))
        return decided

    # --- helpers --------------------------------------------------------------------------

    def _known_team(self, team: str) -> None:
        from devfactory.teams import load_teams

        teams = load_teams()
        if team not in teams:
            raise UnknownTeamError(f"no team {team!r}; teams: {', '.join(sorted(teams))}")

    def _audit(self, kind: str, body: dict[str, Any], actor: str, chain: str = CHAIN) -> None:
        at = datetime.now(UTC).isoformat()
        self.stores.audit.append(chain, kind, {**body, "at": at}, actor=actor)

    def _wake_workers(self) -> None:
        with self.stores.pool.connection() as conn:
            conn.execute(f"NOTIFY {CHANNEL}")


def stopped_message(stop: Hold) -> str:
    """Say why nothing new starts while the emergency stop holds."""
    return (
        f"the factory is stopped ({stop.describe()}); nothing new starts until an admin "
        "releases it (devfactory release)"
    )
