"""Conversations in the chat: a team in person, a group discussion, project Q&A.

What is said is built by ``talk.py`` (no Chainlit there); this module streams
it into the session, as ``inert_markdown`` shows it: no image or HTML a model or
a person wrote loads in the browser.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import chainlit as cl

from devfactory.chat import talk
from devfactory.chat.avatars import MODERATOR, author_name
from devfactory.chat.inert import InertStream, inert_markdown
from devfactory.chat.session import DEFAULT_GROUP, chosen, hub, policy, say, settings, teams
from devfactory.users import Person

CATCH_UP_S = 0.1  # a streamed reply is shown again at most this often (more for long ones)


async def stream_reply(model: Any, messages: list[Any], author: str) -> str:
    """Stream a model's reply into a new message by ``author``; return its text.

    A team speaks as ``author_name(spec.name)``: the name its avatar is served under.
    The browser is shown ``inert_markdown`` of what came so far, never a raw token:
    an image completed by the next token would load the moment it showed. Making it
    inert can mean reading the reply with a parser, so a long reply is shown again
    at most every ten times what that took (and at least every ``CATCH_UP_S``).
    """
    reply = cl.Message(content="", author=author)
    view = InertStream()
    due = 0.0
    async for chunk in model.astream(messages):
        token = chunk.content if isinstance(chunk.content, str) else str(chunk.content)
        if not token:
            continue
        view.add(token)
        if time.monotonic() >= due:
            began = time.monotonic()
            sent, whole = view.catch_up()
            await reply.stream_token(sent, is_sequence=whole)
            due = began + max(CATCH_UP_S, 10 * (time.monotonic() - began))
    reply.content = inert_markdown(view.text)
    await reply.send()
    return view.text


def _memory() -> Any:
    return hub().factory.memory if settings.recall.memory_enabled else None


def _owners(person: Person) -> tuple[str, ...] | None:
    """Return whose runs' memories ``person`` may hear about (None: everyone's)."""
    return policy().visible_owners(person.name, person.role)


async def team_chat(slug: str, question: str, *, person: Person) -> None:
    """Answer as one team, from its identity documents and what ``person`` may see of its memory."""
    spec = teams[slug]
    project = str(chosen("project", "default"))
    memory_text = await asyncio.to_thread(
        talk.remembered, _memory(), spec, project, question, owners=_owners(person)
    )
    history: list[tuple[str, str]] = cl.user_session.get("history") or []
    kept = settings.service.chat_history_turns  # the turns a team is told again, each two messages
    earlier = history[-2 * kept :] if kept else []
    messages = talk.team_messages(spec, memory_text=memory_text, history=earlier, question=question)
    text = await stream_reply(
        hub().factory.models_for(spec.model), messages, author_name(spec.name)
    )
    cl.user_session.set("history", [*history, ("user", question), ("assistant", text)])


async def group_chat(question: str, *, person: Person) -> None:
    """Let the chosen teams discuss, a moderator picking each speaker; then sum up."""
    asker, owners = person.name, _owners(person)
    slugs = [s for s in chosen("teams", DEFAULT_GROUP) if s in teams] or DEFAULT_GROUP
    specs = [teams[s] for s in slugs]
    most = settings.service.chat_group_rounds
    rounds = max(1, min(int(chosen("rounds", most)), most))
    project = str(chosen("project", "default"))
    names = {s.slug: s.name for s in specs}
    factory = hub().factory
    turns: list[talk.Turn] = []
    for n in range(1, rounds + 1):
        pick = await asyncio.to_thread(
            talk.choose_speaker,
            factory.model_source(),
            settings,
            question=question,
            teams=specs,
            turns=turns,
        )
        spec = teams[pick.speaker]
        async with cl.Step(name=f"Moderator: round {n} of {rounds}", type="tool") as step:
            step.output = inert_markdown(f"{spec.name} speaks: {pick.reason}")
        memory_text = await asyncio.to_thread(
            talk.remembered, _memory(), spec, project, question, owners=owners
        )
        messages = talk.group_turn_messages(
            spec, memory_text=memory_text, question=question, asker=asker, turns=turns, names=names
        )
        text = await stream_reply(factory.models_for(spec.model), messages, author_name(spec.name))
        turns.append(talk.Turn(spec.slug, text, pick.reason))
    summary = talk.summary_messages(question, turns, names)
    await stream_reply(factory.models_for("factory/fast"), summary, MODERATOR)
    await cl.Message(content=f"_The discussion ended after {rounds} rounds._").send()


async def project_answer(question: str, *, person: Person) -> None:
    """Answer a question about a project from its memories and artifacts, with citations.

    Only the runs ``person`` may see count: their own, or all for ``see_all_runs`` roles.
    """
    project = str(chosen("project", "default")).strip() or "default"
    if not settings.recall.memory_enabled:
        await cl.Message(content="Memory is off (DEVFACTORY_MEMORY_ENABLED=false).").send()
        return
    factory = hub().factory
    rows = await asyncio.to_thread(factory.list_runs, 1000, project=project)
    rules = policy()
    mine = {
        r.run_id: r.out_dir for r in rows if rules.may_see_run(person.name, person.role, r.owner)
    }
    sources = await asyncio.to_thread(
        talk.project_sources,
        factory.memory,
        project=project,
        run_ids=set(mine),
        out_dirs=mine,
        teams=list(teams),
        owners=_owners(person),
        question=question,
        k=settings.recall.recall_k,
        threshold=settings.recall.recall_threshold,
    )
    if not sources:
        await say(f"Project **{project}** has no memories about that yet ({len(mine)} runs).")
        return
    text = await stream_reply(
        factory.models_for("factory/fast"), talk.qa_messages(project, question, sources), "Q&A"
    )
    listed = "\n".join(
        f"- [{s.n}] run `{s.run}`, stage {s.stage}" for s in talk.cited(text, sources)
    )
    await say(f"**Sources**\n{listed}")
