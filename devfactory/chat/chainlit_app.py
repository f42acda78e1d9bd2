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
its buttons (the factory checks the role again when the answer arrives). Only
pages of the chat's own origin may call it (``guard.py``); repeated wrong
passwords lock that name at that address (``control/signin_throttle.py``), and a refused
sign-in says why (``signin_messages.py``); every action reads the person and their role
from the users file again (``session.who``).

This module holds Chainlit's callbacks for sign-in, profiles and messages;
runs are in ``run_steps.py``, their buttons in ``actions.py``, conversations in
``conversations.py``, and what they share in ``session.py``.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import chainlit as cl
import psycopg
from chainlit.config import config
from chainlit.context import context
from chainlit.input_widget import MultiSelect, Select, Slider, TextInput
from chainlit.server import app as server
from chainlit.server import sio
from chainlit.session import WebsocketSession
from chainlit.user_session import user_sessions
from psycopg_pool import PoolTimeout
from starlette.datastructures import Headers

from devfactory.chat import actions, secret  # noqa: F401 - actions: the buttons
from devfactory.chat import run_steps as runs
from devfactory.chat.avatars import author_name
from devfactory.chat.conversations import group_chat, project_answer, team_chat
from devfactory.chat.guard import OriginGuard, client_address
from devfactory.chat.pagepolicy import PagePolicy, page_policy, served_page
from devfactory.chat.session import (
    DEFAULT_GROUP,
    FACTORY,
    GROUP,
    QA,
    hub,
    settings,
    signed_out,
    teams,
    throttle,
    who,
)
from devfactory.chat.signin_messages import BUSY, UNAVAILABLE, WRONG, signin_refusal
from devfactory.control.policy import ROLES
from devfactory.control.signin_throttle import LockedError
from devfactory.pipelines import available_pipelines, load_pipeline
from devfactory.store.db import DatabaseError
from devfactory.users import BusyError, UserStore
from devfactory.webguard import BodyLimit, SecurityHeaders

# Only the origins written into Chainlit's config (``chat.prepare``) may call the chat; no
# body past the cap is read; no other site may frame it (the outermost: every answer says so).
server.add_middleware(OriginGuard, origins=config.project.allow_origins, before=secret.refresh)
server.add_middleware(BodyLimit, max_bytes=settings.service.web_max_body_kb * 1024)
# Pages load only what the chat serves (images: its own or data:), whatever a message holds.
server.add_middleware(PagePolicy, policy=page_policy(served_page(), config.project.allow_origins))
server.add_middleware(SecurityHeaders, frame_ancestors=settings.service.web_frame_ancestors)
log = logging.getLogger(__name__)


@cl.data_layer
def no_data_layer() -> Any:
    """Keep Chainlit's own persistence off: the factory keeps runs, answers and memory.

    Without this, Chainlit builds a data layer of its own whenever ``DATABASE_URL``
    is set (the factory's database, through asyncpg, which is not installed: every
    sign-in and every shutdown failed on "No module named 'asyncpg'"), or sends
    conversations to Literal AI's servers when ``LITERAL_API_KEY`` is set.
    """
    return None


@cl.on_app_startup
async def warm_up() -> None:
    """Open the hub while the server starts, so the first session does not wait for it."""
    await asyncio.to_thread(hub)


# --- who is talking ---------------------------------------------------------------


async def password_login(username: str, password: str) -> cl.User:
    """Sign in with a name and password from the users file (throttled per name and address).

    Each refusal says why (``signin_refusal``): a wrong name or password (401), a
    lock with how long it lasts (429), the database down or every password check
    taken (503). The check runs as the console's does (``UserStore.check_sign_in``):
    in the password checks' own threads, the address the peer's (or a trusted
    proxy's client).
    """
    address = client_address.get()
    try:
        limits = await asyncio.to_thread(throttle)
        person = await UserStore.of(settings).check_sign_in(username, password, address, limits)
        if person is None:
            raise signin_refusal(WRONG)
    except BusyError:
        log.warning("sign-in refused: every password check is taken")
        raise signin_refusal(BUSY) from None
    except LockedError as exc:
        log.warning("sign-in refused: %r at %s is locked", username[:64], address)
        raise signin_refusal(exc) from None
    except (psycopg.Error, PoolTimeout, DatabaseError) as exc:
        log.warning("sign-in unavailable: %s", type(exc).__name__)
        raise signin_refusal(UNAVAILABLE) from None
    return cl.User(identifier=person.name, metadata={"role": person.role, "provider": "password"})


cl.password_auth_callback(password_login)
# Chainlit wraps the callback in a function that logs any exception and returns None,
# which its login route answers "credentialssignin" whatever the reason. Registered
# bare, the callback's HTTPException reaches the browser: its status and its words.
config.code.password_auth_callback = password_login


if settings.service.chat_header_auth:

    @cl.header_auth_callback
    async def header_login(headers: Headers) -> cl.User | None:
        """Sign in as the user a trusted proxy names (only when chat_header_auth is on)."""
        name = headers.get(settings.service.chat_header_user)
        role = headers.get(settings.service.chat_header_role, "viewer")
        if not name:
            return None
        role = role if role in ROLES else "viewer"
        return cl.User(identifier=name, metadata={"role": role, "provider": "header"})


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


def pipeline_select(default: str = "mvp") -> Select:
    """Return the Factory profile's pipeline choice: every pipeline in ``pipelines/``."""
    names = list(available_pipelines())
    sizes = " · ".join(f"{name}: {len(load_pipeline(name).teams)} teams" for name in names)
    return Select(
        id="pipeline",
        label="Pipeline",
        values=names,
        initial_index=names.index(default) if default in names else 0,
        description=sizes,
    )


def team_of_profile(profile: str | None) -> str | None:
    """Return the team slug a profile talks to, if it is a team's."""
    return next((s.slug for s in teams.values() if s.name == profile), None)


@cl.on_chat_start
async def start() -> None:
    """Greet, set up the profile's settings and, for Factory, show the person's open runs."""
    cl.user_session.set(GREETED_ON, getattr(context.session, "socket_id", None))
    profile = cl.user_session.get("chat_profile") or FACTORY
    person = await who()
    if person is None:
        await signed_out()
        return
    project = TextInput(id="project", label="Project", initial="default")
    if profile == FACTORY:
        greeting = f"Signed in as **{person.name}** ({person.role}). "
        await _set_up([pipeline_select(), project], greeting + "Type a requirement to start a run.")
        await runs.show_open_runs(person)
    elif profile == GROUP:
        group = MultiSelect(
            id="teams",
            label="Teams",
            items={s.name: s.slug for s in teams.values()},
            initial=DEFAULT_GROUP,
        )
        rounds = settings.service.chat_group_rounds
        slider = Slider(id="rounds", label="Rounds", initial=rounds, min=1, max=rounds, step=1)
        await _set_up(
            [group, slider, project],
            "Ask a question; the teams discuss it, then a moderator sums up.",
        )
    elif profile == QA:
        await _set_up([project], "Ask about the project; every claim cites its run and stage.")
    elif (slug := team_of_profile(profile)) is not None:
        await cl.Message(
            content=f"You are talking to the **{teams[slug].name}** team. "
            f"{teams[slug].description}",
            author=author_name(teams[slug].name),
        ).send()
    cl.user_session.set("history", [])


async def _set_up(widgets: list[Any], greeting: str) -> None:
    """Show a profile's settings, keep what they hold, and greet."""
    cl.user_session.set("settings", await cl.ChatSettings(widgets).send())
    await cl.Message(content=greeting).send()


GREETED_ON = "greeted_on"  # the socket the session's greeting went to
_chainlit_connected = sio.handlers["/"]["connection_successful"]


@sio.on("connection_successful")
async def connected(sid: str) -> None:
    """Greet a session again on a new socket when nothing was said on the one it replaced.

    Chainlit 2.12 starts a chat once per session, and its page replaces its first
    socket while it loads (a second ``connect`` of the same session as its chat
    profile settles): a greeting sent on the first socket is lost, and the chat
    showed no greeting, no settings and no open runs. Before the person's first
    message, a session restored on another socket starts again (what is still
    starting for the old socket stops); a person whose connection dropped before
    writing anything sees the greeting twice. Chainlit then does what it does.
    """
    session = WebsocketSession.get(sid)
    if session is not None and session.restored and not session.has_first_interaction:
        greeted = user_sessions.get(session.id, {}).get(GREETED_ON)
        if session.chat_started and greeted != sid:
            task = session.current_task
            if task is not None and not task.done():
                task.cancel()
            session.chat_started = False
    await _chainlit_connected(sid)


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
    person = await who()
    if person is None:
        await signed_out()
        return
    if profile == FACTORY:
        await runs.start_run(person, text)
    elif profile == GROUP:
        await group_chat(text, person=person)
    elif profile == QA:
        await project_answer(text, person=person)
    elif (slug := team_of_profile(profile)) is not None:
        await team_chat(slug, text, person=person)
