"""The Chainlit chat: a thin client of the same graph, checkpointer and memory.

Chainlit reads its configuration and writes ``.chainlit/``, ``chainlit.md`` and
``.files/`` in its app root, which it fixes when it is first imported. So
``prepare`` points it at ``<data_dir>/chat`` (made private first: the run files
the chat attaches are copied into ``.files/``) and writes our configuration there
before anything imports chainlit; ``serve`` runs it (``devfactory chat``) and
``mount`` mounts it into a FastAPI app.

What ``prepare`` fixes in that configuration, from the settings: the origins
allowed to call the chat (CORS, and the origin guard in ``chainlit_app.py`` reads the
same list), how long a sign-in lasts, and the frontend without outside hosts
(``offline_assets.py``). The signing secret is ``secret.py``'s.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from importlib.resources import files
from pathlib import Path
from typing import Any

from devfactory.chat import offline_assets as frontend
from devfactory.chat import secret
from devfactory.chat.guard import chat_origins
from devfactory.private_files import keep_private, narrow
from devfactory.settings import Settings
from devfactory.webguard import forwarded_allow_ips

APP = Path(__file__).with_name("chainlit_app.py")
WELCOME = """# devfactory

Pick a profile at the top: **Factory** builds a requirement with the teams,
**Group chat** lets several teams discuss a question, **Project Q&A** answers
from a project's memory, and each team has a profile of its own.
"""


def chainlit_config(settings: Settings, origins: list[str]) -> str:
    """Return Chainlit's config.toml: ours, with the allowed origins and the sign-in lifetime."""
    text = (files("devfactory.chat") / "chainlit.toml").read_text("utf-8")
    values = {
        "allow_origins": json.dumps(origins),
        "user_session_timeout": str(settings.service.chat_session_minutes * 60),
    }
    for key, value in values.items():
        text, found = re.subn(rf"(?m)^{key} = .*$", f"{key} = {value}", text)
        if found != 1:
            raise RuntimeError(f"chat/chainlit.toml must set {key} exactly once")
    tomllib.loads(text)  # refuse to write a config Chainlit could not read
    return text


def prepare(settings: Settings, *, host: str | None = None, port: int | None = None) -> Path:
    """Write the chat's app root and configuration; set Chainlit's environment.

    What the chat writes is its user's alone (``private_files``), the copies of
    run files it attaches first of all.

    ``host`` and ``port`` are where this chat listens (default: the settings'),
    which gives its origin unless ``chat_public_origin`` is set.
    """
    keep_private(settings.storage.data_dir, settings.storage.runs_dir)
    root = settings.storage.data_dir / "chat"
    (root / ".chainlit").mkdir(parents=True, exist_ok=True)
    # the copies of run files the chat attaches: Chainlit keeps them here (made on import)
    (root / ".files").mkdir(mode=0o700, exist_ok=True)
    narrow(root / ".files")
    config = chainlit_config(settings, chat_origins(settings, host, port))
    (root / ".chainlit" / "config.toml").write_text(config, "utf-8")
    (root / "chainlit.md").write_text(WELCOME, "utf-8")
    frontend.build(root)
    os.environ["CHAINLIT_APP_ROOT"] = str(root)
    secret.use(settings)
    # The app reads its settings from the environment; hand it the resolved data dir.
    os.environ["DEVFACTORY_DATA_DIR"] = str(settings.storage.data_dir)
    return root


def serve(settings: Settings, *, host: str, port: int) -> None:
    """Run the chat server in this process until it is stopped."""
    prepare(settings, host=host, port=port)
    os.environ["CHAINLIT_HOST"] = host
    os.environ["CHAINLIT_PORT"] = str(port)
    # Chainlit's uvicorn reads which peers may name a client in X-Forwarded-For from
    # here (its own default: 127.0.0.1); the API passes the same list (api/__main__.py)
    os.environ["FORWARDED_ALLOW_IPS"] = forwarded_allow_ips(settings.service.trusted_proxies)
    from chainlit.cli import run_chainlit
    from chainlit.config import config

    config.run.headless = True
    run_chainlit(str(APP))


def mount(app: Any, settings: Settings, path: str = "/chat") -> None:
    """Mount the chat into a FastAPI ``app`` under ``path`` (its origin: the settings')."""
    prepare(settings)
    from chainlit.utils import mount_chainlit

    mount_chainlit(app=app, target=str(APP), path=path)
