"""Browser sign-in for the console: a random token in a cookie, for a sign-in kept in Postgres.

A person signs in with the name and password of the users file (the chat's),
throttled per name and per address in the database like the chat's sign-in
(``control/signin_throttle.py``). The cookie holds 256 random bits; the database keeps
only their SHA-256, with the person, when the sign-in began, ends and was last
used (``store/sessions.py``). Nothing signs a cookie, so there is no key to
steal: a sign-in is valid exactly while its row exists, which is what makes it
revocable. Signing out deletes the row, ``devfactory users rotate-secret``
deletes every row, and removing a person deletes theirs. The row names the
person only: their role is read from the users file on every request, so a
removed person or a changed role takes effect at once.

The cookie is ``HttpOnly`` and ``SameSite=Strict``, and a request that changes
something with it must also carry ``X-Devfactory-Console: 1``, a header another
site's page cannot send without a CORS preflight this API never grants.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Final

import psycopg
from psycopg_pool import PoolTimeout

from devfactory.store.sessions import SessionStore
from devfactory.users import Person, UserStore
from devfactory.webguard import SAFE_METHODS, Refusal, Scope

log = logging.getLogger(__name__)
COOKIE = "devfactory_console"
CSRF_HEADER = "x-devfactory-console"
TOKEN_BYTES: Final = 32
"""Random bytes in a sign-in token (256 bits: never guessed, so a fast hash keeps it)."""
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{43}$")  # token_urlsafe(32); anything else is never looked up
TOUCH_AFTER: Final = timedelta(seconds=60)
"""How stale a sign-in's ``last_seen`` may get before a request writes it again."""


def cookie_of(scope: Scope, name: str = COOKIE) -> str | None:
    """Return the value of cookie ``name`` in an ASGI request's headers (None: not sent)."""
    for key, value in scope.get("headers", ()):
        if key.lower() != b"cookie":
            continue
        for part in value.decode("latin-1").split(";"):
            found, _, text = part.strip().partition("=")
            if found == name and text:
                return text
    return None


def header_of(scope: Scope, name: bytes) -> str | None:
    """Return header ``name`` (lower case) of an ASGI request (None: not sent)."""
    return next(
        (v.decode("latin-1") for k, v in scope.get("headers", ()) if k.lower() == name), None
    )


def token_digest(token: str) -> str:
    """Return the SHA-256 (hex) a token is kept under."""
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def _utc(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


@dataclass(frozen=True)
class ConsoleSessions:
    """Issue, read and end the console's sign-ins.

    Args:
        users: the users file (names, passwords, roles).
        store: returns where sign-ins are kept (the app opens it with its database,
            in its lifespan, after this object is made).
        lifetime_s: how long a sign-in lasts.
        per_person: the most sign-ins one person holds; one more ends their oldest.
        clock: the time now, in seconds since the epoch.

    """

    users: UserStore
    store: Callable[[], SessionStore]
    lifetime_s: float
    per_person: int
    clock: Callable[[], float] = field(default=time.time)

    def issue(self, person: Person) -> str:
        """Start a sign-in for ``person``; return its token (for the cookie, shown nowhere else)."""
        token = secrets.token_urlsafe(TOKEN_BYTES)
        ended = self.store().add(
            token_digest(token),
            person.name,
            now=_utc(self.clock()),
            lifetime=timedelta(seconds=self.lifetime_s),
            keep=self.per_person,
        )
        if ended:
            log.info("console: %d of %s's oldest sign-ins ended", ended, person.name)
        return token

    def person(self, token: str) -> Person | None:
        """Return who ``token`` stands for, as the users file says now (None: not valid).

        A token of the wrong shape (an old signed cookie, a forged one) is refused
        without a database read.
        """
        if not _TOKEN.match(token):
            return None
        found = self.store().find(
            token_digest(token), now=_utc(self.clock()), touch_after=TOUCH_AFTER
        )
        return self.users.find(found.person) if found is not None else None

    def end(self, token: str) -> bool:
        """End the sign-in ``token`` stands for (signing out); return whether it was live."""
        return bool(_TOKEN.match(token)) and self.store().end(token_digest(token))

    def identify(self, scope: Scope) -> Person | Refusal | None:
        """Return the person a request's console cookie stands for, a refusal, or None (no cookie).

        A cookie that is no longer valid is refused (401); one sent with a request
        that changes something, without the console's header, is refused (403).
        When the database cannot say, the request is refused (503), never let through.
        """
        token = cookie_of(scope)
        if token is None:
            return None
        try:
            person = self.person(token)
        except (psycopg.Error, PoolTimeout) as exc:
            log.warning("console: a sign-in could not be checked: %s", type(exc).__name__)
            return Refusal(503, "sign-ins cannot be checked now (the database); try again")
        if person is None:
            return Refusal(401, "your console sign-in has expired or was withdrawn; sign in again")
        changes = scope.get("method", "GET") not in SAFE_METHODS
        if changes and header_of(scope, CSRF_HEADER.encode()) != "1":
            return Refusal(403, f"a change made with the console's sign-in needs {CSRF_HEADER}: 1")
        return person
