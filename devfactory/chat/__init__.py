"""The Chainlit chat: a thin client of the same graph, checkpointer and memory.

Chainlit reads its configuration and writes ``.chainlit/``, ``chainlit.md`` and
``.files/`` in its app root, which it fixes when it is first imported. So
``prepare`` points it at ``<data_dir>/chat`` and writes our configuration there
before anything imports chainlit; ``serve`` runs it (``devfactory chat``) and
``mount`` mounts it into a FastAPI app.
"""

from __future__ import annotations

import os
import secrets
from importlib.resources import files
from pathlib import Path
from typing import Any

from devfactory.settings import Settings

APP = Path(__file__).with_name("app.py")
WELCOME = """# devfactory

Pick a profile at the top: **Factory** builds a requirement with the teams,
**Group chat** lets several teams discuss a question, **Project Q&A** answers
from a project's memory, and each team has a profile of its own.
"""


def prepare(settings: Settings) -> Path:
    """Write the chat's app root and configuration; set Chainlit's environment."""
    root = settings.data_dir / "chat"
    (root / ".chainlit").mkdir(parents=True, exist_ok=True)
    config = (files("devfactory.chat") / "chainlit.toml").read_text("utf-8")
    (root / ".chainlit" / "config.toml").write_text(config, "utf-8")
    (root / "chainlit.md").write_text(WELCOME, "utf-8")
    os.environ["CHAINLIT_APP_ROOT"] = str(root)
    if not os.environ.get("CHAINLIT_AUTH_SECRET"):
        secret = settings.data_dir / "chat-secret"
        if not secret.exists():
            secret.write_text(secrets.token_urlsafe(48), "utf-8")
            secret.chmod(0o600)
        os.environ["CHAINLIT_AUTH_SECRET"] = secret.read_text("utf-8").strip()
    # The app reads its settings from the environment; hand it the resolved data dir.
    os.environ["DEVFACTORY_DATA_DIR"] = str(settings.data_dir)
    return root


def serve(settings: Settings, *, host: str, port: int) -> None:
    """Run the chat server in this process until it is stopped."""
    prepare(settings)
    os.environ["CHAINLIT_HOST"] = host
    os.environ["CHAINLIT_PORT"] = str(port)
    from chainlit.cli import run_chainlit
    from chainlit.config import config

    config.run.headless = True
    run_chainlit(str(APP))


def mount(app: Any, settings: Settings, path: str = "/chat") -> None:
    """Mount the chat into a FastAPI ``app`` under ``path``."""
    prepare(settings)
    from chainlit.utils import mount_chainlit

    mount_chainlit(app=app, target=str(APP), path=path)
