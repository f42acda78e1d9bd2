"""Runs in the chat: start one, follow it as steps, show its pauses and how it ended.

A run is a Chainlit step with one nested step per stage, updated from the
factory's typed events (``RunView`` has one handler per event type). A pause
is a message with one button per allowed action, shown only to roles the
policy lets answer it; the buttons carry a one-time grant of this session
(``grants.py``) and ``actions.py`` answers them; the factory checks the role
again. Runs belong to the server (``hub.py``): a session that opens later
replays a run from its checkpoint and follows it live. Only people who may see
a run (its owner, or a role the policy's ``see_all_runs`` lists) are shown it.
Whatever a model or a person wrote reaches a message or a step through
``inert_markdown``: no image or HTML of it loads in the browser.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import chainlit as cl

from devfactory import events
from devfactory.chat.access import may_see_run
from devfactory.chat.grants import Grant
from devfactory.chat.hub import BusyError
from devfactory.chat.inert import inert_markdown
from devfactory.chat.session import chosen, grants, hub, policy, say, settings, started_here, teams
from devfactory.chat.view import (
    ACTION_LABELS,
    artifact_files,
    attachment_mime,
    left_out_markdown,
    pause_markdown,
    stage_markdown,
    summary_markdown,
)
from devfactory.control.hitl import Pause
from devfactory.control.lifecycle import TERMINAL, Phase
from devfactory.factory.drawing import to_png
from devfactory.factory.facade import RunNotFoundError
from devfactory.tracing import trace_url
from devfactory.users import Person

OPEN_RUNS_SHOWN = 3


async def start_run(person: Person, requirement: str) -> None:
    """Start a run for ``person`` and follow it."""
    if person.role == "viewer":
        await cl.Message(content="Viewers may not start runs; ask an operator.").send()
        return
    project = str(chosen("project", "default")).strip() or "default"
    try:
        run_id = hub().start(
            requirement, pipeline=str(chosen("pipeline", "mvp")), project=project, owner=person.name
        )
    except (ValueError, BusyError) as exc:
        await say(f"Could not start the run: {exc}")
        return
    started_here().add(run_id)  # before any await: a listing of open runs skips it
    await follow(person, run_id)


def stage_title(record: dict[str, Any]) -> str:
    """Return a finished stage step's title: the team, its outcome and its confidence."""
    team = record["team"]
    name = teams[team].name if team in teams else team
    result = record.get("result") or {}
    confidence = result.get("confidence")
    shown = f" · confidence {confidence:.2f}" if isinstance(confidence, int | float) else ""
    return f"{name}: {record['outcome']}{shown}"


log = logging.getLogger(__name__)
GRAPH = "pipeline"  # the name of the run graph's picture in the run's step


class RunView:
    """One session's view of a run: a step for the run, one nested step per stage."""

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        self.root: cl.Step | None = None
        self.stages: dict[str, cl.Step] = {}
        self.graph_id = ""  # the run graph's element, drawn again as the run goes on
        self.handlers: dict[type[events.Event], Callable[[Any], Awaitable[None]]] = {
            events.RunStarted: self._run_started,
            events.StageStarted: self._stage_started,
            events.StageFinished: self._stage_finished,
            events.ClarificationRouted: self._clarification,
            events.FactsExtracted: self._facts,
            events.GovernanceAssessed: self._governance,
            events.Notice: self._notice,
            events.PhaseChanged: self._transition,
            events.RunError: self._error,
            # shown once the events end (show_state: the outcome, files and pauses)
            events.RunFinished: self._quiet,
            events.RunCreated: self._quiet,
            events.DecisionRecorded: self._quiet,  # a policy rule's answer: in the audit log
            events.Recalled: self._quiet,
            events.DraftSaved: self._quiet,  # the stage's step shows its files when it ends
            # what the audit log keeps of a StageFinished, which its step shows
            events.TaskResultRecorded: self._quiet,
            events.UsageRecorded: self._quiet,
        }

    async def open(self, title: str) -> cl.Step:
        """Show the run's step (once)."""
        if self.root is None:
            self.root = cl.Step(
                name=f"Run {self.run_id}", type="run", default_open=True, show_input=False
            )
            self.root.output = inert_markdown(title)
            await self.root.send()
        return self.root

    async def stage(self, team: str) -> cl.Step:
        """Return the stage's step, shown nested in the run's on first use."""
        if team not in self.stages:
            root = await self.open("")
            name = teams[team].name if team in teams else team
            step = cl.Step(
                name=name, type="tool", parent_id=root.id, default_open=False, show_input=False
            )
            await step.send()
            self.stages[team] = step
        return self.stages[team]

    async def finish_stage(self, record: dict[str, Any], *, draw: bool = True) -> None:
        """Show a finished stage's record in its step; its title says how it ended."""
        step = await self.stage(record["team"])
        step.name = stage_title(record)
        step.output = stage_markdown(record, teams)
        step.is_error = record["outcome"] in ("BLOCKED", "FAILED")
        await step.update()
        if draw:
            await self.draw()

    async def draw(self) -> None:
        """Show the run's graph in the run's step as it stands now (Graphviz, as the console).

        The same picture replaces the last one, so the chat embeds the run's graph
        live: stages coloured by outcome, the node waiting for a person, the
        questions asked. Without Graphviz the step shows no picture.
        """
        root = await self.open("")
        factory = hub().factory
        try:
            picture = await asyncio.to_thread(lambda: to_png(factory.drawing(self.run_id)))
        except (RuntimeError, RunNotFoundError) as exc:
            log.warning("chat: no graph for run %s: %s", self.run_id, exc)
            return
        image = cl.Image(name=GRAPH, content=picture, mime="image/png", display="inline")
        if self.graph_id:
            image.id = self.graph_id
        self.graph_id = image.id
        root.elements = [image]
        await root.update()

    async def apply(self, event: events.Event) -> None:
        """Show one run event (``handlers`` names every kind, those the chat leaves out too)."""
        await self.handlers[type(event)](event)

    async def _quiet(self, event: events.Event) -> None:
        """Show nothing for ``event``: a kind this view shows elsewhere or not at all."""

    async def _run_started(self, event: events.RunStarted) -> None:
        link = trace_url(event.run_id)
        trace = f" · [trace]({link})" if link else ""
        await self.open(f"pipeline {event.pipeline} · artifacts in `{event.out_dir}`{trace}")

    async def _stage_started(self, event: events.StageStarted) -> None:
        step = await self.stage(event.team)
        name = teams[event.team].name if event.team in teams else event.team
        step.name = f"{name}: running, attempt {event.attempt}"
        step.output = inert_markdown(f"attempt {event.attempt} on `{event.model}`")
        await step.update()

    async def _stage_finished(self, event: events.StageFinished) -> None:
        await self.finish_stage(event.record.model_dump(mode="json"))

    async def _clarification(self, event: events.ClarificationRouted) -> None:
        step = await self.stage(event.asker)
        step.output = inert_markdown(
            f"{step.output}\n\n❓ asked **{event.target}**: {event.question} → {event.outcome}"
        )
        await step.update()

    async def _facts(self, event: events.FactsExtracted) -> None:
        if event.added:
            step = await self.stage(event.team)
            step.output = inert_markdown(
                f"{step.output}\n\n_remembered {len(event.added)} new facts_"
            )
            await step.update()

    async def _governance(self, event: events.GovernanceAssessed) -> None:
        factors = "; ".join(event.risk_factors) or "none"
        await say(
            f"⚖ Governance rated the requirement **{event.risk}** "
            f"({event.action}). Factors: {factors}."
        )

    async def _notice(self, event: events.Notice) -> None:
        await say(f"Notice ({event.kind}): {event.message}")

    async def _transition(self, event: events.PhaseChanged) -> None:
        root = await self.open("")
        root.output = inert_markdown(f"{event.from_phase} → **{event.to_phase}** ({event.actor})")
        await root.update()

    async def _error(self, event: events.RunError) -> None:
        await say(f"The run stopped with an error: {event.message}")


async def may_see(person: Person, run_id: str) -> bool:
    """Say whether ``person`` may see the run (False for a run that does not exist)."""
    try:
        row = await asyncio.to_thread(hub().factory.get, str(run_id))
    except RunNotFoundError:
        return False
    return may_see_run(person, row.owner, policy())


async def not_shown(run_id: str) -> None:
    """Say that a run is not there for this person (the same words whether it exists or not)."""
    await say(f"There is no run {str(run_id)[:40]!r} you may see.")


async def follow(
    person: Person, run_id: str, *, view: RunView | None = None, since: int = 0
) -> None:
    """Stream the run's events from index ``since`` into this session, then show how it stands."""
    view = view or RunView(run_id)
    async for _, event in hub().follow(run_id, since=since):
        await view.apply(event)
    await show_state(person, run_id, view)


async def show_state(person: Person, run_id: str, view: RunView) -> None:
    """Show a run's outcome with its files, or what it waits on."""
    factory = hub().factory
    try:
        report = await asyncio.to_thread(factory.report, run_id)
    except RunNotFoundError:
        await not_shown(run_id)
        return
    records = [r.model_dump(mode="json") for r in report.records]
    await view.draw()
    if report.status == Phase.PAUSED or report.pending:
        for item in report.pending:
            await show_pause(run_id, item.interrupt_id, item.pause, person.role)
        return
    if report.status == "INTERRUPTED":
        grant = Grant(kind="resume", run_id=run_id)
        token = grants().issue(grant)
        button = cl.Action(name="resume", payload={"token": token}, label="Resume")
        grant.action_ids.append(button.id)
        await cl.Message(
            content=f"Run `{run_id}` was interrupted (its process stopped).", actions=[button]
        ).send()
        return
    if report.status in TERMINAL:
        found = await asyncio.to_thread(
            artifact_files,
            report.out_dir,
            records,
            file_limit=settings.storage.run_file_max_bytes,
            total_limit=settings.service.chat_attachment_bytes,
        )
        files = [  # the bytes read through runfiles, never a path Chainlit would open itself
            cl.File(name=path, content=data, mime=attachment_mime(data), display="inline")
            for path, data in found.attached
        ]
        summary = summary_markdown(run_id, report.status, report.reason, records, report.out_dir)
        left_out = left_out_markdown(found.left_out)
        await cl.Message(
            content=inert_markdown(f"{summary}\n\n{left_out}") if left_out else summary,
            elements=files,
        ).send()


ALTERNATIVE = "alternative:"  # a button's verb that picks the alternative named after it


async def show_pause(run_id: str, interrupt_id: str, pause: Pause, role: str) -> None:
    """Show a pending question, with buttons (one grant for them all) when ``role`` may answer."""
    labels: dict[str, str] = {a: ACTION_LABELS[a] for a in pause.actions}
    if pause.kind == "budget":
        labels["raise"] = "Approve and raise the token cap"
    for alt in pause.alternatives:  # a button per alternative the request offers
        labels[f"{ALTERNATIVE}{alt.id}"] = f"Instead: {alt.title}"[:80]
    actions: list[cl.Action] = []
    if role in pause.roles:
        grant = Grant(
            kind="decide",
            run_id=run_id,
            interrupt_id=interrupt_id,
            pause_kind=pause.kind,
            verbs=tuple(labels),
            pause=pause,
        )
        token = grants().issue(grant)
        actions = [
            cl.Action(name="decide", payload={"token": token, "action": verb}, label=label)
            for verb, label in labels.items()
        ]
        grant.action_ids.extend(a.id for a in actions)
    await cl.Message(content=pause_markdown(run_id, pause, role), actions=actions).send()


async def attach(person: Person, run_id: str) -> None:
    """Render a run from its checkpoint, then follow it live if this server drives it."""
    if not await may_see(person, run_id):
        await not_shown(run_id)
        return
    report = await asyncio.to_thread(hub().factory.report, run_id)
    view = RunView(run_id)
    await view.open(f"{report.status} · artifacts in `{report.out_dir}`")
    for record in report.records:
        if record.outcome.value != "PENDING":
            await view.finish_stage(record.model_dump(mode="json"), draw=False)
    if hub().driving(run_id):
        await follow(person, run_id, view=view, since=len(hub().feed(run_id).events))
    else:
        await show_state(person, run_id, view)


async def show_open_runs(person: Person) -> None:
    """Show the person's unfinished runs, and runs they may see that wait for their role."""
    factory = hub().factory
    live = started_here()  # read after each await: a run this session started meanwhile
    rows = await asyncio.to_thread(factory.list_runs, 20, owner=person.name)
    mine = [r for r in rows if r.status not in TERMINAL and r.run_id not in live]
    shown: set[str] = set()
    for row in mine[:OPEN_RUNS_SHOWN]:
        if row.run_id in live:
            continue
        shown.add(row.run_id)
        await say(f"Your run `{row.run_id}` is **{row.shown_status}**: {row.requirement[:200]}")
        await attach(person, row.run_id)
    waiting = await asyncio.to_thread(factory.pending)
    for_me = list(dict.fromkeys(p.run_id for p in waiting if person.role in p.pause.roles))
    rules = policy()
    count = 0
    for run_id in for_me:
        if run_id in shown or run_id in live or count >= OPEN_RUNS_SHOWN:
            continue
        row = await asyncio.to_thread(factory.get, run_id)
        if run_id in live or not may_see_run(person, row.owner, rules):
            continue
        count += 1
        await say(
            f"Run `{run_id}` by **{row.owner or 'someone'}** waits for your answer: "
            f"{row.requirement[:200]}"
        )
        await attach(person, run_id)
