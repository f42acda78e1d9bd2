"""Operate the factory: the emergency stop, held teams and projects, thresholds, incidents.

``Operations`` is the factory's service for operators (``Factory.operations``).
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
  (``graph/holds.py``); the other stages of the same step go on. Resuming the team
  answers every hold of that team (``approve`` by ``policy:operations``).
* **Thresholds**: a team's confidence threshold and a project's caps are read by
  the gate and the budget check at each attempt, so running runs follow them.

Incidents: ``IncidentWatch`` is fed by the recorder as facts arrive (a stage
finished, a run ended) and applies the pure rules of ``control/incidents.py``.
A trigger opens an incident: the project is held, the incident is written to the
audit log and to ``INCIDENTS.md`` in the project's folder, and a ``Notice`` goes
to the run's live feed and the log. A person resumes, rolls back or closes it.

Why one module: the controls and the incidents are one mechanism, the holds on
the factory that the driver and the queue obey; an incident is an automatic
hold of a project with a record, and its decisions release that same hold.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import threading
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from devfactory.contracts import CheckRun, StageOutcome, StageRecord
from devfactory.control.budget import Caps
from devfactory.control.hitl import Decision, DecisionError
from devfactory.control.incidents import (
    DECIDED,
    IncidentAction,
    StageFact,
    Thresholds,
    Trigger,
    failing_streak,
    sandbox_violation,
    stage_triggers,
)
from devfactory.control.lifecycle import TERMINAL, Phase
from devfactory.control.overrides import (
    ADMIN,
    OPERATIONS,
    Hold,
    Overrides,
    check_admin,
    check_threshold,
)
from devfactory.events import Notice
from devfactory.graph.checkpoints import upgrade
from devfactory.graph.state import final_checks_of
from devfactory.redact import redact
from devfactory.reports import checked_name
from devfactory.settings import Settings
from devfactory.shown import one_line
from devfactory.store.controls import CachedControls, Controls, HaltedError
from devfactory.store.incidents import Incident, IncidentStore
from devfactory.store.queue import CHANNEL
from devfactory.store.runs import RunBusyError, RunRow, RunStateError
from devfactory.stores import Stores

if TYPE_CHECKING:
    from devfactory.answers import Answers

log = logging.getLogger(__name__)

CHAIN = "factory:operations"
"""The audit chain of the factory's own controls (stop, release, teams, thresholds)."""


class UnknownTeamError(ValueError):
    """No team has that slug."""


class IncidentError(ValueError):
    """An incident that cannot be decided as asked (not open any more, an unknown action)."""


class IncidentNotFoundError(IncidentError):
    """No incident has that id."""


def project_folder(settings: Settings, project: str) -> Path:
    """Return the project's data folder: ``<data_dir>/projects/<name>`` (a safe name).

    A name with characters a folder should not carry (a path separator, a
    leading dot) keeps its safe characters and gets a digest of the whole name,
    so two projects never share a folder and none escapes ``projects/``.
    """
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", project).lstrip(".") or "_"
    if safe != project:
        safe = f"{safe[:60]}-{hashlib.sha256(project.encode()).hexdigest()[:12]}"
    return settings.data_dir / "projects" / safe


def append_text(path: Path, text: str) -> None:
    """Append ``text`` to ``path`` (made 0600 if new), never through a link.

    Raises OSError when the folder or the file is a link, or cannot be written.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    for part in (path.parent, path.parent.parent):
        if part.is_symlink():
            raise OSError(f"{part} is a link; nothing is written through it")
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(path, flags, 0o600)
    with os.fdopen(fd, "a", encoding="utf-8") as out:
        out.write(text)


def _incident_markdown(incident: Incident) -> str:
    """Render an incident as INCIDENTS.md keeps it: one section per incident.

    Every value is written on its own line (``one_line``): a summary, an action
    or a name from a run cannot start a line of its own, so no section or
    incident can be forged inside another.
    """
    lines = [
        f"## Incident {incident.id}: {one_line(incident.trigger)}"
        f" ({incident.opened_at.isoformat()})",
        "",
        f"- Project: {one_line(incident.project)}",
        f"- Run: {one_line(incident.run_id or '-')}",
        f"- Summary: {one_line(incident.summary)}",
        f"- Spend since the last gate: {json.dumps(incident.spend.get('since_last_gate', {}))}",
        f"- Run's spend: {json.dumps(incident.spend.get('run', {}))}",
        "- Last actions:",
    ]
    lines += [
        "  - "
        + one_line(
            f"{a.get('at', '')} {a.get('kind', '')} by {a.get('actor', '')}: {a.get('what', '')}"
        )
        for a in incident.last_actions
    ] or ["  - (none recorded)"]
    return "\n".join(lines) + "\n\n"


def _decision_markdown(incident: Incident) -> str:
    at = incident.decided_at.isoformat() if incident.decided_at else ""
    return (
        f"### Incident {incident.id} {one_line(incident.status)} ({at})\n\n"
        f"- By: {one_line(incident.decided_by)}\n- Decision: {one_line(incident.decision)}\n\n"
    )


def _what(payload: Mapping[str, Any]) -> str:
    """Say in a few words what an audit event held (for an incident's last actions)."""
    for key in ("reason", "message", "to", "team", "question", "action"):
        if payload.get(key):
            return str(payload[key])[:160]
    return ""


def _reason(text: str) -> str:
    """Return a person's reason or note as it is kept: stripped, redacted (no NUL), bounded."""
    return redact(text.strip())[:2000]


def _spend(tokens: int = 0, cost_usd: float = 0.0, seconds: float = 0.0) -> dict[str, Any]:
    return {"tokens": tokens, "cost_usd": round(cost_usd, 6), "seconds": round(seconds, 3)}


class Operations:
    """The operator's controls and the incidents: what admins change, and what triggers do.

    ``answers`` is set by the factory once it is made (answering holds and
    rolling back runs go through it, as a person's answers do).
    """

    def __init__(self, settings: Settings, stores: Stores) -> None:
        self.settings, self.stores = settings, stores
        self.controls = Controls(stores.pool)
        self.incidents = IncidentStore(stores.pool)
        self.current = CachedControls(self.controls, settings.operations_cache_s)
        self.answers: Answers | None = None
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
        ttl = self.settings.operations_cache_s
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

    def overrides(self) -> Overrides:
        """Return the controls as this process last read them (at most ``operations_cache_s``)."""
        return self.current()

    def watch(self, row: RunRow) -> IncidentWatch:
        """Return the incident triggers for one drive of ``row``."""
        return IncidentWatch(self, row)

    # --- the emergency stop ---------------------------------------------------------------

    def stop(self, *, by: str, role: str, reason: str) -> tuple[Hold, bool]:
        """Turn the emergency stop on; return it and whether this call turned it on."""
        check_admin(role, "stop the factory")
        reason = _reason(reason)
        if not reason:
            raise ValueError("an emergency stop needs a reason")
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

    def resume_team(self, team: str, *, by: str, role: str) -> list[str]:
        """Release ``team`` and answer each of its holds; return the runs that go on.

        Each hold is answered ``approve`` by ``policy:operations`` (acting as admin),
        and its run goes back to the workers.
        """
        check_admin(role, "resume a team")
        self._known_team(team)
        actor = f"{by} ({role})"
        released = self.controls.release("team", team)
        self.current.forget()
        if released is not None:
            self._audit("team_resumed", {"team": team, "held_by": released.by}, actor)
        return self._answer_holds(team, actor)

    def pause_project(self, project: str, *, by: str, role: str, reason: str = "") -> Hold | None:
        """Hold ``project``: its runs halt at their next step, its new runs queue."""
        check_admin(role, "pause a project")
        project = checked_name(project, "the project")
        actor = f"{by} ({role})"
        made = self.controls.hold("project", project, by=actor, reason=_reason(reason))
        self.current.forget()
        if made is not None:
            self._audit_project(project, "project_paused", {"reason": made.reason}, actor)
        return made

    def resume_project(self, project: str, *, by: str, role: str) -> Hold | None:
        """Release ``project`` (a hold by a person or an incident); its runs go on."""
        check_admin(role, "resume a project")
        project = checked_name(project, "the project")
        released = self.controls.release("project", project)
        self.current.forget()
        if released is not None:
            actor = f"{by} ({role})"
            self._audit_project(project, "project_resumed", {"held_by": released.by}, actor)
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
            for e in self.stores.audit.events(row.run_id)[-self.settings.incident_last_actions :]
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
        self._write_incidents_md(project, _incident_markdown(incident))
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

    def decide_incident(
        self, ident: int, action: IncidentAction, *, by: str, role: str, text: str = ""
    ) -> Incident:
        """End an open incident: resume its project, roll its run back, or close it.

        ``rollback`` sends the run that triggered it back: with ``revise`` when it
        waits on its final review, else it is cancelled with the reason. Every
        decision ends the incident and, when no other incident of the project is
        open, releases the hold the incidents put on it (a hold an admin set by
        hand stays). The decision is recorded in the incident, the audit log and
        INCIDENTS.md.
        """
        check_admin(role, "decide an incident")
        if action not in DECIDED:
            raise IncidentError(f"an incident is resumed, rolled back or closed, not {action!r}")
        incident = self.incident(ident)
        if incident.status != "open":
            raise IncidentError(f"incident {ident} is {incident.status} already")
        actor = f"{by} ({role})"
        said = redact(text.strip())[:1500]
        what = f"{action} by {actor}" + (f": {said}" if said else "")
        if action == "rollback":
            what += f"; {self._roll_back(incident, by, role, said)}"
        decided = self.incidents.decide(ident, DECIDED[action], by=actor, decision=what)
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
        self._write_incidents_md(incident.project, _decision_markdown(decided))
        return decided

    # --- helpers --------------------------------------------------------------------------

    def _roll_back(self, incident: Incident, by: str, role: str, text: str) -> str:
        """Send the incident's run back (revise at its review, else cancel); say what was done.

        The admin who decided is who revises or cancels it, in the run's records too.
        """
        answers = self._answers()
        if not incident.run_id:
            return "no run to roll back"
        row = answers.queries.get(incident.run_id)
        if row.status in TERMINAL:
            return f"run {row.run_id} had ended {row.status}; nothing to roll back"
        why = f"incident {incident.id} ({incident.trigger}) rolled back by {by} ({role})" + (
            f": {text}" if text else ""
        )
        review = [p for p in answers.queries.pending(row.run_id) if p.pause.kind == "review"]
        if review and "revise" in review[0].pause.actions:
            decision = Decision(action="revise", text=why[:8000], by=by, role=role)
            answers.answer(
                row.run_id,
                decision,
                interrupt_id=review[0].interrupt_id,
                kind="review",
                queue=True,
            )
            return f"run {row.run_id} sent back with revise"
        answers.cancel(row.run_id, by=by, role=role)
        return f"run {row.run_id} cancelled"

    def _answer_holds(self, team: str, actor: str) -> list[str]:
        answers = self._answers()
        went_on: list[str] = []
        for item in answers.queries.pending():
            if item.pause.kind != "hold" or item.pause.team != team:
                continue
            decision = Decision(
                action="approve", text=f"team {team} resumed by {actor}", by=OPERATIONS, role=ADMIN
            )
            try:
                answers.answer(
                    item.run_id,
                    decision,
                    interrupt_id=item.interrupt_id,
                    kind="hold",
                    queue=True,
                    by_policy=True,
                )
            except (DecisionError, RunStateError, RunBusyError) as exc:
                log.info("hold of run %s not answered: %s", item.run_id, exc)
                continue
            went_on.append(item.run_id)
        return went_on

    def _answers(self) -> Answers:
        if self.answers is None:
            raise RuntimeError("Operations.answers is not set (the factory sets it)")
        return self.answers

    def _known_team(self, team: str) -> None:
        from devfactory.teams import load_teams

        teams = load_teams()
        if team not in teams:
            raise UnknownTeamError(f"no team {team!r}; teams: {', '.join(sorted(teams))}")

    def _audit(self, kind: str, body: dict[str, Any], actor: str) -> None:
        at = datetime.now(UTC).isoformat()
        self.stores.audit.append(CHAIN, kind, {**body, "at": at}, actor=actor)

    def _audit_project(self, project: str, kind: str, body: dict[str, Any], actor: str) -> None:
        at = datetime.now(UTC).isoformat()
        self.stores.audit.append(f"project:{project}", kind, {**body, "at": at}, actor=actor)

    def _wake_workers(self) -> None:
        with self.stores.pool.connection() as conn:
            conn.execute(f"NOTIFY {CHANNEL}")

    def _write_incidents_md(self, project: str, text: str) -> None:
        path = project_folder(self.settings, project) / "INCIDENTS.md"
        try:
            fresh = not path.exists()
            title = f"# Incidents of project {one_line(project)}\n\n"
            append_text(path, (title if fresh else "") + text)
        except OSError as exc:  # the record is in Postgres and the audit log either way
            log.warning("INCIDENTS.md of project %s not written: %s", project, exc)

    def thresholds(self) -> Thresholds:
        """Return the incident triggers' thresholds (the ``incident_*`` settings)."""
        s = self.settings
        return Thresholds(
            spend_multiple=s.incident_spend_multiple,
            latency_multiple=s.incident_latency_multiple,
            cost_multiple=s.incident_cost_multiple,
            failing_runs=s.incident_failing_runs,
            min_samples=s.incident_min_samples,
        )


def stopped_message(stop: Hold) -> str:
    """Say why nothing new starts while the emergency stop holds."""
    return (
        f"the factory is stopped ({stop.describe()}); nothing new starts until an admin "
        "releases it (devfactory release)"
    )


class IncidentWatch:
    """One drive's incident triggers, fed by its recorder as the facts arrive.

    ``stage`` takes each finished stage (spend against the medians of the same
    team's recent stages in the project, the sandbox's verdicts); ``ended`` takes
    the run's end (its final tests, for the streak; the final checks' sandbox
    verdicts). The spend since the last gate is what the stages finished in this
    drive since the last one that passed spent.
    """

    def __init__(self, operations: Operations, row: RunRow) -> None:
        self.operations, self.row = operations, row
        self._since = _spend()
        self._run = _spend()

    def stage(self, record: StageRecord) -> None:
        """Weigh a finished stage; open an incident when a trigger fires."""
        ops = self.operations
        if not ops.settings.incidents_enabled:
            return
        tokens = record.usage.input_tokens + record.usage.output_tokens
        for total in (self._since, self._run):
            total["tokens"] += tokens
            total["cost_usd"] = round(total["cost_usd"] + record.cost_usd, 6)
            total["seconds"] = round(total["seconds"] + record.seconds, 3)
        fired: list[Trigger] = []
        if record.usage.calls:
            fact = StageFact(
                team=record.team,
                tokens=tokens,
                cost_usd=record.cost_usd,
                seconds=record.seconds,
                calls=record.usage.calls,
            )
            digest = hashlib.sha256(record.model_dump_json().encode()).hexdigest()[:24]
            key = f"{self.row.run_id}:{record.team}:{digest}"
            history = ops.incidents.recent_stages(
                self.row.project, record.team, ops.settings.incident_window
            )
            if ops.incidents.add_stage(self.row.project, self.row.run_id, fact, key=key):
                fired += stage_triggers(fact, history, ops.thresholds())
        violation = sandbox_violation(_summaries(record.checks))
        if violation is not None:
            fired.append(violation)
        self._open(fired)
        if record.outcome is StageOutcome.PASSED:
            self._since = _spend()

    def ended(self, status: str, values: Mapping[str, Any]) -> None:
        """Weigh a run that ended: its final tests (the streak) and its final checks."""
        ops = self.operations
        if not ops.settings.incidents_enabled or status not in TERMINAL:
            return
        checks = final_checks_of(upgrade(values))
        runs = checks.checks if checks is not None else []
        fired: list[Trigger] = []
        tests = [c for c in runs if c.name == "tests" and c.ran]
        if tests and status != Phase.REJECTED:
            failed = not all(c.ok for c in tests)
            if ops.incidents.add_run(self.row.project, self.row.run_id, tests_failed=failed):
                recent = ops.incidents.recent_runs(
                    self.row.project, ops.settings.incident_failing_runs
                )
                streak = failing_streak(recent, ops.thresholds())
                if streak is not None:
                    fired.append(streak)
        violation = sandbox_violation(_summaries(runs))
        if violation is not None:
            fired.append(violation)
        self._open(fired)

    def _open(self, fired: Sequence[Trigger]) -> None:
        for trigger in fired:
            spend = {"since_last_gate": dict(self._since), "run": dict(self._run)}
            try:
                self.operations.open_incident(self.row, trigger, spend)
            except Exception as exc:  # noqa: BLE001 - a record that fails must not fail the run
                log.error(
                    "run %s: incident %s not opened: %s",
                    self.row.run_id,
                    trigger.kind,
                    redact(str(exc)),
                    extra={"run_id": self.row.run_id},
                )


def _summaries(checks: Sequence[CheckRun]) -> list[tuple[str, str]]:
    return [(c.name, c.summary) for c in checks]
