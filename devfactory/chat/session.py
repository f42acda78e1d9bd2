"""What every part of the chat shares: settings, teams, the run hub, who is signed in."""

from __future__ import annotations

import threading
from typing import Any

import chainlit as cl
from chainlit.auth import decode_jwt
from chainlit.context import context

from devfactory.chat import secret
from devfactory.chat.access import recheck
from devfactory.chat.grants import Grants
from devfactory.chat.hub import RunHub
from devfactory.chat.inert import inert_markdown
from devfactory.control.policy import Policy, load_policy
from devfactory.control.signin_throttle import SignInThrottle
from devfactory.factory.facade import Factory
from devfactory.settings import Settings, get_settings
from devfactory.store.signins import throttle as signin_throttle
from devfactory.teams import load_teams
from devfactory.users import Person, UserStore

FACTORY, GROUP, QA = "Factory", "Group chat", "Project Q&A"
DEFAULT_GROUP = ["business-analysis", "solution-architecture", "backend-engineering"]
SIGNED_OUT = (
    "You are no longer signed in (your sign-in expired, or your access was removed "
    "or changed). Sign out and sign in again."
)

settings: Settings = get_settings()
teams = load_teams()
_hub: RunHub | None = None
_throttle: SignInThrottle | None = None
_hub_lock = threading.Lock()


def hub() -> RunHub:
    """Return the server's run hub (opened on first use: the database, the models, memory)."""
    global _hub
    with _hub_lock:
        if _hub is None:
            factory = Factory(settings)  # honours models_factory, as every entry point does
            if settings.recall.memory_enabled:
                factory.memory  # noqa: B018 - set up memory once, before threads share it
            _hub = RunHub(
                factory,
                max_active=settings.service.chat_max_active_runs,
                out_root=settings.storage.data_dir / "chat" / "out",
            )
        return _hub


def throttle() -> SignInThrottle:
    """Return the sign-in throttle: its counts live in the factory's database (``hub``)."""
    global _throttle
    with _hub_lock:
        found = _throttle
    if found is None:
        found = signin_throttle(settings, hub().factory.pool)
        with _hub_lock:
            _throttle = _throttle or found
            found = _throttle
    return found


def policy() -> Policy:
    """Return the policy (read again each time, so an edited policy file applies at once)."""
    return load_policy(settings.runs.policy_file)


def _token_valid() -> bool:
    """Say whether this session's sign-in token is still good (not expired, current secret)."""
    secret.refresh()
    token = getattr(context.session, "token", None)
    if not token:
        return False
    try:
        decode_jwt(token)
    except Exception:  # noqa: BLE001 - expired, bad signature, malformed: all mean "no"
        return False
    return True


async def who() -> Person | None:
    """Return the signed-in person as the users file says now, or None if they may not act."""
    user = cl.user_session.get("user")
    if user is None or not _token_valid():
        return None
    # A small file read, done inline: a thread hop could queue behind runs being followed.
    store = UserStore.of(settings)
    return recheck(
        user.identifier, user.metadata, store, header_auth=settings.service.chat_header_auth
    )


async def say(text: str) -> None:
    """Send ``text`` as a message, made inert (``inert_markdown``: no image or HTML of it loads)."""
    await cl.Message(content=inert_markdown(text)).send()


async def signed_out() -> None:
    """Tell the person they must sign in again (their action did nothing)."""
    await cl.Message(content=SIGNED_OUT).send()


def grants() -> Grants:
    """Return this session's one-time button grants."""
    held = cl.user_session.get("grants")
    if not isinstance(held, Grants):
        held = Grants()
        cl.user_session.set("grants", held)
    return held


def started_here() -> set[str]:
    """Return the ids of the runs this session's messages started (and it follows live).

    A chat that starts again while the person's first message starts a run (the
    page replaced its first socket, on a busy machine) lists the open runs: without
    this, that run and its question were shown twice.
    """
    held = cl.user_session.get("started_here")
    if not isinstance(held, set):
        held = set()
        cl.user_session.set("started_here", held)
    return held


def chosen(key: str, default: Any) -> Any:
    """Return a chat setting of this session (pipeline, project, teams, rounds)."""
    return (cl.user_session.get("settings") or {}).get(key) or default
