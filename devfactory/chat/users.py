"""The chat's people: names, roles and scrypt password hashes in one YAML file.

Roles are the policy's (``config/policy.yaml`` says which role may answer which
pause): viewer, operator, reviewer, approver, admin. The file is written only by
``devfactory users`` and read on every sign-in and every action in the chat, so
removing someone or changing their role takes effect at once, without a restart.

A password needs ``MIN_PASSWORD`` characters and a zxcvbn score of at least
``MIN_SCORE`` (zxcvbn knows common passwords, names, words and keyboard
patterns). Checking a name that is not in the file costs the same scrypt work
as checking one that is, so the time a sign-in takes does not say who exists.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml
from zxcvbn import zxcvbn

from devfactory.control.policy import ROLES
from devfactory.settings import Settings

_NAME = re.compile(r"^[A-Za-z0-9._@-]{1,64}$")
_N, _R, _P = 2**14, 8, 1
MIN_PASSWORD = 12
MIN_SCORE = 3  # zxcvbn: 0 too guessable ... 4 very unguessable


class UserError(ValueError):
    """A bad name, role or password."""


@dataclass(frozen=True)
class Person:
    """Someone who may sign in, and the role they answer pauses in."""

    name: str
    role: str


def _hash(password: str, salt: bytes) -> str:
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    return f"scrypt${_N}${_R}${_P}${salt.hex()}${digest.hex()}"


def _matches(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        again = hashlib.scrypt(
            password.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p), dklen=32
        )
    except ValueError:
        return False
    return hmac.compare_digest(again.hex(), digest)


@cache
def _dummy_hash() -> str:
    """Return a hash no password matches, made with the same work as real ones."""
    return _hash(os.urandom(16).hex(), os.urandom(16))


def check_password(password: str, name: str = "") -> str:
    """Return ``password`` if it is long and hard to guess, else raise ``UserError`` saying why."""
    if len(password) < MIN_PASSWORD:
        raise UserError(f"a password has at least {MIN_PASSWORD} characters")
    verdict = zxcvbn(password[:100], user_inputs=[name, "devfactory"] if name else ["devfactory"])
    if verdict["score"] < MIN_SCORE:
        feedback = verdict.get("feedback") or {}
        why = " ".join(
            [str(feedback.get("warning") or "it is too easy to guess.")]
            + [str(s) for s in feedback.get("suggestions") or []]
        )
        raise UserError(f"that password is too easy to guess: {why}".strip())
    return password


def check_role(role: str) -> str:
    """Return ``role`` if it is one of ``ROLES``, else raise ``UserError``."""
    if role not in ROLES:
        raise UserError(f"unknown role {role!r}; roles: {', '.join(ROLES)}")
    return role


class UserStore:
    """The users file (created on the first ``add``)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def of(cls, settings: Settings) -> UserStore:
        """Return the configured users file (``users_file``, else ``<data_dir>/users.yaml``)."""
        return cls(settings.users_file or settings.data_dir / "users.yaml")

    def _load(self) -> dict[str, dict[str, str]]:
        if not self.path.exists():
            return {}
        data = yaml.safe_load(self.path.read_text("utf-8")) or {}
        users = data.get("users") or {}
        if not isinstance(users, dict):
            raise UserError(f"{self.path}: 'users' must be a mapping of name to role and hash")
        return users

    def add(self, name: str, password: str, role: str) -> Person:
        """Add or replace ``name`` with a new password and role."""
        if not _NAME.match(name):
            raise UserError("a name is 1-64 letters, digits, '.', '_', '@' or '-'")
        check_password(password, name)
        users = self._load()
        users[name] = {"role": check_role(role), "password": _hash(password, os.urandom(16))}
        self._save(users)
        return Person(name, role)

    def _save(self, users: dict[str, dict[str, str]]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(yaml.safe_dump({"users": users}, sort_keys=True), "utf-8")
        tmp.chmod(0o600)
        tmp.replace(self.path)

    def remove(self, name: str) -> bool:
        """Remove ``name``; return whether it was there."""
        users = self._load()
        if users.pop(name, None) is None:
            return False
        self._save(users)
        return True

    def people(self) -> list[Person]:
        """List everyone who may sign in."""
        return [Person(n, u.get("role", "viewer")) for n, u in sorted(self._load().items())]

    def find(self, name: str) -> Person | None:
        """Return ``name`` with their role as the file says now, or None if they are not in it."""
        user = self._load().get(name)
        if not user:
            return None
        role = str(user.get("role", "viewer"))
        return Person(name, role if role in ROLES else "viewer")

    def verify(self, name: str, password: str) -> Person | None:
        """Return the person when ``password`` is theirs, else None (taking the same time)."""
        user = self._load().get(name)
        stored = str(user.get("password", "")) if user else _dummy_hash()
        if not _matches(password, stored) or not user:
            return None
        role = str(user.get("role", "viewer"))
        return Person(name, role if role in ROLES else "viewer")
