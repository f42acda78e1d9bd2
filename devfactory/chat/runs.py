"""Runs in the chat: start one, follow it as steps, answer its pauses, show how it ended.

A run is a Chainlit step with one nested step per stage, updated from the
factory's typed events (``RunView`` has one handler per event type). A pause
is a message with one button per allowed action, shown only to roles the
policy lets answer it; the factory checks the role again. Runs belong to the
server (``hub.py``): a session that opens later replays a run from its
checkpoint and follows it live.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import chainlit as cl

from devfactory.chat.hub import BusyError
from devfactory.chat.session import chosen, hub, me, teams
from devfactory.chat.view import (
    ACTION_LABELS,
    artifact_files,
    pause_markdown,
    stage_markdown,
    summary_markdown,
)
from devfactory.control.budget import Caps
from devfactory.control.hitl import TEXT_FOR, Decision, DecisionError, Pause, needs_text
from devfactory.control.lifecycle import TERMINAL, Phase
from devfactory.events import (
    ClarificationRouted,
    Event,
    FactsExtracted,
    GovernanceAssessed,
    Notice,
    PhaseChanged,
    RunError,
    RunStarted,
    StageFinished,
    StageStarted,
)
from devfactory.runner import RunNotFoundError, RunStateError

OPEN_RUNS_SHOWN = 3


async def start_run(requirement: str) -> None:
    """Start a run for the signed-in person and follow it."""
    name, role = me()
    if role == "viewer":
        await cl.Message(content="Viewers may not start runs; ask an operator.").send()
        return
    project = str(chosen("project", "default")).strip() or "default"
    try:
        run_id = hub().start(
            requirement, pipeline=str(chosen("pipeline", "mvp")), project=project, owner=name
        )
    except (ValueError, BusyError) as exc:
        await cl.Message(content=f"Could not start the run: {exc}").send()
        return
    await follow(run_id)


class RunView:
    """One session's view of a run: a step for the run, one nested step per stage."""

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        self.root: cl.Step | None = None
        self.stages: dict[str, cl.Step] = {}
        self.handlers: dict[type[Event], Callable[[Any], Awaitable[None]]] = {
            RunStarted: self._run_started,
            StageStarted: self._stage_started,
            StageFinished: self._stage_finished,
            ClarificationRouted: self._clarification,
            FactsExtracted: self._facts,
            GovernanceAssessed: self._governance,
            Notice: self._notice,
            PhaseChanged: self._transition,
            RunError: self._error,
        }

    async def open(self, title: str) -> cl.Step:
        """Show the run's step (once)."""
        if self.root is None:
            self.root = cl.Step(
                name=f"Run {self.run_id}", type="run", default_open=True, show_input=False
            )
            self.root.output = title
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

    async def finish_stage(self, record: dict[str, Any]) -> None:
        """Show a finished stage's record in its step."""
        step = await self.stage(record["team"])
        step.output = stage_markdown(record, teams)
        step.is_error = record["outcome"] in ("BLOCKED", "FAILED")
        await step.update()

    async def apply(self, event: Event) -> None:
        """Show one run event (kinds the chat does not show are passed over)."""
        handler = self.handlers.get(type(event))
        if handler is not None:
            await handler(event)

    async def _run_started(self, event: RunStarted) -> None:
        await self.open(f"pipeline {event.pipeline} · artifacts in `{event.out_dir}`")

    async def _stage_started(self, event: StageStarted) -> None:
        step = await self.stage(event.team)
        step.output = f"attempt {event.attempt} on `{event.model}`"
        await step.update()

    async def _stage_finished(self, event: StageFinished) -> None:
        await self.finish_stage(event.record.model_dump(mode="json"))

    async def _clarification(self, event: ClarificationRouted) -> None:
        step = await self.stage(event.asker)
        step.output += f"\n\n❓ asked **{event.target}**: {event.question} → {event.outcome}"
        await step.update()

    async def _facts(self, event: FactsExtracted) -> None:
        if event.added:
            step = await self.stage(event.team)
            step.output += f"\n\n_remembered {len(event.added)} new facts_"
            await step.update()

    async def _governance(self, event: GovernanceAssessed) -> None:
        factors = "; ".join(event.risk_factors) or "none"
        await cl.Message(
            content=f"⚖ Governance rated the requirement **{event.risk}** "
            f"({event.action}). Factors: {factors}."
        ).send()

    async def _notice(self, event: Notice) -> None:
        await cl.Message(content=f"Notice ({event.kind}): {event.message}").send()

    async def _transition(self, event: PhaseChanged) -> None:
        root = await self.open("")
        root.output = f"{event.from_phase} → **{event.to_phase}** ({event.actor})"
        await root.update()

    async def _error(self, event: RunError) -> None:
        await cl.Message(content=f"The run stopped with an error: {event.message}").send()


async def follow(run_id: str, *, view: RunView | None = None, since: int = 0) -> None:
    """Stream the run's events from index ``since`` into this session, then show how it stands."""
    view = view or RunView(run_id)
    async for _, event in hub().follow(run_id, since=since):
        await view.apply(event)
    await show_state(run_id, view)


async def show_state(run_id: str, view: RunView) -> None:
    """Show a run's outcome with its files, or what it waits on."""
    _, role = me()
    factory = hub().factory
    try:
        report = await asyncio.to_thread(factory.report, run_id)
    except RunNotFoundError:
        await cl.Message(content=f"No run {run_id}.").send()
        return
    records = [r.model_dump(mode="json") for r in report.records]
    if report.status == Phase.PAUSED or report.pending:
        for item in report.pending:
            await show_pause(run_id, item.interrupt_id, item.pause, role)
        return
    if report.status == "INTERRUPTED":
        await cl.Message(
            content=f"Run `{run_id}` was interrupted (its process stopped).",
            actions=[
                cl.Action(
                    id=f"resume-{run_id}", name="resume", payload={"run": run_id}, label="Resume"
                )
            ],
        ).send()
        return
    if report.status in TERMINAL:
        files = [
            cl.File(name=path, path=str(file), display="inline")
            for path, file in artifact_files(report.out_dir, records)
        ]
        await cl.Message(
            content=summary_markdown(run_id, report.status, report.reason, records, report.out_dir),
            elements=files,
        ).send()


async def show_pause(run_id: str, interrupt_id: str, pause: Pause, role: str) -> None:
    """Show a pending question, with buttons when ``role`` may answer it."""
    labels: dict[str, str] = {a: ACTION_LABELS[a] for a in pause.actions}
    if pause.kind == "budget":
        labels["raise"] = "Approve and raise the token cap"
    actions = [
        cl.Action(
            id=f"decide-{verb}-{interrupt_id[:8]}",
            name="decide",
            payload={"run": run_id, "interrupt": interrupt_id, "kind": pause.kind, "action": verb},
            label=label,
        )
        for verb, label in labels.items()
        if role in pause.roles
    ]
    await cl.Message(content=pause_markdown(run_id, pause, role), actions=actions).send()


async def ask_text(prompt: str) -> str:
    """Ask the person for text in the chat; return "" when they do not answer in time."""
    reply = await cl.AskUserMessage(content=prompt, timeout=900).send()
    return str((reply or {}).get("output", "")).strip()


@cl.action_callback("decide")
async def decide(action: cl.Action) -> None:
    """Answer a pause with the clicked action (asking for the text the action needs)."""
    name, role = me()
    data = action.payload
    verb = data["action"]
    caps = None
    text = ""
    if needs_text(data["kind"], verb):
        text = await ask_text(f"Type {TEXT_FOR[verb]}.")
        if not text:
            await cl.Message(content="Nothing was sent; the run still waits.").send()
            return
    if verb == "raise":
        reply = await ask_text("Type the new token cap for the run (a whole number).")
        if not reply.isdigit():
            await cl.Message(
                content=f"{reply!r} is not a whole number; the run still waits."
            ).send()
            return
        caps, verb = Caps(tokens=int(reply)), "approve"
    mark = len(hub().feed(data["run"]).events)  # what comes after this is the resumed part
    try:
        decision = Decision(action=verb, text=text, by=name, role=role, caps=caps)
        await asyncio.to_thread(
            hub().answer, data["run"], decision, interrupt_id=data["interrupt"], kind=data["kind"]
        )
    except (DecisionError, RunStateError, BusyError, ValueError) as exc:
        await cl.Message(content=f"Refused: {exc}").send()
        return
    await action.remove()
    await cl.Message(content=f"{name} ({role}): {ACTION_LABELS.get(verb, verb)}.").send()
    await follow(data["run"], since=mark)


@cl.action_callback("resume")
async def resume(action: cl.Action) -> None:
    """Resume an interrupted run."""
    run_id = action.payload["run"]
    if me()[1] == "viewer":
        await cl.Message(content="Viewers may not resume runs.").send()
        return
    mark = len(hub().feed(run_id).events)
    try:
        await asyncio.to_thread(hub().resume, run_id)
    except (RunStateError, BusyError, ValueError) as exc:
        await cl.Message(content=f"Could not resume: {exc}").send()
        return
    await action.remove()
    await follow(run_id, since=mark)


@cl.action_callback("open_run")
async def open_run(action: cl.Action) -> None:
    """Show a run again: its stages so far, then follow it or show what it waits on."""
    await attach(action.payload["run"])


async def attach(run_id: str) -> None:
    """Render a run from its checkpoint, then follow it live if this server drives it."""
    report = await asyncio.to_thread(hub().factory.report, run_id)
    view = RunView(run_id)
    await view.open(f"{report.status} · artifacts in `{report.out_dir}`")
    for record in report.records:
        if record.outcome.value != "PENDING":
            await view.finish_stage(record.model_dump(mode="json"))
    if hub().driving(run_id):
        await follow(run_id, view=view, since=len(hub().feed(run_id).events))
    else:
        await show_state(run_id, view)


async def show_open_runs(name: str, role: str) -> None:
    """Show the person's unfinished runs, and others' runs waiting for their role."""
    factory = hub().factory
    rows = await asyncio.to_thread(factory.list_runs, 20, owner=name)
    mine = [r for r in rows if r.status not in TERMINAL][:OPEN_RUNS_SHOWN]
    for row in mine:
        await cl.Message(
            content=f"Your run `{row.run_id}` is **{row.shown_status}**: {row.requirement[:200]}"
        ).send()
        await attach(row.run_id)
    shown = {r.run_id for r in mine}
    waiting = await asyncio.to_thread(factory.pending)
    for_me = list(dict.fromkeys(p.run_id for p in waiting if role in p.pause.roles))
    for run_id in [r for r in for_me if r not in shown][:OPEN_RUNS_SHOWN]:
        row = await asyncio.to_thread(factory.get, run_id)
        await cl.Message(
            content=f"Run `{run_id}` by **{row.owner or 'someone'}** waits for your answer: "
            f"{row.requirement[:200]}"
        ).send()
        await attach(run_id)
