"""The chat's buttons: answer a pause, resume an interrupted run, open a run.

Every callback first asks who is acting now (``session.who``: the sign-in token
still good, the person still in the users file, their current role), then
redeems the button's one-time grant from this session (``grants.py``). The run,
the pause and the allowed verbs come from the grant, never from the payload;
a payload without a live grant is refused and nothing is resumed. Whoever acts
must still be allowed to see the run. What a refusal quotes (a person's answer, a
run's error) is shown through ``inert_markdown``.
"""

from __future__ import annotations

import asyncio

import chainlit as cl

from devfactory.chat.grants import Grant
from devfactory.chat.hub import BusyError
from devfactory.chat.run_steps import ALTERNATIVE, attach, follow, may_see, not_shown, show_pause
from devfactory.chat.session import grants, hub, say, signed_out, who
from devfactory.chat.view import ACTION_LABELS
from devfactory.control.budget import Caps
from devfactory.control.hitl import (
    TEXT_FOR,
    Decision,
    DecisionError,
    alternative_action,
    needs_text,
)
from devfactory.factory.facade import RunStateError
from devfactory.users import Person

STALE = "This button is no longer valid (it was used, or it belongs to another session)."


async def ask_text(prompt: str) -> str:
    """Ask the person for text in the chat; return "" when they do not answer in time."""
    reply = await cl.AskUserMessage(content=prompt, timeout=900).send()
    return str((reply or {}).get("output", "")).strip()


async def _redeem(action: cl.Action, kind: str) -> tuple[Person, Grant] | None:
    """Return who acts and the grant the button carries, or say why not and return None."""
    person = await who()
    if person is None:
        await signed_out()
        return None
    grant = grants().redeem(action.payload, kind)
    if grant is None:
        await cl.Message(content=f"Refused: {STALE} Nothing was changed.").send()
        return None
    for action_id in grant.action_ids:  # the grant is spent: take all its buttons away
        await cl.Action(id=action_id, name=kind, payload={}).remove()
    if not await may_see(person, grant.run_id):
        await not_shown(grant.run_id)
        return None
    return person, grant


async def _again(grant: Grant, person: Person, why: str) -> None:
    """Say why nothing was sent and show the question again with fresh buttons."""
    await say(f"{why}; the run still waits.")
    await show_pause(grant.run_id, grant.interrupt_id, grant.pause, person.role)


@cl.action_callback("decide")
async def decide(action: cl.Action) -> None:
    """Answer a pause with the clicked action (asking for the text the action needs)."""
    redeemed = await _redeem(action, "decide")
    if redeemed is None:
        return
    person, grant = redeemed
    verb = action.payload.get("action")
    if verb not in grant.verbs:
        await say(f"Refused: {verb!r} does not answer this question.")
        return
    caps: Caps | None = None
    text = ""
    alternative: str | None = None
    asked: str | None = None  # what the person is asked to type, if anything
    if verb.startswith(ALTERNATIVE):  # the grant offered it: the pause's own alternative
        alternative = verb.removeprefix(ALTERNATIVE)
        verb = alternative_action(grant.pause)
        chosen = grant.pause.alternative(alternative)
        if chosen is not None and chosen.kind == "narrow_scope":
            asked = "Type the narrowed requirement."
    elif needs_text(grant.pause_kind, verb):
        asked = f"Type {TEXT_FOR[verb]}."
    if asked is not None:
        text = await ask_text(asked)
        if not text:
            await _again(grant, person, "Nothing was sent")
            return
    if verb == "raise":
        reply = await ask_text("Type the new token cap for the run (a whole number).")
        if not reply.isdigit():
            await _again(grant, person, f"{reply!r} is not a whole number")
            return
        caps, verb = Caps(tokens=int(reply)), "approve"
    again = await who()  # the person may have been removed while they were typing
    if again is None or again.role != person.role:
        await signed_out()
        return
    # the verb is one the grant allows (the pause's own actions or alternatives): it validates
    decision = Decision.model_validate(
        {
            "action": verb,
            "text": text,
            "by": person.name,
            "role": person.role,
            "caps": caps,
            "alternative": alternative,
        }
    )
    await _answer(person, grant, decision)


async def _answer(person: Person, grant: Grant, decision: Decision) -> None:
    mark = len(hub().feed(grant.run_id).events)  # what comes after this is the resumed part
    try:
        await asyncio.to_thread(
            hub().answer,
            grant.run_id,
            decision,
            interrupt_id=grant.interrupt_id,
            kind=grant.pause_kind,
        )
    except (DecisionError, RunStateError, BusyError, ValueError) as exc:
        await say(f"Refused: {exc}")
        return
    label = ACTION_LABELS.get(decision.action, decision.action)
    await say(f"{person.name} ({person.role}): {label}.")
    await follow(person, grant.run_id, since=mark)


@cl.action_callback("resume")
async def resume(action: cl.Action) -> None:
    """Resume an interrupted run."""
    redeemed = await _redeem(action, "resume")
    if redeemed is None:
        return
    person, grant = redeemed
    if person.role == "viewer":
        await cl.Message(content="Viewers may not resume runs.").send()
        return
    mark = len(hub().feed(grant.run_id).events)
    try:
        await asyncio.to_thread(hub().resume, grant.run_id)
    except (RunStateError, BusyError, ValueError) as exc:
        await say(f"Could not resume: {exc}")
        return
    await follow(person, grant.run_id, since=mark)


@cl.action_callback("open_run")
async def open_run(action: cl.Action) -> None:
    """Show a run again: its stages so far, then follow it or show what it waits on."""
    redeemed = await _redeem(action, "open_run")
    if redeemed is not None:
        await attach(redeemed[0], redeemed[1].run_id)
