"""The secret that signs chat sign-ins, kept in ``<data_dir>/chat-secret``.

Chainlit signs each sign-in token with ``CHAINLIT_AUTH_SECRET``. Unless the
operator sets that variable, the chat keeps the secret in a file of its own.
``devfactory users rotate-secret`` replaces the file; the running chat notices
at its next request (``refresh``) and from then on every token signed with the
old secret is refused, so everyone signs in again.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from devfactory.redact import kept_secret
from devfactory.settings import Settings

SECRET_ENV = "CHAINLIT_AUTH_SECRET"
FILE_ENV = "DEVFACTORY_CHAT_SECRET_FILE"  # set when the secret comes from our file
_seen: dict[str, tuple[int, int]] = {}


def secret_file(settings: Settings) -> Path:
    """Return where the chat keeps its signing secret."""
    return settings.data_dir / "chat-secret"


def _write(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(secrets.token_urlsafe(48), "utf-8")
    tmp.chmod(0o600)
    tmp.replace(path)


def use(settings: Settings) -> None:
    """Sign the chat's tokens with the secret file (made on first use), unless the env names one.

    A secret the operator put in ``CHAINLIT_AUTH_SECRET`` wins; rotating the file
    does not touch it.
    """
    if os.environ.get(SECRET_ENV) and not os.environ.get(FILE_ENV):
        return
    path = secret_file(settings)
    kept_secret(path)  # made on first use
    os.environ[FILE_ENV] = str(path)
    _seen.pop(str(path), None)
    refresh()


def refresh() -> None:
    """Load the secret file again if it changed since it was last read (a rotation)."""
    name = os.environ.get(FILE_ENV)
    if not name:
        return
    try:
        stat = os.stat(name)
    except FileNotFoundError:
        return
    mark = (stat.st_ino, stat.st_mtime_ns)
    if _seen.get(name) != mark:
        os.environ[SECRET_ENV] = Path(name).read_text("utf-8").strip()
        _seen[name] = mark


def rotate(settings: Settings) -> Path:
    """Replace the secret file with a new random secret; return its path."""
    path = secret_file(settings)
    _write(path)
    return path
