"""Console sign-ins are rows of a store, found by the SHA-256 of a random token; nothing signs them.

The store here is a dictionary with the real store's methods (``tests/integration/
test_console_sessions.py`` holds the real one to the same behaviour in Postgres).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import inspect
import json
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from devfactory.api.console_pages import pages
from devfactory.api.signin import COOKIE, ConsoleSessions, token_digest
from devfactory.control.signin import SignInThrottle
from devfactory.settings import Settings
from devfactory.store.sessions import ConsoleSession, SessionStore
from devfactory.users import UserStore
from devfactory.webguard import Refusal


class Rows:
    """Sign-ins in memory, with ``SessionStore``'s methods; counts how often it is asked."""

    def __init__(self) -> None:
        self.rows: dict[str, ConsoleSession] = {}
        self.asked = 0
        self.down = False

    def add(
        self, digest: str, person: str, *, now: datetime, lifetime: timedelta, keep: int
    ) -> int:
        self.rows[digest] = ConsoleSession(person, now, now + lifetime, now)
        mine = sorted((r.created_at, d) for d, r in self.rows.items() if r.person == person)
        for _, digest in mine[: max(0, len(mine) - keep)]:
            del self.rows[digest]
        return max(0, len(mine) - keep)

    def find(self, digest: str, *, now: datetime, touch_after: timedelta) -> ConsoleSession | None:
        self.asked += 1
        if self.down:
            raise psycopg.OperationalError("the server closed the connection")
        found = self.rows.get(digest)
        return found if found is not None and found.expires_at > now else None

    def end(self, digest: str) -> bool:
        return self.rows.pop(digest, None) is not None


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def users(tmp_path: Path) -> UserStore:
    store = UserStore.of(Settings(data_dir=tmp_path / "data"))
    store.add("ada", "ada-administers-it", "admin")
    store.add("olive", "olive-operates-it", "operator")
    return store


def sessions_of(users: UserStore, rows: Rows, clock: Clock, per_person: int = 3) -> ConsoleSessions:
    store = rows  # duck-typed: the real one is a SessionStore over Postgres
    return ConsoleSessions(
        users,
        lambda: store,
        lifetime_s=3600,
        per_person=per_person,
        clock=clock,  # type: ignore[arg-type, return-value]
    )


def request(token: str | None, method: str = "GET", header: bool = False) -> dict[str, object]:
    headers = [(b"cookie", f"theme=dark; {COOKIE}={token}".encode())] if token else []
    if header:
        headers.append((b"x-devfactory-console", b"1"))
    return {"type": "http", "method": method, "path": "/console/api/me", "headers": headers}


def test_a_token_is_random_kept_only_as_its_digest_and_stands_for_the_person_now(
    users: UserStore,
) -> None:
    rows, clock = Rows(), Clock()
    sessions = sessions_of(users, rows, clock)
    ada = users.find("ada")
    assert ada is not None
    first, second = sessions.issue(ada), sessions.issue(ada)
    assert first != second and len(first) == 43
    assert set(rows.rows) == {token_digest(first), token_digest(second)}
    assert first not in json.dumps([str(r) for r in rows.rows.values()])
    assert sessions.identify(request(first)) == ada
    users.add("ada", "ada-administers-it", "viewer")  # a role taken away: at once
    assert sessions.identify(request(first)) == replace(ada, role="viewer")
    clock.now += 3601  # past its lifetime
    assert sessions.identify(request(first)) == Refusal(
        401, "your console sign-in has expired or was withdrawn; sign in again"
    )


def test_signing_out_ends_the_sign_in_and_changes_need_the_consoles_header(
    users: UserStore,
) -> None:
    rows, clock = Rows(), Clock()
    sessions = sessions_of(users, rows, clock)
    olive = users.find("olive")
    assert olive is not None
    token = sessions.issue(olive)
    refused = sessions.identify(request(token, "POST"))
    assert isinstance(refused, Refusal) and refused.status == 403
    assert sessions.identify(request(token, "POST", header=True)) == olive
    assert sessions.end(token) is True
    assert sessions.end(token) is False
    refused = sessions.identify(request(token))
    assert isinstance(refused, Refusal) and refused.status == 401
    assert sessions.identify(request(None)) is None  # no cookie: the API key decides


def forged(secret: bytes, claims: dict[str, object]) -> str:
    """Sign ``claims`` as the console's old cookies were signed (HS256)."""

    def part(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    head = part(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = part(json.dumps(claims).encode())
    mac = hmac.new(secret, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{part(mac)}"


@pytest.mark.parametrize("cookie", ["forged", "too-short", "x" * 44, "a.b.c", "%00" * 20])
def test_a_cookie_of_any_other_shape_is_refused_without_asking_the_store(
    users: UserStore, cookie: str
) -> None:
    rows, clock = Rows(), Clock()
    sessions = sessions_of(users, rows, clock)
    if cookie == "forged":
        cookie = forged(b"whatever-the-data-directory-held", {"sub": "ada", "exp": 2_000_000_000})
    refused = sessions.identify(request(cookie))
    assert isinstance(refused, Refusal) and refused.status == 401
    assert rows.asked == 0


def test_a_store_that_cannot_answer_refuses_the_request(users: UserStore) -> None:
    rows, clock = Rows(), Clock()
    sessions = sessions_of(users, rows, clock)
    ada = users.find("ada")
    assert ada is not None
    token = sessions.issue(ada)
    rows.down = True
    refused = sessions.identify(request(token))
    assert isinstance(refused, Refusal) and refused.status == 503


def test_a_person_holds_at_most_their_cap_of_sign_ins_and_the_oldest_ends(
    users: UserStore,
) -> None:
    rows, clock = Rows(), Clock()
    sessions = sessions_of(users, rows, clock, per_person=3)
    olive = users.find("olive")
    assert olive is not None
    tokens = []
    for _ in range(4):
        tokens.append(sessions.issue(olive))
        clock.now += 1
    assert [sessions.identify(request(t)) == olive for t in tokens] == [False, True, True, True]


@pytest.mark.parametrize("name", ["add", "find", "end"])
def test_the_fake_store_takes_what_the_real_one_takes(name: str) -> None:
    real = inspect.signature(getattr(SessionStore, name))
    fake = inspect.signature(getattr(Rows, name))
    assert list(real.parameters) == list(fake.parameters)


class DownCounts:
    """A sign-in count store whose database is down."""

    def counts(self, keys: object) -> None:
        raise psycopg.OperationalError("the server closed the connection")

    def expire(self, now: float, window_s: float, quiet_s: float) -> int:
        raise psycopg.OperationalError("the server closed the connection")

    def forget(self, keys: object, prefixes: object) -> int:
        return 0


def signin_form(users: UserStore, throttle: SignInThrottle) -> TestClient:
    """The console's sign-in route alone, with ``users`` and ``throttle``, sessions in memory."""
    app = FastAPI()
    app.include_router(pages)
    app.state.users = users
    app.state.console_throttle = throttle
    app.state.console_sessions = sessions_of(users, Rows(), Clock())
    return TestClient(app, follow_redirects=False)


def test_the_console_form_tells_a_wrong_password_a_lock_and_how_long_and_a_database_down(
    users: UserStore,
) -> None:
    clock = Clock()
    throttle = SignInThrottle(
        max_failures=5,
        flood_failures=50,
        window_s=300,
        lockout_s=120,
        max_lockout_s=900,
        clock=clock,
    )
    client = signin_form(users, throttle)

    def problem(name: str, password: str) -> str:
        answer = client.post("/console/signin", data={"name": name, "password": password})
        assert answer.status_code == 303
        return answer.headers["location"]

    for _ in range(5):
        assert problem("olive", "not-her-password") == "/console/signin?problem=wrong"
    assert problem("olive", "olive-operates-it") == "/console/signin?problem=locked&wait=120"
    assert problem("ada", "ada-administers-it") == "/console"  # the same address: not locked
    down = signin_form(
        users,
        SignInThrottle(
            max_failures=5,
            flood_failures=50,
            window_s=300,
            lockout_s=120,
            max_lockout_s=900,
            store=DownCounts(),  # type: ignore[arg-type]
        ),
    )
    answer = down.post("/console/signin", data={"name": "ada", "password": "ada-administers-it"})
    assert answer.headers["location"] == "/console/signin?problem=unavailable"
