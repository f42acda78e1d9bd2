"""An operator's decisions that reach into runs: a team resumed, an incident decided.

``Switchboard`` is the switchboard the driver and the queue obey (the stop, the
holds, the thresholds, the incidents' records). Some of an operator's decisions
also act on the runs a hold stopped, and they act as a person's answers do,
through ``Answers``:

* resuming a team releases it and answers each hold its stages asked
  (``approve`` by ``policy:operations``): each of those runs goes back to the
  workers;
* rolling back an incident sends its run back: with ``revise`` when it waits on
  its final review, else it is cancelled with the reason. Every decision on an
  incident then ends it and releases its project (``Switchboard.end_incident``).

``Interventions`` is made with both services, above them: the driver below
never needs it.
"""

from __future__ import annotations

import logging

from devfactory.control.hitl import Decision, DecisionError
from devfactory.control.incidents import IncidentAction
from devfactory.control.lifecycle import TERMINAL
from devfactory.control.overrides import ADMIN, OPERATIONS
from devfactory.factory.answers import Answers
from devfactory.factory.queries import Queries
from devfactory.factory.switchboard import Switchboard
from devfactory.redact import redact
from devfactory.store.incidents_table import Incident
from devfactory.store.runs_table import RunBusyError, RunStateError

log = logging.getLogger(__name__)


class Interventions:
    """Resume a team and decide an incident: the operator's decisions that answer runs."""

    def __init__(self, switchboard: Switchboard, answers: Answers, queries: Queries) -> None:
        self.switchboard, self.answers, self.queries = switchboard, answers, queries

    def resume_team(self, team: str, *, by: str, role: str) -> list[str]:
        """Release ``team`` and answer each of its holds; return the runs that go on.

        Each hold is answered ``approve`` by ``policy:operations`` (acting as admin),
        and its run goes back to the workers.
        """
        self.switchboard.release_team(team, by=by, role=role)
        actor = f"{by} ({role})"
        went_on: list[str] = []
        for item in self.queries.pending():
            if item.pause.kind != "hold" or item.pause.team != team:
                continue
            decision = Decision(
                action="approve", text=f"team {team} resumed by {actor}", by=OPERATIONS, role=ADMIN
            )
            try:
                self.answers.answer(
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
        incident = self.switchboard.decidable(ident, action, role=role)
        actor = f"{by} ({role})"
        said = redact(text.strip())[:1500]
        what = f"{action} by {actor}" + (f": {said}" if said else "")
        if action == "rollback":
            what += f"; {self._roll_back(incident, by, role, said)}"
        return self.switchboard.end_incident(incident, action, by=by, role=role, decision=what)

    def _roll_back(self, incident: Incident, by: str, role: str, text: str) -> str:
        """Send the incident's run back (revise at its review, else cancel); say what was done.

        The admin who decided is who revises or cancels it, in the run's records too.
        """
        if not incident.run_id:
            return "no run to roll back"
        row = self.queries.get(incident.run_id)
        if row.status in TERMINAL:
            return f"run {row.run_id} had ended {row.status}; nothing to roll back"
        why = f"incident {incident.id} ({incident.trigger}) rolled back by {by} ({role})" + (
            f": {text}" if text else ""
        )
        review = [p for p in self.queries.pending(row.run_id) if p.pause.kind == "review"]
        if review and "revise" in review[0].pause.actions:
            decision = Decision(action="revise", text=why[:8000], by=by, role=role)
            self.answers.answer(
                row.run_id,
                decision,
                interrupt_id=review[0].interrupt_id,
                kind="review",
                queue=True,
            )
            return f"run {row.run_id} sent back with revise"
        self.answers.cancel(row.run_id, by=by, role=role)
        return f"run {row.run_id} cancelled"
