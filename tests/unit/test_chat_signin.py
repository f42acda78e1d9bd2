"""The chat's sign-in says why it refused: a wrong password, a lock and how long, a database down.

Chainlit answers every refusal of a wrapped callback with 401 "credentialssignin";
these tests post to Chainlit's own login route, as the browser's form does. With
``DATABASE_URL`` set, as in a deployment, a sign-in also shows that Chainlit keeps
no data layer of its own (it used to reach for asyncpg, which is not installed).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg
import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from starlette.testclient import TestClient

from devfactory.chat import chainlit_app as chat_app
from devfactory.chat import offline_assets as frontend
from devfactory.chat.signin_messages import FORM_SAYS
from devfactory.control.signin_throttle import SignInThrottle
from devfactory.users import UserStore
from tests.password_checks import HeldHasher

PASSWORD = "olga operates the factory 42"


class Clock:
    now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def login(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[TestClient, Clock]]:
    store = UserStore(tmp_path / "users.yaml", hasher=PasswordHasher(1, 8, 1))
    store.add("olga", PASSWORD, "operator")
    store.add("alice", "alice approves the factory 42", "approver")
    clock = Clock()
    limits = SignInThrottle(
        max_failures=5,
        flood_failures=50,
        window_s=300,
        lockout_s=60,
        max_lockout_s=900,
        clock=clock,
    )
    monkeypatch.setattr(chat_app, "throttle", lambda: limits)
    monkeypatch.setattr(UserStore, "of", classmethod(lambda cls, settings: store))
    monkeypatch.setenv("CHAINLIT_AUTH_SECRET", "a-secret-for-these-tests-only-0123456789")
    # the factory's database, as a deployment sets it: Chainlit must not take it for its own
    monkeypatch.setenv("DATABASE_URL", "postgresql://nobody@127.0.0.1:9/factory")
    monkeypatch.setenv("LITERAL_API_KEY", "not-to-be-used")
    routes = FastAPI()  # Chainlit's routes, without the chat's middleware (its origins)
    routes.include_router(chat_app.server.router)
    yield TestClient(routes), clock


def post(client: TestClient, name: str, password: str) -> tuple[int, str, dict[str, str]]:
    answer = client.post("/login", data={"username": name, "password": password})
    return answer.status_code, answer.json().get("detail", ""), dict(answer.headers)


def test_a_wrong_password_and_a_lock_are_told_apart_with_how_long(
    login: tuple[TestClient, Clock],
) -> None:
    client, clock = login
    for _ in range(5):
        assert post(client, "olga", "not-her-password")[:2] == (
            401,
            "That user name and password do not match.",
        )
    status, detail, headers = post(client, "olga", PASSWORD)  # even her right password, now
    assert (status, detail) == (429, "Too many failed sign-ins; try again in 1 minute.")
    assert headers["retry-after"] == "60"
    # the rest of the team, behind the same address, signs in; Chainlit stores nothing
    assert post(client, "alice", "alice approves the factory 42")[0] == 200
    clock.now += 45
    assert post(client, "olga", PASSWORD)[1] == "Too many failed sign-ins; try again in 15 seconds."
    clock.now += 16
    assert post(client, "olga", PASSWORD)[0] == 200


def test_a_database_down_is_said_as_such(
    login: tuple[TestClient, Clock], monkeypatch: pytest.MonkeyPatch
) -> None:
    client, _ = login

    def down() -> SignInThrottle:
        raise psycopg.OperationalError("connection refused")

    monkeypatch.setattr(chat_app, "throttle", down)
    status, detail, headers = post(client, "olga", PASSWORD)
    assert status == 503 and "database cannot be reached" in detail
    assert headers["retry-after"] == "30"


def test_the_sign_in_form_has_a_sentence_for_each_refusal(tmp_path: Path) -> None:
    written = frontend.write_translations(tmp_path)
    for path in written.glob("*.json"):
        errors = json.loads(path.read_text("utf-8"))["auth"]["login"]["errors"]
        assert {k: errors[k] for k in FORM_SAYS} == FORM_SAYS, path.name


def test_a_sign_in_past_the_password_checks_is_refused_at_once(
    login: tuple[TestClient, Clock], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 58 item 8: the chat bounds its password checks as the console does."""
    client, _ = login
    held = HeldHasher()
    store = UserStore(tmp_path / "held.yaml", hasher=held, checks_at_once=1, checks_waiting=0)
    store.add("olga", PASSWORD, "operator")
    monkeypatch.setattr(UserStore, "of", classmethod(lambda cls, settings: store))
    with ThreadPoolExecutor(1) as other:
        first = other.submit(post, client, "olga", PASSWORD)
        held.wait_entered(1)  # her check holds the only place
        status, detail, headers = post(client, "alice", "a guess at her password")
        assert status == 503 and "too many sign-ins are being checked" in detail
        assert headers["retry-after"] == "1"
        held.go.set()
        assert first.result(timeout=60)[0] == 200
    assert held.threads == ["password-check_0"]
