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
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from devfactory.api.console_pages import pages
from devfactory.api.console_signin import COOKIE, ConsoleSessions, token_digest
from devfactory.control.signin_throttle import MemoryCounts, SignInThrottle
from devfactory.settings import Settings
from devfactory.store.sessions import ConsoleSession, SessionStore
from devfactory.users import UserStore
from devfactory.webguard import Refusal
from tests.password_checks import HeldHasher

OWN = "http://testserver"  # the TestClient's address: the console's own origin
EVIL = "http://evil.example"


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


def signin_form(
    users: UserStore, throttle: SignInThrottle, rows: Rows | None = None, *, own_page: bool = True
) -> TestClient:
    """The console's sign-in route alone, with ``users`` and ``throttle``, sessions in memory.

    ``own_page``: every form is posted from the console's own page, as a browser says.
    """
    app = FastAPI()
    app.include_router(pages)
    app.state.users = users
    app.state.console_throttle = throttle
    app.state.console_sessions = sessions_of(users, rows if rows is not None else Rows(), Clock())
    headers = {"Origin": OWN} if own_page else {}
    return TestClient(app, follow_redirects=False, headers=headers)


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


def throttle_in(counts: MemoryCounts) -> SignInThrottle:
    return SignInThrottle(
        max_failures=5,
        flood_failures=50,
        window_s=300,
        lockout_s=120,
        max_lockout_s=900,
        store=counts,
    )


FOREIGN_PAGES = {
    "another site": {"Origin": EVIL},
    "another port": {"Origin": "http://testserver:8081"},
    "a hidden origin": {"Origin": "null"},
    "another site, by its referer": {"Referer": f"{EVIL}/prize.html"},
    "no origin and no referer": {},
}


@pytest.mark.parametrize("page", FOREIGN_PAGES.values(), ids=FOREIGN_PAGES.keys())
def test_a_sign_in_posted_from_another_origins_page_is_refused_and_counts_nothing(
    users: UserStore, page: dict[str, str]
) -> None:
    """Issue 58 item 7: another page cannot sign a browser in as someone else (login CSRF)."""
    rows, counts = Rows(), MemoryCounts()
    client = signin_form(users, throttle_in(counts), rows, own_page=False)
    form = {"name": "olive", "password": "olive-operates-it"}  # the attacker's own, right
    refused = client.post("/console/signin", data=form, headers=page)
    assert refused.status_code == 403, refused.text
    assert refused.json()["error"]["message"].startswith("signing in refused")
    assert COOKIE not in refused.headers.get("set-cookie", "")
    assert rows.rows == {} and len(counts) == 0  # no sign-in made, no attempt counted
    for own in ({"Origin": OWN}, {"Referer": f"{OWN}/console/signin"}):
        signed = client.post("/console/signin", data=form, headers=own)
        assert (signed.status_code, signed.headers["location"]) == (303, "/console")
    assert len(rows.rows) == 2


@pytest.mark.parametrize("page", FOREIGN_PAGES.values(), ids=FOREIGN_PAGES.keys())
def test_a_sign_out_posted_from_another_origins_page_is_refused_and_the_sign_in_stands(
    users: UserStore, page: dict[str, str]
) -> None:
    """Issue 58 item 7: another page cannot sign a browser out (logout CSRF)."""
    rows = Rows()
    client = signin_form(users, throttle_in(MemoryCounts()), rows, own_page=False)
    sessions: ConsoleSessions = client.app.state.console_sessions  # type: ignore[attr-defined]
    olive = users.find("olive")
    assert olive is not None
    token = sessions.issue(olive)
    client.cookies.set(COOKIE, token)
    refused = client.post("/console/signout", headers=page)
    assert refused.status_code == 403, refused.text
    assert refused.json()["error"]["message"].startswith("signing out refused")
    assert "set-cookie" not in refused.headers
    assert sessions.person(token) == olive  # still signed in
    out = client.post("/console/signout", headers={"Origin": OWN})
    assert out.status_code == 303 and sessions.person(token) is None


def test_a_sign_in_past_the_password_checks_is_refused_at_once_and_never_counted(
    tmp_path: Path,
) -> None:
    """Issue 58 item 8: a flood gets a quick 503, checks run in their own threads, none waits."""
    held = HeldHasher()
    users = UserStore(tmp_path / "users.yaml", hasher=held, checks_at_once=1, checks_waiting=0)
    users.add("olive", "olive-operates-it", "operator")
    counts = MemoryCounts()
    client = signin_form(users, throttle_in(counts))
    with ThreadPoolExecutor(1) as other:
        first = other.submit(
            client.post, "/console/signin", data={"name": "olive", "password": "olive-operates-it"}
        )
        held.wait_entered(1)  # her check holds the only place
        busy = client.post("/console/signin", data={"name": "ada", "password": "a-guess-at-it"})
        assert busy.status_code == 503, busy.text
        assert busy.headers["retry-after"] == "1"
        assert "signing in refused for now" in busy.json()["error"]["message"]
        assert len(counts) == 3  # olive's attempt (her pair, name, address): ada's never counted
        held.go.set()
        assert first.result(timeout=60).headers["location"] == "/console"
    assert held.threads == ["password-check_0"] and held.most == 1
