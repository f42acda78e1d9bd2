"""The Chainlit app: ``devfactory chat`` serves it (``chainlit run`` on this file).

Profiles:

* **Factory**: type a requirement; the run streams as one step per stage under
  a step for the run. Pauses arrive as messages with buttons for the roles that
  may answer them. The final artifacts are attached as files. Runs are driven
  by the server (``hub.py``), so closing the tab does not stop them; opening the
  profile again shows the person's open runs and what they wait on.
* **One profile per team**: a direct conversation with that team (its identity
  documents and its memory).
* **Group chat**: teams discuss a question, a moderator picks each speaker, for
  a bounded number of rounds, then sums up.
* **Project Q&A**: answers from a project's memories and artifacts, citing run
  and stage.

Sign-in is by password (``devfactory users add``) or, behind a trusted proxy,
by header; a person's role is the policy's, and only roles a pause accepts get
its buttons (the factory checks the role again when the answer arrives).
"""

from __future__ import annotations

import asyncio
import importlib
import threading
from typing import Any

import chainlit as cl
from chainlit.input_widget import MultiSelect, Select, Slider, TextInput
from starlette.datastructures import Headers

from devfactory.chat import talk
from devfactory.chat.hub import BusyError, RunHub
from devfactory.chat.users import ROLES, UserStore
from devfactory.chat.view import (
    ACTION_LABELS,
    NEEDS_TEXT,
    TEXT_PROMPTS,
    artifact_files,
    pause_markdown,
    stage_markdown,
    summary_markdown,
)
from devfactory.control.hitl import Decision, DecisionError
from devfactory.control.lifecycle import TERMINAL, Phase
from devfactory.runner import Factory, RunNotFoundError, RunStateError
from devfactory.settings import Settings, get_settings
from devfactory.teams import load_teams

FACTORY, GROUP, QA = "Factory", "Group chat", "Project Q&A"
DEFAULT_GROUP = ["business-analysis", "solution-architecture", "backend-engineering"]
OPEN_RUNS_SHOWN = 3

settings: Settings = get_settings()
teams = load_teams()
_hub: RunHub | None = None
_hub_lock = threading.Lock()


def model_source(s: Settings) -> Any:
    """Return the models: the router (None), or ``models_factory``'s when set (tests, plugins)."""
    if not s.models_factory:
        return None
    module, _, name = s.models_factory.partition(":")
    return getattr(importlib.import_module(module), name)()


def hub() -> RunHub:
    """Return the server's run hub (opened on first use: the database, the models, memory)."""
    global _hub
    with _hub_lock:
        if _hub is None:
            factory = Factory(settings, models=model_source(settings))
            if settings.memory_enabled:
                factory.memory  # noqa: B018 - set up memory once, before threads share it
            _hub = RunHub(
                factory,
                max_active=settings.chat_max_active_runs,
                out_root=settings.data_dir / "chat" / "out",
            )
        return _hub


@cl.on_app_startup
async def warm_up() -> None:
    """Open the hub while the server starts, so the first session does not wait for it."""
    await asyncio.to_thread(hub)


def users() -> UserStore:
    """Return the people who may sign in."""
    return UserStore.of(settings)


# --- who is talking ---------------------------------------------------------------


@cl.password_auth_callback
async def password_login(username: str, password: str) -> cl.User | None:
    """Sign in with a name and password from the users file."""
    person = await asyncio.to_thread(users().verify, username, password)
    if person is None:
        return None
    return cl.User(identifier=person.name, metadata={"role": person.role, "provider": "password"})


if settings.chat_header_auth:

    @cl.header_auth_callback
    async def header_login(headers: Headers) -> cl.User | None:
        """Sign in as the user a trusted proxy names (only when chat_header_auth is on)."""
        name = headers.get(settings.chat_header_user)
        role = headers.get(settings.chat_header_role, "viewer")
        if not name:
            return None
        role = role if role in ROLES else "viewer"
        return cl.User(identifier=name, metadata={"role": role, "provider": "header"})


def me() -> tuple[str, str]:
    """Return the signed-in person's name and role."""
    user = cl.user_session.get("user")
    if user is None:
        return "anonymous", "viewer"
    return user.identifier, str((user.metadata or {}).get("role", "viewer"))


# --- profiles ----------------------------------------------------------------------


@cl.set_chat_profiles
async def profiles(user: cl.User | None = None) -> list[cl.ChatProfile]:
    """List the profiles: Factory, group chat, project Q&A, then one per team."""
    fixed = [
        cl.ChatProfile(
            name=FACTORY,
            markdown_description="Submit a requirement; the teams build it, step by step.",
            default=True,
        ),
        cl.ChatProfile(
            name=GROUP, markdown_description="Several teams discuss your question, then sum up."
        ),
        cl.ChatProfile(
            name=QA, markdown_description="Ask about a project; answers cite run and stage."
        ),
    ]
    return fixed + [
        cl.ChatProfile(name=spec.name, markdown_description=spec.description)
        for spec in teams.values()
    ]


def team_of_profile(profile: str | None) -> str | None:
    """Return the team slug a profile talks to, if it is a team's."""
    return next((s.slug for s in teams.values() if s.name == profile), None)


@cl.on_chat_start
async def start() -> None:
    """Greet, set up the profile's settings and, for Factory, show the person's open runs."""
    profile = cl.user_session.get("chat_profile") or FACTORY
    name, role = me()
    if profile == FACTORY:
        values = await cl.ChatSettings(
            [
                Select(id="pipeline", label="Pipeline", values=["mvp", "full"], initial_index=0),
                TextInput(id="project", label="Project", initial="default"),
            ]
        ).send()
        cl.user_session.set("settings", values)
        await cl.Message(
            content=f"Signed in as **{name}** ({role}). Type a requirement to start a run."
        ).send()
        await show_open_runs(name, role)
    elif profile == GROUP:
        values = await cl.ChatSettings(
            [
                MultiSelect(
                    id="teams",
                    label="Teams",
                    items={s.name: s.slug for s in teams.values()},
                    initial=DEFAULT_GROUP,
                ),
                Slider(
                    id="rounds",
                    label="Rounds",
                    initial=settings.chat_group_rounds,
                    min=1,
                    max=settings.chat_group_rounds,
                    step=1,
                ),
                TextInput(id="project", label="Project", initial="default"),
            ]
        ).send()
        cl.user_session.set("settings", values)
        await cl.Message(
            content="Ask a question; the teams discuss it, then a moderator sums up."
        ).send()
    elif profile == QA:
        widgets: list[Any] = [TextInput(id="project", label="Project", initial="default")]
        values = await cl.ChatSettings(widgets).send()
        cl.user_session.set("settings", values)
        await cl.Message(
            content="Ask about the project; every claim cites its run and stage."
        ).send()
    else:
        slug = team_of_profile(profile)
        if slug is not None:
            await cl.Message(
                content=f"You are talking to the **{teams[slug].name}** team. "
                f"{teams[slug].description}",
                author=teams[slug].name,
            ).send()
    cl.user_session.set("history", [])


@cl.on_settings_update
async def settings_changed(values: dict[str, Any]) -> None:
    """Keep the profile's settings (pipeline, project, teams, rounds)."""
    cl.user_session.set("settings", values)


@cl.on_message
async def on_message(message: cl.Message) -> None:
    """Route the message by profile."""
    profile = cl.user_session.get("chat_profile") or FACTORY
    text = message.content.strip()
    if not text:
        return
    if profile == FACTORY:
        await start_run(text)
    elif profile == GROUP:
        await group_chat(text)
    elif profile == QA:
        await project_answer(text)
    elif (slug := team_of_profile(profile)) is not None:
        await team_chat(slug, text)


# --- the factory -------------------------------------------------------------------


def chosen(key: str, default: Any) -> Any:
    """Return a chat setting of this session."""
    return (cl.user_session.get("settings") or {}).get(key) or default


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

    async def apply(self, event: dict[str, Any]) -> None:
        """Show one factory event."""
        kind = event.get("event")
        if kind == "run_started":
            await self.open(f"pipeline {event['pipeline']} · artifacts in `{event['out_dir']}`")
        elif kind == "stage_started":
            step = await self.stage(event["team"])
            step.output = f"attempt {event['attempt']} on `{event['model']}`"
            await step.update()
        elif kind == "stage_finished":
            await self.finish_stage(event["record"])
        elif kind == "clarification":
            step = await self.stage(event["asker"])
            step.output += (
                f"\n\n❓ asked **{event['target']}**: {event['question']} → {event['outcome']}"
            )
            await step.update()
        elif kind == "facts" and event.get("added"):
            step = await self.stage(event["team"])
            step.output += f"\n\n_remembered {len(event['added'])} new facts_"
            await step.update()
        elif kind == "governance":
            factors = "; ".join(event.get("risk_factors") or []) or "none"
            await cl.Message(
                content=f"⚖ Governance rated the requirement **{event['risk']}** "
                f"({event['action']}). Factors: {factors}."
            ).send()
        elif kind == "notice":
            await cl.Message(content=f"Notice ({event['kind']}): {event['message']}").send()
        elif kind == "transition":
            root = await self.open("")
            root.output = f"{event['from']} → **{event['to']}** ({event['actor']})"
            await root.update()
        elif kind == "error":
            await cl.Message(content=f"The run stopped with an error: {event['message']}").send()


async def follow(run_id: str, *, view: RunView | None = None, since: int = 0) -> None:
    """Stream the run's events from index ``since`` into this session, then show how it stands."""
    view = view or RunView(run_id)
    async for _, event in hub().follow(run_id, since=since):
        await view.apply(event)
    await show_state(run_id, view)


async def show_state(run_id: str, view: RunView) -> None:
    """Show a run's outcome with its files, or what it waits on."""
    _, role = me()
    try:
        report = await asyncio.to_thread(hub().factory.report, run_id)
        row = await asyncio.to_thread(hub().factory.get, run_id)
    except RunNotFoundError:
        await cl.Message(content=f"No run {run_id}.").send()
        return
    records = [r.model_dump(mode="json") for r in report.records]
    if report.status == Phase.PAUSED or report.pending:
        for item in report.pending:
            await show_pause(run_id, item.interrupt_id, item.pause, role)
        return
    if row.shown_status == "INTERRUPTED":
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


async def show_pause(run_id: str, interrupt_id: str, pause: Any, role: str) -> None:
    """Show a pending question, with buttons when ``role`` may answer it."""
    labels = {a: ACTION_LABELS[a] for a in pause.actions}
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
    """Answer a pause with the clicked action (asking for text when the action needs it)."""
    name, role = me()
    data = action.payload
    verb = data["action"]
    caps = None
    text = ""
    if verb in NEEDS_TEXT or (verb == "reject" and data["kind"] != "blocked"):
        text = await ask_text(TEXT_PROMPTS[verb])
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
        from devfactory.control.budget import Caps

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
    rows = await asyncio.to_thread(factory.runs.list, 20, owner=name)
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


# --- talking to teams --------------------------------------------------------------


async def stream_reply(model: Any, messages: list[Any], author: str) -> str:
    """Stream a model's reply into a new message; return its text."""
    reply = cl.Message(content="", author=author)
    async for chunk in model.astream(messages):
        token = chunk.content if isinstance(chunk.content, str) else str(chunk.content)
        if token:
            await reply.stream_token(token)
    await reply.send()
    return reply.content


async def team_chat(slug: str, question: str) -> None:
    """Answer as one team, from its identity documents and its memory."""
    spec = teams[slug]
    project = str(chosen("project", "default"))
    memory = hub().factory.memory if settings.memory_enabled else None
    memory_text = await asyncio.to_thread(talk.remembered, memory, spec, project, question)
    history: list[tuple[str, str]] = cl.user_session.get("history") or []
    messages = talk.team_messages(
        spec,
        memory_text=memory_text,
        history=history[-2 * settings.chat_history_turns :] if settings.chat_history_turns else [],
        question=question,
    )
    model = hub().factory.models_for(spec.model)
    text = await stream_reply(model, messages, spec.name)
    cl.user_session.set("history", [*history, ("user", question), ("assistant", text)])


async def group_chat(question: str) -> None:
    """Let the chosen teams discuss, a moderator picking each speaker; then sum up."""
    slugs = [s for s in chosen("teams", DEFAULT_GROUP) if s in teams] or DEFAULT_GROUP
    specs = [teams[s] for s in slugs]
    rounds = max(
        1, min(int(chosen("rounds", settings.chat_group_rounds)), settings.chat_group_rounds)
    )
    project = str(chosen("project", "default"))
    name, _ = me()
    names = {s.slug: s.name for s in specs}
    memory = hub().factory.memory if settings.memory_enabled else None
    source = hub().factory.model_source()
    turns: list[talk.Turn] = []
    for n in range(1, rounds + 1):
        pick = await asyncio.to_thread(
            talk.choose_speaker, source, settings, question=question, teams=specs, turns=turns
        )
        spec = teams[pick.speaker]
        async with cl.Step(name=f"Moderator: round {n} of {rounds}", type="tool") as step:
            step.output = f"{spec.name} speaks: {pick.reason}"
        memory_text = await asyncio.to_thread(talk.remembered, memory, spec, project, question)
        messages = talk.group_turn_messages(
            spec, memory_text=memory_text, question=question, asker=name, turns=turns, names=names
        )
        text = await stream_reply(hub().factory.models_for(spec.model), messages, spec.name)
        turns.append(talk.Turn(spec.slug, text, pick.reason))
    summary = talk.summary_messages(question, turns, names)
    await stream_reply(hub().factory.models_for("factory/fast"), summary, "Moderator")
    await cl.Message(content=f"_The discussion ended after {rounds} rounds._").send()


async def project_answer(question: str) -> None:
    """Answer a question about a project from its memories and artifacts, with citations."""
    project = str(chosen("project", "default")).strip() or "default"
    if not settings.memory_enabled:
        await cl.Message(content="Memory is off (DEVFACTORY_MEMORY_ENABLED=false).").send()
        return
    factory = hub().factory
    rows = await asyncio.to_thread(factory.runs.list, 1000)
    mine = {r.run_id: r.out_dir for r in rows if r.project == project}
    sources = await asyncio.to_thread(
        talk.project_sources,
        factory.memory,
        project=project,
        run_ids=set(mine),
        out_dirs=mine,
        teams=list(teams),
        question=question,
        k=settings.recall_k,
        threshold=settings.recall_threshold,
    )
    if not sources:
        await cl.Message(
            content=f"Project **{project}** has no memories about that yet ({len(mine)} runs)."
        ).send()
        return
    text = await stream_reply(
        factory.models_for("factory/fast"), talk.qa_messages(project, question, sources), "Q&A"
    )
    listed = "\n".join(
        f"- [{s.n}] run `{s.run}`, stage {s.stage}" for s in talk.cited(text, sources)
    )
    await cl.Message(content=f"**Sources**\n{listed}").send()
