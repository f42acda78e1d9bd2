"""Who may use the factory: names, roles, Argon2id password hashes and API keys in one YAML file.

Roles are the policy's (``config/policy.yaml`` says which role may answer which
pause): viewer, operator, reviewer, approver, admin. The file is written by
``devfactory users`` and ``devfactory keys`` (and by a sign-in that rehashes a
password) and read on every sign-in and every action in the chat, so removing
someone or changing their role takes effect at once, without a restart. Every
write replaces the whole file with one made 0600 from its first byte
(``redact.write_private``), under a lock, from the file as it is then: two
writers never lose each other's change.

A password needs ``MIN_PASSWORD`` characters and a zxcvbn score of at least
``MIN_SCORE`` (zxcvbn knows common passwords, names, words and keyboard
patterns). It is kept as an Argon2id hash (argon2-cffi) with RFC 9106's
second recommended profile (``RFC_9106_LOW_MEMORY``: 64 MiB, 3 passes, 4
lanes), the library's default: memory-hard, where the scrypt it replaces ran
at N=2^14 (16 MiB), and cheap enough that a sign-in takes a fraction of a
second. A hash made with other parameters (older ones, or a scrypt hash of an
earlier version) is still accepted, and replaced with one of the current
parameters at that person's next successful sign-in. At most
``password_checks_at_once`` hashes are worked at once in a process, so a flood
of sign-ins cannot take 64 MiB each without bound. A server checks a sign-in
(``UserStore.check_sign_in``) in threads of its own (``PasswordChecks``), never
in the pool its other requests run in, with at most ``password_checks_waiting``
more sign-ins waiting: one past that is refused at once (``BusyError``), so a
flood of sign-ins neither holds the server nor queues without bound. Checking a
name that is not in the file costs the same work as checking one that is, so
the time a sign-in takes does not say who exists.

API keys (``devfactory keys``) belong to a person in the same file, so the chat
and the API agree on who is who: a key acts as its person, in the role the file
gives that person now. A key is ``dfk_<id>_<secret>`` with a 256-bit random
secret; the file keeps only its SHA-256 (a key is never guessable, so a slow
hash adds nothing) and it is shown once, when made. A person may exist for the
API only: without a password they cannot sign in to the chat.

Why one module: the users file is one concept, who may act, in which role,
proven by which password or key; every read and write of it, and every check
of a password it keeps (bounded per process), goes through ``UserStore``.
"""

from __future__ import annotations

import asyncio
import fcntl
import hashlib
import hmac
import logging
import os
import re
import secrets
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

import yaml
from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError
from zxcvbn import zxcvbn

from devfactory.control.policy import ROLES
from devfactory.control.signin_throttle import SignInThrottle
from devfactory.redact import write_private
from devfactory.settings import Settings
from devfactory.shown import with_article

log = logging.getLogger(__name__)
_NAME = re.compile(r"[A-Za-z0-9._@-]{1,64}")  # the whole name (fullmatch: no trailing newline)
_KEY = re.compile(r"dfk_([0-9a-f]{12})_([A-Za-z0-9_-]{43})")
HASHER = PasswordHasher.from_parameters(profiles.RFC_9106_LOW_MEMORY)
"""How passwords are hashed now: Argon2id with RFC 9106's low-memory profile."""
_Data = dict[str, dict[str, dict[str, str]]]
_T = TypeVar("_T")
MIN_PASSWORD = 12
MIN_SCORE = 3  # zxcvbn: 0 too guessable ... 4 very unguessable


class UserError(ValueError):
    """A bad name, role or password."""


@dataclass(frozen=True)
class Person:
    """Someone who may sign in, and the role they answer pauses in."""

    name: str
    role: str


def _scrypt_matches(password: str, stored: str) -> bool:
    """Say whether ``password`` matches a scrypt hash of an earlier version (``scrypt$N$r$p$...``).

    Its parameters are bounded before any work: a users file edited to ask for
    more memory than N=2^17, r=8 cannot make a sign-in take it.
    """
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt" or int(n) > 2**17 or int(r) > 8 or int(p) > 4:
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
def _dummy_hash(hasher: PasswordHasher) -> str:
    """Return a hash no password matches, made with the same work as real ones."""
    return hasher.hash(secrets.token_hex(16))


@cache
def _checks(at_once: int) -> threading.BoundedSemaphore:
    """Return the process's gate on password hashes worked at once (one per limit)."""
    return threading.BoundedSemaphore(at_once)


class BusyError(RuntimeError):
    """Every password check of this process, and every place to wait for one, is taken."""

    retry_after_s = 1


class PasswordChecks:
    """Password checks worked in threads of their own: at most ``at_once``, ``waiting`` more queued.

    A server's other requests wait for the threads of its own pool; a sign-in
    awaits a check here instead, holding none of them. A check asked for past
    ``at_once + waiting`` raises ``BusyError`` at once: a flood is refused
    quickly, and never queued without bound.
    """

    def __init__(self, at_once: int, waiting: int) -> None:
        if at_once < 1 or waiting < 0:
            raise ValueError("password checks need at_once >= 1 and waiting >= 0")
        self.at_once = at_once
        self.waiting = waiting
        self._places = threading.BoundedSemaphore(at_once + waiting)
        self._threads = ThreadPoolExecutor(at_once, thread_name_prefix="password-check")

    async def run(self, work: Callable[[], _T]) -> _T:
        """Return what ``work`` returns, run in a check thread; ``BusyError`` when all are taken.

        Its place is given back when the work ends (or is dropped before it
        started), not when the caller stops waiting: a client that hangs up
        cannot make room for more checks than ``at_once`` at a time.
        """
        if not self._places.acquire(blocking=False):
            raise BusyError(
                f"{self.at_once + self.waiting} sign-ins are being checked or waiting; "
                "try again in a moment"
            )
        try:
            future: Future[_T] = self._threads.submit(work)
        except BaseException:
            self._places.release()
            raise
        future.add_done_callback(lambda _: self._places.release())
        return await asyncio.wrap_future(future)


@cache
def password_checks(at_once: int, waiting: int) -> PasswordChecks:
    """Return the process's password checks (one per limit)."""
    return PasswordChecks(at_once, waiting)


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
    """The users file (created on the first ``add``).

    ``hasher``: how new passwords are hashed (``HASHER``; tests pass a cheaper
    one); a stored hash made otherwise is replaced at its next good sign-in.
    ``checks_at_once``: password hashes worked at once in this process;
    ``checks_waiting``: sign-ins that may wait for one (``check_sign_in``).
    """

    def __init__(
        self,
        path: Path,
        *,
        hasher: PasswordHasher = HASHER,
        checks_at_once: int = 4,
        checks_waiting: int = 16,
    ) -> None:
        self.path = path
        self.hasher = hasher
        self._checks = _checks(checks_at_once)
        self.sign_ins = password_checks(checks_at_once, checks_waiting)
        # by_key's copy of the file and the (inode, mtime, size) it was read at
        self._seen: tuple[tuple[int, int, int], _Data] | None = None

    @classmethod
    def of(cls, settings: Settings) -> UserStore:
        """Return the configured users file (``users_file``, else ``<data_dir>/users.yaml``)."""
        return cls(
            settings.service.users_file or settings.storage.data_dir / "users.yaml",
            checks_at_once=settings.service.password_checks_at_once,
            checks_waiting=settings.service.password_checks_waiting,
        )

    def _hash(self, password: str) -> str:
        with self._checks:
            return self.hasher.hash(password)

    def _update(self, change: Callable[[_Data], _T]) -> _T:
        """Apply ``change`` to the file as it is now, under the file's lock, and save it.

        The lock is on the file's folder (``flock``), so every writer (the CLI, a
        sign-in's rehash) reads what the last one wrote, and none loses another's
        change. Nothing is saved when ``change`` raises.
        """
        self.path.parent.mkdir(parents=True, exist_ok=True)
        folder = os.open(self.path.parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            fcntl.flock(folder, fcntl.LOCK_EX)
            data = self._read()
            changed = change(data)
            text = yaml.safe_dump({"users": data["users"], "keys": data["keys"]}, sort_keys=True)
            write_private(self.path, text)
            return changed
        finally:
            os.close(folder)  # and the lock with it

    def _read(self) -> _Data:
        if not self.path.exists():
            return {"users": {}, "keys": {}}
        data = yaml.safe_load(self.path.read_text("utf-8")) or {}
        users, keys = data.get("users") or {}, data.get("keys") or {}
        if not isinstance(users, dict) or not isinstance(keys, dict):
            raise UserError(f"{self.path}: 'users' and 'keys' must be mappings")
        return {"users": users, "keys": keys}

    def _current(self) -> _Data:
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
        _check_name(name)
        check_password(password, name)
        check_role(role)
        hashed = self._hash(password)

        def put(data: _Data) -> None:
            data["users"][name] = {"role": role, "password": hashed}

        self._update(put)
        return Person(name, role)

    def create_key(self, name: str, role: str | None = None) -> tuple[ApiKey, str]:
        """Make an API key for ``name``; return it and its token (shown this once).

        A person not in the file is added for the API only (no password), in
        ``role``; for a person in the file, ``role`` must be theirs (change a
        role with ``devfactory users add``).
        """
        _check_name(name)
        ident, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
        created = datetime.now(UTC).isoformat(timespec="seconds")

        def put(data: _Data) -> None:
            users, keys = data["users"], data["keys"]
            person = users.get(name)
            if person is None:
                if role is None:
                    raise UserError(f"{name} is not in {self.path}: give their --role")
                users[name] = {"role": check_role(role)}
            elif role is not None and person.get("role") != role:
                raise UserError(
                    f"{name} is {with_article(str(person.get('role')))} in {self.path}, and a key "
                    "acts in its person's role: leave --role out (change a role with "
                    "`devfactory users add`)"
                )
            keys[ident] = {"name": name, "sha256": _digest(secret), "created": created}

        self._update(put)
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
        if ident not in self._read()["keys"]:
            return False
        return self._update(lambda data: data["keys"].pop(ident, None) is not None)

    def by_key(self, token: str) -> Person | None:
        """Return the person a key acts for, in their current role; None for any bad key."""
        match = _KEY.fullmatch(token)
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
        if name not in self._load():
            return False

        def drop(data: _Data) -> bool:
            if data["users"].pop(name, None) is None:
                return False
            data["keys"] = {i: k for i, k in data["keys"].items() if k.get("name") != name}
            return True

        return self._update(drop)

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
        """Return the person when ``password`` is theirs, else None (taking the same time).

        A good password whose hash was made with other parameters than the
        hasher's now (or with scrypt) is hashed again and saved; a file that
        cannot be written then leaves the old hash, and the sign-in stands.
        """
        user: dict[str, Any] = self._load().get(name) or {}
        stored = str(user.get("password") or "")
        # a name not in the file, or without a password (an API-only one), costs the same
        # work and never matches
        if not self._matches(password, stored or _dummy_hash(self.hasher)) or not stored:
            return None
        if self._stale(stored):
            self._rehash(name, password, stored)
        role = str(user.get("role", "viewer"))
        return Person(name, role if role in ROLES else "viewer")

    async def check_sign_in(
        self, name: str, password: str, address: str, throttle: SignInThrottle
    ) -> Person | None:
        """Return the person when ``password`` is theirs, else None, counted by ``throttle``.

        The whole check (the attempt counted, the hash, the outcome settled) runs
        in ``sign_ins``' threads, so the chat and the console bound it alike.

        Raises:
            BusyError: every check and every place to wait is taken; nothing was counted.
            LockedError: too many failures for the name, the address or both.

        """

        def check() -> Person | None:
            attempt = throttle.attempt(name, address)
            person = self.verify(name, password)
            if person is None:
                throttle.failed(attempt)
            else:
                throttle.succeeded(attempt)
            return person

        return await self.sign_ins.run(check)

    def _matches(self, password: str, stored: str) -> bool:
        with self._checks:
            if stored.startswith("scrypt$"):
                return _scrypt_matches(password, stored)
            try:
                return self.hasher.verify(stored, password)
            except (VerificationError, InvalidHashError):
                return False

    def _stale(self, stored: str) -> bool:
        """Say whether ``stored`` was made otherwise than the hasher makes hashes now."""
        try:
            return self.hasher.check_needs_rehash(stored)
        except (InvalidHashError, ValueError):  # scrypt, or not an Argon2 hash at all
            return True

    def _rehash(self, name: str, password: str, stored: str) -> None:
        """Replace ``name``'s verified hash ``stored`` with one of the current parameters.

        Only when the file still holds ``stored`` for them: a password changed or
        a person removed in between is left as it is.
        """
        fresh = self._hash(password)

        def swap(data: _Data) -> None:
            user = data["users"].get(name)
            if user is not None and user.get("password") == stored:
                user["password"] = fresh

        try:
            self._update(swap)
        except OSError as exc:
            log.warning("the password of %s was not rehashed: %s", name, exc)


def _check_name(name: str) -> str:
    """Return a person's name, or raise ``UserError``: 1-64 letters, digits, ``._@-``."""
    if not _NAME.fullmatch(name):
        raise UserError("a name is 1-64 letters, digits, '.', '_', '@' or '-'")
    return name
