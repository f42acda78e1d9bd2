"""Console sign-ins kept in Postgres: revoked by signing out, by rotation, by removal; capped.

The store runs as the factory's runtime role (it must delete what it keeps), and
the app is the real one (``create_app``) over a real database, with the
command line's ``devfactory users rotate-secret`` and ``users remove`` run
against the same database.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from typer.testing import CliRunner

from devfactory import cli
from devfactory.api.app import create_app
from devfactory.api.console_signin import COOKIE
from devfactory.factory.facade import Factory
from devfactory.settings import Settings
from devfactory.store.sessions import PURGE_BATCH, SessionStore
from devfactory.users import UserStore
from tests.fakes import ScriptedModels

T0 = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
PEOPLE = {"ada": ("ada-administers-it", "admin"), "olive": ("olive-operates-it", "operator")}
ORIGIN = "http://testserver"  # the TestClient's address: the console's own origin


def digest(n: int) -> str:
    return hashlib.sha256(f"token-{n}".encode()).hexdigest()


def test_the_store_keeps_finds_expires_ends_and_caps_sign_ins(pg_settings: Settings) -> None:
    with Factory(pg_settings, models=ScriptedModels()) as factory:
        assert factory.database.separated  # the runtime role, as the API runs
        store = SessionStore(factory.pool)
        for n in range(3):  # a cap of 2: the third ends the first
            store.add(digest(n), "olive", now=T0 + n * timedelta(seconds=1), lifetime=HOUR, keep=2)
        assert store.count("olive") == 2
        assert store.find(digest(0), now=T0, touch_after=HOUR) is None
        found = store.find(digest(2), now=T0 + timedelta(minutes=5), touch_after=HOUR)
        assert found is not None and found.person == "olive"
        assert found.expires_at == T0 + timedelta(seconds=2) + HOUR
        assert found.last_seen == T0 + timedelta(seconds=2)  # fresh enough: not written
        later = T0 + timedelta(minutes=30)
        touched = store.find(digest(2), now=later, touch_after=timedelta(minutes=1))
        assert touched is not None and touched.last_seen == later
        again = store.find(digest(2), now=later, touch_after=HOUR)
        assert again is not None and again.last_seen == later  # the write was kept
        assert store.find(digest(2), now=T0 + 2 * HOUR, touch_after=HOUR) is None  # expired
        assert store.end(digest(1)) is True and store.end(digest(1)) is False
        store.add(digest(10), "ada", now=T0, lifetime=HOUR, keep=5)
        store.add(digest(11), "ada", now=T0, lifetime=HOUR, keep=5)
        assert store.end_person("ada") == 2 and store.count("ada") == 0
        store.add(digest(12), "ada", now=T0, lifetime=HOUR, keep=5)
        assert store.end_all() == 2 and store.count() == 0


def test_expired_sign_ins_are_purged_a_bounded_batch_at_a_time(pg_settings: Settings) -> None:
    with Factory(pg_settings, models=ScriptedModels()) as factory:
        store = SessionStore(factory.pool)
        for n in range(PURGE_BATCH + 7):  # one person each: no cap ends them
            store.add(digest(n), f"p{n}", now=T0, lifetime=HOUR, keep=1)
        store.add(digest(-1), "ada", now=T0 + 2 * HOUR, lifetime=HOUR, keep=1)
        assert store.count() == 8  # one batch purged as ada signed in; hers is live
        assert store.purge(T0 + 2 * HOUR) == 7
        assert store.count() == 1


@pytest.fixture
def served(pg_settings: Settings) -> Iterator[tuple[Settings, TestClient]]:
    settings = pg_settings.with_overrides(console_sessions_per_person=2)
    store = UserStore.of(settings)
    for name, (password, role) in PEOPLE.items():
        store.add(name, password, role)
    (settings.storage.data_dir / "console-secret").write_text("kept-by-an-older-version")
    with Factory(settings, models=ScriptedModels()) as factory:
        app = create_app(settings, factory=factory)
        own_page = {"Origin": ORIGIN}  # the console's forms post from its own origin
        with TestClient(app, follow_redirects=False, headers=own_page) as http:
            yield settings, http


def sign_in(http: TestClient, name: str) -> str:
    signed = http.post("/console/signin", data={"name": name, "password": PEOPLE[name][0]})
    assert signed.status_code == 303 and signed.headers["location"] == "/console", signed.text
    token = signed.cookies[COOKIE]
    http.cookies.clear()
    return str(token)


def send(http: TestClient, method: str, path: str, token: str, **kwargs: Any) -> Response:
    """Send a request carrying ``token`` as the console's cookie (and no other)."""
    http.cookies.clear()
    http.cookies.set(COOKIE, token)
    try:
        return http.request(method, path, **kwargs)
    finally:
        http.cookies.clear()


def me(http: TestClient, token: str) -> int:
    return send(http, "GET", "/console/api/me", token).status_code


def test_signing_out_ends_the_sign_in_for_every_copy_of_the_cookie(
    served: tuple[Settings, TestClient],
) -> None:
    _, http = served
    token, other = sign_in(http, "olive"), sign_in(http, "olive")
    assert me(http, token) == 200
    out = send(http, "POST", "/console/signout", token)
    assert out.status_code == 303 and f'{COOKIE}=""' in out.headers["set-cookie"]
    assert me(http, token) == 401  # a copy of the cookie kept elsewhere: no longer signed in
    assert me(http, other) == 200  # another browser of hers stays signed in


def test_rotating_the_secret_ends_every_console_sign_in(
    served: tuple[Settings, TestClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    settings, http = served
    tokens = [sign_in(http, "olive"), sign_in(http, "ada")]
    assert [me(http, t) for t in tokens] == [200, 200]
    monkeypatch.setattr("devfactory.cli.chat.get_settings", lambda: settings)
    rotated = CliRunner().invoke(cli.app, ["users", "rotate-secret"])
    assert rotated.exit_code == 0, rotated.output
    assert "every console sign-in ended (2)" in rotated.output
    assert [me(http, t) for t in tokens] == [401, 401]
    assert me(http, sign_in(http, "olive")) == 200  # signing in again works at once


def test_removing_a_person_ends_their_sign_ins_for_good(
    served: tuple[Settings, TestClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    settings, http = served
    olive, ada = sign_in(http, "olive"), sign_in(http, "ada")
    monkeypatch.setattr("devfactory.cli.chat.get_settings", lambda: settings)
    removed = CliRunner().invoke(cli.app, ["users", "remove", "olive"])
    assert removed.exit_code == 0 and "1 console sign-in(s) ended" in removed.output
    UserStore.of(settings).add("olive", "a-new-olive-entirely", "admin")  # the name, given again
    assert me(http, olive) == 401  # the old sign-in did not come back with the name
    assert me(http, ada) == 200


def test_a_person_holds_at_most_their_cap_of_sign_ins(
    served: tuple[Settings, TestClient],
) -> None:
    _, http = served  # console_sessions_per_person = 2
    tokens = [sign_in(http, "olive") for _ in range(3)]
    assert [me(http, t) for t in tokens] == [401, 200, 200]


def jwt(secret: bytes, claims: dict[str, object]) -> str:
    """Sign ``claims`` as the console's cookies were signed before (HS256)."""

    def part(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    head = part(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = part(json.dumps(claims).encode())
    mac = hmac.new(secret, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{part(mac)}"


def test_a_cookie_forged_with_any_secret_of_the_data_directory_is_refused(
    served: tuple[Settings, TestClient],
) -> None:
    settings, http = served
    sign_in(http, "olive")
    data: Path = settings.storage.data_dir
    assert not (data / "console-secret").exists()  # the old key is gone, and none is made
    (data / "console-secret").write_text("kept-by-an-older-version")  # were it still there
    now = int(time.time())
    claims = {"sub": "ada", "iat": now, "exp": now + 3600}
    secrets = [p for p in data.rglob("*") if p.is_file() and p.stat().st_size < 4096]
    assert any(p.name == "console-secret" for p in secrets)
    for path in secrets:
        for key in {path.read_bytes(), path.read_bytes().strip()}:
            assert me(http, jwt(key, claims)) == 401, path
    operations = send(
        http,
        "POST",
        "/operations/stop",
        jwt((data / "console-secret").read_bytes(), claims),
        json={"reason": "forged"},
        headers={"X-Devfactory-Console": "1"},
    )
    assert operations.status_code == 401
