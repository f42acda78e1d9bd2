"""Who may use the factory: names, roles, scrypt password hashes and API keys in one YAML file.

Roles are the policy's (``config/policy.yaml`` says which role may answer which
pause): viewer, operator, reviewer, approver, admin. The file is written only by
``devfactory users`` and read on every sign-in and every action in the chat, so
removing someone or changing their role takes effect at once, without a restart.

A password needs ``MIN_PASSWORD`` characters and a zxcvbn score of at least
``MIN_SCORE`` (zxcvbn knows common passwords, names, words and keyboard
patterns). Checking a name that is not in the file costs the same scrypt work
as checking one that is, so the time a sign-in takes does not say who exists.

API keys (``devfactory keys``) belong to a person in the same file, so the chat
and the API agree on who is who: a key acts as its person, in the role the file
gives that person now. A key is ``dfk_<id>_<secret>`` with a 256-bit random
secret; the file keeps only its SHA-256 (a key is never guessable, so a slow
hash adds nothing) and it is shown once, when made. A person may exist for the
API only: without a password they cannot sign in to the chat.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

import yaml
from zxcvbn import zxcvbn

from devfactory.control.policy import ROLES
from devfactory.settings import Settings

_NAME = re.compile(r"^[A-Za-z0-9._@-]{1,64}$")
_KEY = re.compile(r"^dfk_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$")
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


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


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


@dataclass(frozen=True)
class ApiKey:
    """An API key as listed: its id, whose it is, when it was made (never its secret)."""

    id: str
    name: str
    created: str


class UserStore:
    """The users file (created on the first ``add``)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        # by_key's copy of the file and the (inode, mtime, size) it was read at
        self._seen: tuple[tuple[int, int, int], dict[str, dict[str, dict[str, str]]]] | None = None

    @classmethod
    def of(cls, settings: Settings) -> UserStore:
        """Return the configured users file (``users_file``, else ``<data_dir>/users.yaml``)."""
        return cls(settings.users_file or settings.data_dir / "users.yaml")

    def _read(self) -> dict[str, dict[str, dict[str, str]]]:
        if not self.path.exists():
            return {"users": {}, "keys": {}}
        data = yaml.safe_load(self.path.read_text("utf-8")) or {}
        users, keys = data.get("users") or {}, data.get("keys") or {}
        if not isinstance(users, dict) or not isinstance(keys, dict):
            raise UserError(f"{self.path}: 'users' and 'keys' must be mappings")
        return {"users": users, "keys": keys}

    def _current(self) -> dict[str, dict[str, dict[str, str]]]:
        """Return the file as ``by_key`` reads it on every request: parsed again once it changed.

        Every write replaces the file (a new inode), so a removed person or a new
        role still counts from the next request. The result must not be changed.
        """
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return {"users": {}, "keys": {}}
        stamp = (st.st_ino, st.st_mtime_ns, st.st_size)
        seen = self._seen
        if seen is None or seen[0] != stamp:
            seen = self._seen = (stamp, self._read())
        return seen[1]

    def _load(self) -> dict[str, dict[str, str]]:
        return self._read()["users"]

    def add(self, name: str, password: str, role: str) -> Person:
        """Add or replace ``name`` with a new password and role."""
        if not _NAME.match(name):
            raise UserError("a name is 1-64 letters, digits, '.', '_', '@' or '-'")
        check_password(password, name)
        users = self._load()
        users[name] = {"role": check_role(role), "password": _hash(password, os.urandom(16))}
        self._save(users)
        return Person(name, role)

    def _save(
        self, users: dict[str, dict[str, str]], keys: dict[str, dict[str, str]] | None = None
    ) -> None:
        keys = self._read()["keys"] if keys is None else keys
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(yaml.safe_dump({"users": users, "keys": keys}, sort_keys=True), "utf-8")
        tmp.chmod(0o600)
        tmp.replace(self.path)

    def create_key(self, name: str, role: str | None = None) -> tuple[ApiKey, str]:
        """Make an API key for ``name``; return it and its token (shown this once).

        A person not in the file is added for the API only (no password), in
        ``role``; for a person in the file, ``role`` must be theirs (change a
        role with ``devfactory users add``).
        """
        if not _NAME.match(name):
            raise UserError("a name is 1-64 letters, digits, '.', '_', '@' or '-'")
        data = self._read()
        users, keys = data["users"], data["keys"]
        person = users.get(name)
        if person is None:
            if role is None:
                raise UserError(f"{name} is not in {self.path}: give their --role")
            users[name] = {"role": check_role(role)}
        elif role is not None and person.get("role") != role:
            raise UserError(
                f"{name} is a {person.get('role')}; a key acts in its person's role "
                "(change the role with `devfactory users add`)"
            )
        ident, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
        created = datetime.now(UTC).isoformat(timespec="seconds")
        keys[ident] = {"name": name, "sha256": _digest(secret), "created": created}
        self._save(users, keys)
        return ApiKey(ident, name, created), f"dfk_{ident}_{secret}"

    def keys(self) -> list[ApiKey]:
        """List the API keys (never their secrets), oldest first."""
        found = [
            ApiKey(ident, str(k.get("name", "")), str(k.get("created", "")))
            for ident, k in self._read()["keys"].items()
        ]
        return sorted(found, key=lambda k: (k.created, k.id))

    def revoke_key(self, ident: str) -> bool:
        """Delete an API key; return whether it was there."""
        data = self._read()
        if data["keys"].pop(ident, None) is None:
            return False
        self._save(data["users"], data["keys"])
        return True

    def by_key(self, token: str) -> Person | None:
        """Return the person a key acts for, in their current role; None for any bad key."""
        match = _KEY.match(token)
        if match is None:
            return None
        ident, secret = match.groups()
        data = self._current()
        key = data["keys"].get(ident)
        if key is None or not hmac.compare_digest(_digest(secret), str(key.get("sha256", ""))):
            return None
        user = data["users"].get(str(key.get("name", "")))
        if not user:
            return None  # the person was removed: their keys act for nobody
        role = str(user.get("role", "viewer"))
        return Person(str(key["name"]), role if role in ROLES else "viewer")

    def remove(self, name: str) -> bool:
        """Remove ``name`` and their API keys; return whether they were there."""
        data = self._read()
        if data["users"].pop(name, None) is None:
            return False
        keys = {i: k for i, k in data["keys"].items() if k.get("name") != name}
        self._save(data["users"], keys)
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
        # a person without a password (an API-only one) costs the same work and never matches
        stored = str(user.get("password") or _dummy_hash()) if user else _dummy_hash()
        if user and not user.get("password"):
            user = {}
        if not _matches(password, stored) or not user:
            return None
        role = str(user.get("role", "viewer"))
        return Person(name, role if role in ROLES else "viewer")
