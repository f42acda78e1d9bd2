"""The chat's defences that need no browser: origins, grants, people, sign-in, secret, page."""

from __future__ import annotations

import os
import time
import tomllib
from pathlib import Path

import pytest
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route, WebSocketRoute
from starlette.testclient import TestClient
from starlette.websockets import WebSocket, WebSocketDisconnect
from typer.testing import CliRunner

from devfactory import cli
from devfactory.chat import chainlit_config, secret
from devfactory.chat import offline_assets as frontend
from devfactory.chat.access import may_see_run, recheck
from devfactory.chat.grants import Grant, Grants
from devfactory.chat.guard import OriginGuard, chat_origins
from devfactory.control.policy import Policy, load_policy
from devfactory.control.signin_throttle import LockedError, MemoryCounts, SignInThrottle, how_long
from devfactory.settings import Settings
from devfactory.users import Person, UserError, UserStore, check_password
from devfactory.webguard import origin_of

CHAT = "http://127.0.0.1:8000"
STRONG = "alice-approves-runs"

# --- 1. only the chat's own origin may call it -------------------------------------------


def guarded_app() -> TestClient:
    async def ok(request: object) -> PlainTextResponse:
        return PlainTextResponse("done")

    async def socket(ws: WebSocket) -> None:
        await ws.accept()
        await ws.send_text("hello")
        await ws.close()

    app = Starlette(
        routes=[
            Route("/project/action", ok, methods=["GET", "POST"]),
            WebSocketRoute("/ws", socket),
        ]
    )
    return TestClient(OriginGuard(app, origins=[CHAT]), base_url=CHAT)


@pytest.mark.parametrize(
    ("method", "headers", "status"),
    [
        ("POST", {"Origin": CHAT}, 200),
        ("POST", {}, 200),  # no browser: no victim's cookie rides along
        ("POST", {"Origin": "http://127.0.0.1:9999"}, 403),  # another port of the same host
        ("POST", {"Origin": "null"}, 403),
        ("POST", {"Sec-Fetch-Site": "same-site"}, 403),
        ("POST", {"Sec-Fetch-Site": "same-origin"}, 200),
        ("GET", {"Origin": "http://evil.example"}, 403),
        ("GET", {"Sec-Fetch-Site": "cross-site"}, 200),  # a link: reads nothing, changes nothing
    ],
)
def test_the_guard_lets_only_the_chats_own_pages_call_it(
    method: str, headers: dict[str, str], status: int
) -> None:
    reply = guarded_app().request(method, "/project/action", headers=headers)
    assert reply.status_code == status


def test_the_guard_refuses_a_socket_opened_by_a_foreign_page() -> None:
    client = guarded_app()
    with client.websocket_connect("/ws", headers={"Origin": CHAT}) as ws:
        assert ws.receive_text() == "hello"
    with (
        pytest.raises(WebSocketDisconnect),
        client.websocket_connect("/ws", headers={"Origin": "http://127.0.0.1:9999"}) as ws,
    ):
        ws.receive_text()


def test_the_guard_will_not_run_open_to_every_origin() -> None:
    with pytest.raises(ValueError, match="own origin"):
        OriginGuard(PlainTextResponse("x"), origins=["*"])


def test_the_chats_origin_comes_from_where_it_listens_or_the_public_origin() -> None:
    assert chat_origins(Settings(), "127.0.0.1", 8000) == [CHAT, "http://localhost:8000"]
    assert chat_origins(Settings(), "0.0.0.0", 9000) == [
        "http://127.0.0.1:9000",
        "http://localhost:9000",
    ]
    assert chat_origins(Settings(), "factory.lan", 80) == ["http://factory.lan"]
    public = Settings(chat_public_origin="HTTPS://Factory.example.com:443/chat/")
    assert chat_origins(public, "0.0.0.0", 8000) == ["https://factory.example.com"]
    assert origin_of("http://[::1]:8000") == "http://[::1]:8000"
    with pytest.raises(ValueError):
        origin_of("javascript:alert(1)")


def test_chainlits_config_allows_only_those_origins_and_short_sign_ins() -> None:
    config = tomllib.loads(chainlit_config(Settings(chat_session_minutes=60), [CHAT]))
    assert config["project"]["allow_origins"] == [CHAT]
    assert config["project"]["user_session_timeout"] == 3600
    assert config["UI"]["custom_build"] == frontend.BUILD


# --- 1. a button is a one-time grant of the session that showed it -------------------------


def test_a_grant_is_honoured_once_for_its_kind_in_its_own_session() -> None:
    mine, theirs = Grants(), Grants()
    grant = Grant(kind="decide", run_id="r1", interrupt_id="i1", verbs=("approve", "reject"))
    token = mine.issue(grant)
    assert theirs.redeem({"token": token, "action": "approve"}, "decide") is None  # foreign
    assert mine.redeem({"token": token}, "resume") is None  # not what it was shown for
    assert mine.redeem({"token": token, "action": "approve"}, "decide") == grant
    assert mine.redeem({"token": token, "action": "approve"}, "decide") is None  # replayed
    assert mine.redeem({"run": "r1", "interrupt": "i1"}, "decide") is None  # forged payload
    assert mine.redeem({"token": ["x"]}, "decide") is None


def test_a_sessions_grants_are_bounded() -> None:
    grants = Grants(limit=3)
    tokens = [grants.issue(Grant(kind="resume", run_id=f"r{n}")) for n in range(5)]
    assert len(grants) == 3
    assert grants.redeem({"token": tokens[0]}, "resume") is None
    assert grants.redeem({"token": tokens[-1]}, "resume") is not None


# --- 2. who acts is read afresh; 3. who may see a run ------------------------------------


def test_a_removed_or_demoted_person_is_seen_as_such_at_their_next_action(tmp_path: Path) -> None:
    store = UserStore(tmp_path / "users.yaml")
    store.add("adam", STRONG, "admin")
    signed_in = {"role": "admin", "provider": "password"}
    assert recheck("adam", signed_in, store, header_auth=False) == Person("adam", "admin")
    store.add("adam", STRONG, "viewer")
    assert recheck("adam", signed_in, store, header_auth=False) == Person("adam", "viewer")
    store.remove("adam")
    assert recheck("adam", signed_in, store, header_auth=False) is None


def test_a_proxys_person_is_trusted_only_while_header_sign_in_is_on(tmp_path: Path) -> None:
    store = UserStore(tmp_path / "users.yaml")
    proxied = {"role": "approver", "provider": "header"}
    assert recheck("pat", proxied, store, header_auth=True) == Person("pat", "approver")
    assert recheck("pat", proxied, store, header_auth=False) is None
    assert recheck("pat", {"role": "root", "provider": "header"}, store, header_auth=True) == (
        Person("pat", "viewer")
    )
    assert recheck("pat", None, store, header_auth=True) is None


@pytest.mark.parametrize(
    ("person", "owner", "sees"),
    [
        (Person("olga", "operator"), "olga", True),
        (Person("vic", "viewer"), "olga", False),
        (Person("oscar", "operator"), "olga", False),
        (Person("rita", "reviewer"), "olga", True),
        (Person("alice", "approver"), "olga", True),
        (Person("adam", "admin"), "", True),
        (Person("vic", "viewer"), "", False),  # a run without an owner is nobody's
    ],
)
def test_a_run_is_seen_by_its_owner_and_the_roles_the_policy_names(
    person: Person, owner: str, sees: bool
) -> None:
    assert may_see_run(person, owner, load_policy()) is sees


def test_the_policy_names_known_roles_for_seeing_every_run() -> None:
    data = load_policy().model_dump()
    assert data["see_all_runs"] == ("reviewer", "approver", "admin")
    with pytest.raises(ValueError, match="unknown roles"):
        Policy.model_validate({**data, "see_all_runs": ["owner"]})


# --- 4. passwords and sign-in ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("password", "why"),
    [
        ("password", "at least 12"),
        ("passwordpassword", "too easy to guess"),
        ("qwertyuiop123456", "too easy to guess"),
        ("adamadamadam", "too easy to guess"),
    ],
)
def test_weak_passwords_are_refused(password: str, why: str) -> None:
    with pytest.raises(UserError, match=why):
        check_password(password, "adam")
    assert check_password(STRONG, "adam") == STRONG


def test_adding_an_admin_with_a_weak_password_exits_2_and_says_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("devfactory.cli.chat.get_settings", lambda: Settings(data_dir=tmp_path))
    args = ["users", "add", "adam", "--role", "admin", "--password-stdin"]
    weak = CliRunner().invoke(cli.app, args, input="password\n")
    assert weak.exit_code == 2
    assert "at least 12 characters" in weak.output
    common = CliRunner().invoke(cli.app, args, input="password1234\n")
    assert common.exit_code == 2
    assert "too easy to guess" in common.output
    assert not (tmp_path / "users.yaml").exists()
    assert CliRunner().invoke(cli.app, args, input=STRONG + "\n").exit_code == 0


def test_adding_someone_without_a_terminal_says_how_in_one_line_and_exits_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No terminal to ask the password on: no getpass warning, the way to give it instead."""
    monkeypatch.setattr("devfactory.cli.chat.get_settings", lambda: Settings(data_dir=tmp_path))
    asked = CliRunner().invoke(cli.app, ["users", "add", "adam"], input=STRONG + "\n")
    assert asked.exit_code == 2, asked.output
    said = asked.output.strip()
    assert said.startswith("error: no terminal to ask the password on")
    assert "--password-stdin" in said
    assert "Warning" not in said and len(said.splitlines()) == 1
    assert not (tmp_path / "users.yaml").exists()


def test_signing_in_takes_as_long_for_an_unknown_name_as_for_a_known_one(tmp_path: Path) -> None:
    store = UserStore(tmp_path / "users.yaml")
    store.add("alice", STRONG, "approver")
    store.verify("nobody", "warm-up")  # the dummy hash is made once

    def seconds(name: str) -> float:
        start = time.perf_counter()
        assert store.verify(name, "a wrong password") is None
        return time.perf_counter() - start

    pairs = [(seconds("alice"), seconds("mallory")) for _ in range(7)]  # interleaved
    known, unknown = min(p[0] for p in pairs), min(p[1] for p in pairs)  # the least disturbed
    assert 0.6 < unknown / known < 1.6, pairs


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def throttle(clock: Clock, counts: MemoryCounts | None = None) -> SignInThrottle:
    return SignInThrottle(
        max_failures=5,
        flood_failures=20,
        window_s=300,
        lockout_s=60,
        max_lockout_s=900,
        store=counts,
        clock=clock,
    )


def locked_for(limits: SignInThrottle, name: str, address: str) -> float:
    with pytest.raises(LockedError) as refused:
        limits.attempt(name, address)
    return refused.value.retry_after_s


def test_five_wrong_passwords_lock_that_name_at_that_address_only() -> None:
    clock = Clock()
    limits = throttle(clock)
    for _ in range(5):
        limits.failed(limits.attempt("alice", "10.0.0.1"))
    assert locked_for(limits, "alice", "10.0.0.1") == 60
    assert locked_for(limits, "ALICE", "10.0.0.1") == 60  # names are not case-tricks
    limits.succeeded(limits.attempt("bob", "10.0.0.1"))  # her team behind the same address
    limits.succeeded(limits.attempt("alice", "10.0.0.2"))  # and she, elsewhere
    clock.now += 61
    limits.succeeded(limits.attempt("alice", "10.0.0.1"))


def test_each_lock_lasts_twice_the_one_before_up_to_the_cap() -> None:
    clock = Clock()
    limits = throttle(clock)
    seen = []
    for _ in range(7):
        for _ in range(5):
            limits.failed(limits.attempt("alice", "10.0.0.1"))
        seen.append(locked_for(limits, "alice", "10.0.0.1"))
        clock.now += seen[-1]
    assert seen == [60, 120, 240, 480, 900, 900, 900]  # max_lockout_s is the cap
    clock.now += 901  # quiet as long as the longest lock: she starts afresh
    for _ in range(5):
        limits.failed(limits.attempt("alice", "10.0.0.1"))
    assert locked_for(limits, "alice", "10.0.0.1") == 60


def test_a_lock_says_how_long_it_lasts() -> None:
    clock = Clock()
    limits = throttle(clock)
    for _ in range(5):
        limits.failed(limits.attempt("alice", "10.0.0.1"))
    clock.now += 15
    with pytest.raises(LockedError, match="try again in 45 seconds"):
        limits.attempt("alice", "10.0.0.1")
    assert [how_long(s) for s in (1, 59.2, 60, 61, 3600, 3601, 7200)] == [
        "1 second",
        "1 minute",
        "1 minute",
        "2 minutes",
        "60 minutes",
        "2 hours",
        "2 hours",
    ]


def test_a_flood_from_one_address_locks_it_for_every_name() -> None:
    clock = Clock()
    limits = throttle(clock)
    for n in range(20):  # flood_failures, each name only once
        limits.failed(limits.attempt(f"guess{n}", "10.0.0.1"))
    assert locked_for(limits, "alice", "10.0.0.1") == 900
    limits.succeeded(limits.attempt("alice", "10.0.0.2"))


def test_guesses_at_one_name_from_many_addresses_lock_the_name() -> None:
    limits = throttle(Clock())
    for n in range(20):
        limits.failed(limits.attempt("alice", f"10.0.0.{n}"))
    assert locked_for(limits, "alice", "10.0.9.9") == 900
    limits.succeeded(limits.attempt("bob", "10.0.9.9"))


def test_failures_age_out_of_the_window_and_a_success_clears_the_name() -> None:
    clock = Clock()
    limits = throttle(clock)
    for _ in range(4):
        limits.failed(limits.attempt("alice", "10.0.0.1"))
    clock.now += 301  # those four are now outside the window
    for _ in range(4):
        limits.failed(limits.attempt("alice", "10.0.0.1"))
    limits.succeeded(limits.attempt("alice", "10.0.0.1"))
    for _ in range(4):
        limits.failed(limits.attempt("alice", "10.0.0.1"))
    limits.attempt("alice", "10.0.0.1")  # 4 since the success: not locked


def test_concurrent_guesses_are_counted_before_they_are_checked() -> None:
    limits = throttle(Clock())
    in_flight = [limits.attempt("alice", "10.0.0.1") for _ in range(5)]
    with pytest.raises(LockedError):
        limits.attempt("alice", "10.0.0.1")  # five guesses still being checked are enough
    assert len(in_flight) == 5


def test_a_flood_of_made_up_names_never_clears_a_lock() -> None:
    clock = Clock()
    counts = MemoryCounts()
    limits = throttle(clock, counts)
    for _ in range(5):
        limits.failed(limits.attempt("alice", "10.0.0.1"))  # alice is locked there
    for n in range(10_000):  # the review's 10,000 junk attempts, each from a new address
        limits.failed(limits.attempt(f"made-up-{n}", f"10.{n // 250}.{n % 250}.1"))
    assert locked_for(limits, "alice", "10.0.0.1") > 0  # still locked: nothing was evicted
    clock.now += 60 + 900  # what bounds the counts is time: they expire, every one of them
    limits.succeeded(limits.attempt("alice", "10.200.0.1"))
    assert len(counts) == 3  # only alice's name, her new address and the two together


def test_a_locked_address_adds_no_more_names() -> None:
    counts = MemoryCounts()
    limits = throttle(Clock(), counts)
    for n in range(20):
        limits.failed(limits.attempt(f"guess-{n}", "10.0.0.1"))
    for n in range(1000):
        with pytest.raises(LockedError):
            limits.attempt(f"more-{n}", "10.0.0.1")
    assert len(counts) == 41  # twenty names, each at the address, and the address: bounded


@pytest.mark.parametrize(
    ("field", "low", "high"),
    [
        ("chat_login_max_failures", 1, 100),
        ("chat_login_flood_failures", 2, 10_000),
        ("chat_login_window_s", 1, 86_400),
        ("chat_login_lockout_s", 1, 86_400),
        ("chat_login_lockout_max_s", 1, 86_400),
    ],
)
def test_each_sign_in_setting_is_bounded_and_taken_at_its_caps(
    field: str, low: int, high: int
) -> None:
    assert Settings(**{field: low}).flat()[field] == low
    assert Settings(**{field: high}).flat()[field] == high
    for bad in (low - 1, high + 1):
        with pytest.raises(ValidationError):
            Settings(**{field: bad})


def test_a_lock_never_outlasts_the_longest_whatever_its_strikes() -> None:
    clock = Clock()
    limits = SignInThrottle(
        max_failures=1,
        flood_failures=10_000,
        window_s=86_400,
        lockout_s=86_400,
        max_lockout_s=86_400,
        clock=clock,
    )
    for _ in range(80):  # far past 2**64 times the first lock, were it not capped
        limits.failed(limits.attempt("alice", "10.0.0.1"))
        assert locked_for(limits, "alice", "10.0.0.1") == 86_400
        clock.now += 86_400


def test_unlocking_a_name_clears_its_locks_and_their_growth() -> None:
    clock = Clock()
    limits = throttle(clock)
    for _ in range(2):
        for _ in range(5):
            limits.failed(limits.attempt("alice", "10.0.0.1"))
        clock.now += locked_for(limits, "alice", "10.0.0.1")
    for _ in range(5):
        limits.failed(limits.attempt("alice", "10.0.0.1"))
    assert locked_for(limits, "alice", "10.0.0.1") == 240
    assert limits.unlock("alice") == 2  # her name, and her name at that address
    limits.attempt("alice", "10.0.0.1")  # at once
    clock.now += 301  # (the address still counts her failures in its window)
    for _ in range(5):
        limits.failed(limits.attempt("alice", "10.0.0.1"))
    assert locked_for(limits, "alice", "10.0.0.1") == 60  # afresh


# --- 2. the secret (rotating it: tests/integration/test_chat_secret.py) ---------------------


def test_a_secret_the_operator_set_is_left_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(secret.SECRET_ENV, "from-the-operator")
    monkeypatch.delenv(secret.MANAGED_ENV, raising=False)
    secret.use(Settings(data_dir=tmp_path))  # no database is opened for it either
    assert os.environ[secret.SECRET_ENV] == "from-the-operator"
    assert not (tmp_path / "chat-secret").exists()


# --- 5. the page names no outside host ------------------------------------------------------


def test_chainlits_page_is_served_with_the_chats_own_fonts_and_katex(tmp_path: Path) -> None:
    out = frontend.build(tmp_path)
    page = (out / "index.html").read_text()
    assert "googleapis" not in page and "gstatic" not in page and "jsdelivr" not in page
    assert frontend.FONTS in page and frontend.KATEX in page
    assert (out / "assets").resolve() == (frontend.chainlit_dist() / "assets").resolve()
    public = tmp_path / "public" / frontend.PUBLIC
    assert (public / "inter" / "inter-latin-400-normal.woff2").stat().st_size > 10_000
    assert (public / "katex" / "fonts" / "KaTeX_Main-Regular.woff2").exists()
    assert (public / "inter" / "LICENSE").exists() and (public / "katex" / "LICENSE").exists()
    fonts = (public / "inter" / "inter.css").read_text()
    assert "http" not in fonts and fonts.count("@font-face") == 21


def test_a_page_with_an_unknown_outside_reference_is_refused() -> None:
    page = (frontend.chainlit_dist() / "index.html").read_text()
    tracked = page.replace("</head>", '<script src="https://cdn.example/x.js"></script></head>')
    with pytest.raises(frontend.FrontendError, match="outside"):
        frontend.localize(tracked)
