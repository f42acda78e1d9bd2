"""What every part of the chat shares: settings, teams, the run hub, who is signed in."""

from __future__ import annotations

import threading
from typing import Any

import chainlit as cl

from devfactory.chat.hub import RunHub
from devfactory.runner import Factory
from devfactory.settings import Settings, get_settings
from devfactory.teams import load_teams

FACTORY, GROUP, QA = "Factory", "Group chat", "Project Q&A"
DEFAULT_GROUP = ["business-analysis", "solution-architecture", "backend-engineering"]

settings: Settings = get_settings()
teams = load_teams()
_hub: RunHub | None = None
_hub_lock = threading.Lock()


def hub() -> RunHub:
    """Return the server's run hub (opened on first use: the database, the models, memory)."""
    global _hub
    with _hub_lock:
        if _hub is None:
            factory = Factory(settings)  # honours models_factory, as every entry point does
            if settings.memory_enabled:
                factory.memory  # noqa: B018 - set up memory once, before threads share it
            _hub = RunHub(
                factory,
                max_active=settings.chat_max_active_runs,
                out_root=settings.data_dir / "chat" / "out",
            )
        return _hub


def me() -> tuple[str, str]:
    """Return the signed-in person's name and role."""
    user = cl.user_session.get("user")
    if user is None:
        return "anonymous", "viewer"
    return user.identifier, str((user.metadata or {}).get("role", "viewer"))


def chosen(key: str, default: Any) -> Any:
    """Return a chat setting of this session (pipeline, project, teams, rounds)."""
    return (cl.user_session.get("settings") or {}).get(key) or default
