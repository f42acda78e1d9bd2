"""The chat's people: names, roles and scrypt password hashes in one YAML file.

Roles are the policy's (``config/policy.yaml`` says which role may answer which
pause): viewer, operator, reviewer, approver, admin. The file is written only by
``devfactory users add`` and read on every sign-in, so a change needs no restart.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from devfactory.control.policy import ROLES
from devfactory.settings import Settings

_NAME = re.compile(r"^[A-Za-z0-9._@-]{1,64}$")
_N, _R, _P = 2**14, 8, 1


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
        if len(password) < 8:
            raise UserError("a password has at least 8 characters")
        users = self._load()
        users[name] = {"role": check_role(role), "password": _hash(password, os.urandom(16))}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(yaml.safe_dump({"users": users}, sort_keys=True), "utf-8")
        tmp.chmod(0o600)
        tmp.replace(self.path)
        return Person(name, role)

    def remove(self, name: str) -> bool:
        """Remove ``name``; return whether it was there."""
        users = self._load()
        if users.pop(name, None) is None:
            return False
        self.path.write_text(yaml.safe_dump({"users": users}, sort_keys=True), "utf-8")
        return True

    def people(self) -> list[Person]:
        """List everyone who may sign in."""
        return [Person(n, u.get("role", "viewer")) for n, u in sorted(self._load().items())]

    def verify(self, name: str, password: str) -> Person | None:
        """Return the person when ``password`` is theirs, else None."""
        user = self._load().get(name)
        if not user or not _matches(password, str(user.get("password", ""))):
            return None
        role = str(user.get("role", "viewer"))
        return Person(name, role if role in ROLES else "viewer")
