"""Browser sign-in for the console: a signed, short-lived cookie standing for a person.

A person signs in with the name and password of the users file (the chat's),
throttled per name and per address in the database like the chat's sign-in
(``control/signin.py``). The cookie holds a token signed with a secret kept in
``<data_dir>/console-secret`` (HS256, ``iat`` and ``exp``); it names the person
only: their role is read from the users file on every request, so a removed
person or a changed role takes effect at once. The cookie is ``HttpOnly`` and
``SameSite=Strict``, and a request that changes something with it must also
carry ``X-Devfactory-Console: 1``, a header another site's page cannot send
without a CORS preflight this API never grants.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import jwt

from devfactory.redact import kept_secret
from devfactory.users import Person, UserStore
from devfactory.webguard import Refusal, Scope

COOKIE = "devfactory_console"
CSRF_HEADER = "x-devfactory-console"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
ALGORITHM = "HS256"


def secret_file(data_dir: Path) -> Path:
    """Return where the console keeps the secret that signs its cookies."""
    return data_dir / "console-secret"


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


@dataclass(frozen=True)
class ConsoleSessions:
    """Issue and read the console's signed sign-in tokens.

    Args:
        users: the users file (names, passwords, roles).
        secret_path: where the signing secret is kept (made on first use, mode 0600).
        lifetime_s: how long a sign-in lasts.

    """

    users: UserStore
    secret_path: Path
    lifetime_s: float

    def _secret(self) -> str:
        return kept_secret(self.secret_path)

    def issue(self, person: Person, *, now: float | None = None) -> str:
        """Return a token that stands for ``person`` until ``lifetime_s`` from now."""
        issued = int(now if now is not None else time.time())
        claims = {"sub": person.name, "iat": issued, "exp": issued + int(self.lifetime_s)}
        return jwt.encode(claims, self._secret(), algorithm=ALGORITHM)

    def person(self, token: str) -> Person | None:
        """Return who ``token`` stands for, as the users file says now (None: not valid)."""
        try:
            claims = jwt.decode(
                token, self._secret(), algorithms=[ALGORITHM], options={"require": ["exp", "sub"]}
            )
        except jwt.PyJWTError:
            return None
        return self.users.find(str(claims["sub"]))

    def identify(self, scope: Scope) -> Person | Refusal | None:
        """Return the person a request's console cookie stands for, a refusal, or None (no cookie).

        A cookie that is no longer valid is refused (401); one sent with a request
        that changes something, without the console's header, is refused (403).
        """
        token = cookie_of(scope)
        if token is None:
            return None
        person = self.person(token)
        if person is None:
            return Refusal(401, "your console sign-in has expired or was withdrawn; sign in again")
        changes = scope.get("method", "GET") not in SAFE_METHODS
        if changes and header_of(scope, CSRF_HEADER.encode()) != "1":
            return Refusal(403, f"a change made with the console's sign-in needs {CSRF_HEADER}: 1")
        return person
