"""Console sign-ins over real HTTP: a flood never holds the API; whose address a failure counts.

Issue 58 item 8. A flood of concurrent sign-ins used to take the threads of the
API's pool (each waiting for a password check), so ``GET /runs`` waited behind
them; and ``X-Forwarded-For`` from 127.0.0.1 (uvicorn trusts it by default)
let one client pick a new address for each guess. Here the password checks are
held until the test lets them go (``HeldHasher``), so what the server does
meanwhile is seen without timing anything; and the real ``devfactory serve`` is
asked with and without a trusted proxy.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from pathlib import Path

import httpx
import uvicorn
from fastapi import FastAPI

from devfactory.api.app import create_app
from devfactory.factory.facade import Factory
from devfactory.settings import Settings
from devfactory.users import UserStore
from tests.fakes import ScriptedModels
from tests.integration.cli import cli_env
from tests.integration.databases import fresh_database
from tests.password_checks import HeldHasher
from tests.servers import free_port, serving

FLOOD = 60  # the sign-ins of the report, more than the API's 40 threads
AT_ONCE, WAITING = 2, 3


@contextmanager
def served(app: FastAPI) -> Iterator[str]:
    """Serve ``app`` with uvicorn over a real socket, in a thread; yield its address."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, proxy_headers=False)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(30)


def test_a_flood_of_sign_ins_is_refused_past_the_cap_and_never_holds_the_api(
    pg_settings: Settings,
) -> None:
    """Issue 58 item 8: past the password checks' places a sign-in gets 503 at once; reads go on."""
    settings = pg_settings.with_overrides(
        password_checks_at_once=AT_ONCE, password_checks_waiting=WAITING
    )
    key = UserStore.of(settings).create_key("vera", "viewer")[1]
    held = HeldHasher()
    with Factory(settings, models=ScriptedModels()) as factory:
        app = create_app(settings, factory=factory)
        app.state.users.hasher = held  # every check waits until the test lets it go
        with served(app) as base, ThreadPoolExecutor(FLOOD) as browsers:

            def sign_in(n: int) -> httpx.Response:
                form = {"name": f"guess-{n}", "password": "a-guess-at-it"}
                with httpx.Client(base_url=base, timeout=120) as http:
                    return http.post("/console/signin", data=form, headers={"Origin": base})

            flood: list[Future[httpx.Response]] = [
                browsers.submit(sign_in, n) for n in range(FLOOD)
            ]
            held.wait_entered(AT_ONCE)
            refused = FLOOD - AT_ONCE - WAITING
            deadline = time.monotonic() + 120
            while sum(f.done() for f in flood) < refused:
                assert time.monotonic() < deadline, "the sign-ins past the cap were not refused"
                time.sleep(0.05)
            # the checks are all still held: what answered was refused without one
            answered = [f.result() for f in flood if f.done()]
            assert [a.status_code for a in answered] == [503] * refused
            assert all(a.headers["retry-after"] == "1" for a in answered)
            with httpx.Client(base_url=base, timeout=60) as reader:
                runs = reader.get("/runs", headers={"Authorization": f"Bearer {key}"})
                health = reader.get("/health")
            assert (runs.status_code, health.status_code) == (200, 200)
            assert held.at_once == AT_ONCE  # still held while the reads answered
            held.go.set()
            done, _ = wait(flood, timeout=120)
        assert len(done) == FLOOD
        wrong = [f.result() for f in flood if f.result().status_code == 303]
        assert len(wrong) == AT_ONCE + WAITING
        assert all(w.headers["location"] == "/console/signin?problem=wrong" for w in wrong)
    assert held.most == AT_ONCE
    assert len(held.threads) == AT_ONCE + WAITING
    assert all(name.startswith("password-check") for name in held.threads)


OLIVE = ("olive", "olive-operates-it")


@contextmanager
def api_server(server_dsn: str, tmp: Path, **env: str) -> Iterator[str]:
    """Run ``devfactory serve`` with ``env`` on a database of its own; yield its address."""
    with fresh_database(server_dsn) as database:
        environment = cli_env(database, tmp)
        environment.update(
            DEVFACTORY_CHAT_LOGIN_MAX_FAILURES="3",
            DEVFACTORY_CHAT_LOGIN_FLOOD_FAILURES="1000",
            **env,
        )
        UserStore.of(Settings(data_dir=tmp / "data")).add(*OLIVE, "operator")
        with serving(environment, tmp / "logs", timeout=120) as base:
            yield base


def sign_in_from(base: str, forwarded: str, password: str) -> str:
    """Sign in as olive claiming to be ``forwarded``; return where the form sends her."""
    with httpx.Client(base_url=base, timeout=60, follow_redirects=False) as http:
        answer = http.post(
            "/console/signin",
            data={"name": OLIVE[0], "password": password},
            headers={"Origin": base, "X-Forwarded-For": forwarded},
        )
    assert answer.status_code == 303, answer.text
    return answer.headers["location"].split("&")[0]


def test_x_forwarded_for_names_the_client_only_from_a_trusted_proxy(
    server_dsn: str, tmp_path: Path
) -> None:
    """Issue 58 item 8: a rotating X-Forwarded-For does not reset the count of the real peer.

    Without a trusted proxy, three wrong guesses "from" three addresses lock olive
    at the one address they came from; with 127.0.0.1 a trusted proxy, the
    addresses it names are the clients, and the lock follows the one that guessed.
    """
    for proxies, after_three_wrong in (
        ({}, "/console/signin?problem=locked"),  # the peer's address counts, whatever it says
        ({"DEVFACTORY_TRUSTED_PROXIES": '["127.0.0.1"]'}, "/console"),  # the proxy's clients
    ):
        with api_server(server_dsn, tmp_path / str(len(proxies)), **proxies) as base:
            for n in range(3):  # three wrong guesses, each from a "new" address
                assert sign_in_from(base, f"198.51.100.{n}", "a-wrong-guess") == (
                    "/console/signin?problem=wrong"
                )
            assert sign_in_from(base, "198.51.100.9", OLIVE[1]) == after_three_wrong
            if proxies:  # the lock follows the client the proxy names
                for _ in range(3):
                    sign_in_from(base, "203.0.113.5", "a-wrong-guess")
                locked = sign_in_from(base, "203.0.113.5", OLIVE[1])
                assert locked == "/console/signin?problem=locked"
                assert sign_in_from(base, "203.0.113.6", OLIVE[1]) == "/console"
