"""Browser tests: a real ``devfactory chat`` server, driven in Debian's headless Chromium.

The server runs as its own process on a free port, with its own data directory
(embedded Postgres, users file) and a scripted model (``tests/browser/models.py``).
Each test saves a screenshot of every step under ``test-output/browser/<test>/``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright
from playwright.sync_api import Error as PlaywrightError

from tests.servers import free_port, launch, stop, wait_ready

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
CHROMIUM = Path("/usr/bin/chromium")
OUTPUT = ROOT / "test-output" / "browser"
PASSWORDS = {
    "alice": "alice-approves",
    "olga": "olga-operates",
    "vic": "vic-only-views",
    "adam": "adam-runs-everything",
}
ROLES = {"alice": "approver", "olga": "operator", "vic": "viewer", "adam": "admin"}
ROUNDS = 3
# Waiting longer only slows a failing check: a passing one returns as soon as it holds.
# Two cores shared with other test runs can take more than the default 5 s to answer.
expect.set_options(timeout=20_000)
LOCKOUT_S = 3  # short, so that a test can wait out a sign-in lockout
SERVER_LOGS: dict[str, Path] = {}  # a running chat server's base URL -> its log


def module_home(pg_root: Path, request: pytest.FixtureRequest) -> Path:
    """Return the module's own folder under the session's ``pg_root``.

    A test worker runs modules in any order: a data directory shared by the modules
    of a session showed one module's paused runs to the next (an approver's chat
    listed another module's question and its buttons twice).
    """
    home = pg_root / request.module.__name__.rsplit(".", 1)[-1]
    home.mkdir(mode=0o755, exist_ok=True)  # pgserver's user reaches its data directory
    return home


@pytest.fixture(scope="module")
def chat_env(pg_root: Path, request: pytest.FixtureRequest) -> dict[str, str]:
    """Return the environment the module's chat server (and CLI calls beside it) run in."""
    home = module_home(pg_root, request) / "chat-home"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DEVFACTORY_", "CHAINLIT_"))}
    env.update(
        DEVFACTORY_DATA_DIR=str(home),
        DEVFACTORY_MODELS_FACTORY="tests.browser.models:scripted",
        DEVFACTORY_REVIEW_REQUIRED="false",
        DEVFACTORY_RUN_CODE="false",
        DEVFACTORY_PROSE_FACT_CALLS="0",  # scripted runs: no call reads the facts left open
        DEVFACTORY_CHAT_GROUP_ROUNDS=str(ROUNDS),
        DEVFACTORY_CHAT_LOGIN_LOCKOUT_S=str(LOCKOUT_S),
        OLLAMA_HOST="http://127.0.0.1:9",
        PYTHONPATH=str(ROOT),
    )
    env.pop("DATABASE_URL", None)
    return env


@contextmanager
def service_env(folder: Path, models: str, **extra: str) -> Iterator[dict[str, str]]:
    """Yield the environment of a module's own API and CLI: a database of its own in ``folder``.

    ``models`` names the scripted models' factory; review, running code and memory
    are off, and no Ollama is reachable. The database stops afterwards.
    """
    import pgserver

    (folder / "pg").mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(folder / "pg" / "data", cleanup_mode="stop")
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEVFACTORY_")}
    env.update(
        DATABASE_URL=server.get_uri(),
        DEVFACTORY_DATA_DIR=str(folder / "home"),
        DEVFACTORY_MODELS_FACTORY=models,
        DEVFACTORY_REVIEW_REQUIRED="false",
        DEVFACTORY_RUN_CODE="false",
        DEVFACTORY_PROSE_FACT_CALLS="0",  # scripted runs: no call reads the facts left open
        DEVFACTORY_MEMORY_ENABLED="false",
        OLLAMA_HOST="http://127.0.0.1:9",
        PYTHONPATH=str(ROOT),
        **extra,
    )
    try:
        yield env
    finally:
        server.cleanup()


def devfactory(
    env: dict[str, str], *args: str, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    """Run the ``devfactory`` CLI with the chat server's environment."""
    return subprocess.run(
        [str(BIN / "devfactory"), *args],
        input=stdin,
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )


def add_user(env: dict[str, str], name: str) -> None:
    """Let ``name`` sign in with their password and role from ``PASSWORDS`` and ``ROLES``."""
    added = devfactory(
        env, "users", "add", name, "--role", ROLES[name], "--password-stdin", stdin=PASSWORDS[name]
    )
    assert added.returncode == 0, added.stderr


@pytest.fixture(scope="module")
def chat_server(
    chat_env: dict[str, str], pg_root: Path, request: pytest.FixtureRequest
) -> Iterator[str]:
    """Start ``devfactory chat`` for the module; return its base URL."""
    env = chat_env
    for name in PASSWORDS:
        add_user(env, name)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = module_home(pg_root, request) / "chat-server.log"
    server = launch(env, ["chat", "--port", str(port)], log)
    SERVER_LOGS[base] = log

    def ready() -> bool:
        return bool(httpx.get(f"{base}/auth/config", timeout=2).json().get("passwordAuth"))

    try:
        wait_ready(server, log, ready, what="the chat server")
        yield base
    finally:
        stop(server, wait=20)
        SERVER_LOGS.pop(base, None)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Iterator[pytest.TestReport]:
    """Add the chat server's log tail and what each open page shows to a failed test's report.

    CI keeps nothing else (screenshots stay on its machine).

    A click that came to nothing on a busy CI machine (the approver's run stayed
    paused) left no trace of what the server did with it.
    """
    report: pytest.TestReport = yield
    funcargs = getattr(item, "funcargs", {})
    base = funcargs.get("chat_server")
    log = SERVER_LOGS.get(base) if isinstance(base, str) else None
    if report.failed and log is not None and log.exists():
        tail = log.read_text(errors="replace")[-8000:]  # as ``servers.wait_ready`` shows it
        report.sections.append(("chat server log, last 8000 characters", tail))
    browser = funcargs.get("browser")
    if report.failed and report.when == "call" and isinstance(browser, Browser):
        for number, page in enumerate(p for c in browser.contexts for p in c.pages):
            report.sections.append((f"open page {number}: what it shows", _shown(page)))
    return report


def _shown(page: Page) -> str:
    """Return the end of what ``page`` shows (a refusal, a toast), or why it cannot be read."""
    try:
        return page.inner_text("body", timeout=5_000)[-3000:]
    except PlaywrightError as exc:  # a page closed or hung: the report still comes
        return f"not read: {exc}"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless (``make test`` installs it; never ``playwright install``)."""
    assert CHROMIUM.exists(), (
        "Debian's chromium is missing: run `make setup` (apt-get install chromium)"
    )
    with sync_playwright() as p:
        launched = p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield launched
        launched.close()


@pytest.fixture
def shots(request: pytest.FixtureRequest) -> Callable[[Page, str], Path]:
    """Return ``shot(page, name)``: save a numbered full-page screenshot for this test."""
    folder = OUTPUT / request.node.name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    count = [0]

    def shot(page: Page, name: str) -> Path:
        count[0] += 1
        path = folder / f"{count[0]:02d}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return shot


def sign_in(browser: Browser, base: str, name: str) -> Page:
    """Open a fresh browser context, sign in as ``name`` and wait for the chat to greet."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    context.set_default_timeout(60_000)
    page = context.new_page()
    page.goto(f"{base}/login")
    page.fill("#email", name)
    page.fill("#password", PASSWORDS[name])
    page.click("button[type=submit]")
    page.wait_for_selector("#chat-input")
    return page


GREETING = "Type a requirement to start a run."
GREETING_MS = 60_000  # the first session's imports, on a busy machine


def greeted(page: Page) -> None:
    """Wait for the Factory profile's greeting: the chat session has started.

    The first session of a module starts while the chat server still imports what
    a session needs. How fast is a benchmark's question, not these tests': they wait
    as a person would. (A greeting that never came was Chainlit's page replacing its
    first socket: ``app.connected``.)
    """
    expect(page.get_by_text(GREETING)).to_be_visible(timeout=GREETING_MS)


def send(page: Page, text: str) -> None:
    """Type ``text`` into the composer and send it."""
    page.locator("#chat-input").fill(text)
    page.click("#chat-submit")


def until(page: Page, holds: Callable[[], object], what: str, timeout_ms: int = 20_000) -> None:
    """Wait, letting the page work, until ``holds()`` is true (what the test side records).

    For what a locator cannot see (frames a socket received, requests a route held):
    a fixed wait missed them on a busy machine.
    """
    waited = 0
    while not holds():
        if waited >= timeout_ms:
            raise AssertionError(f"{what}: not seen in {timeout_ms} ms")
        page.wait_for_timeout(100)
        waited += 100


PICK_TRIES = 3
PICK_MS = 10_000


def pick_profile(page: Page, name: str) -> None:
    """Switch to the chat profile ``name``, confirming the new chat when the page asks.

    The page asks (a dialog) once the person has written; before that it switches at
    once. A pick the select did not take (its list re-rendered under the pointer as a
    message arrived, on a busy machine) leaves the list open: it is closed and tried
    again, at most ``PICK_TRIES`` times. Asking ``count()`` right after the click missed
    a dialog still on its way.
    """
    trigger = page.locator("#chat-profiles")
    confirm = page.locator("#new-chat-dialog #confirm")
    for _ in range(PICK_TRIES):
        trigger.click()
        page.click(f'[data-test="select-item:{name}"]')
        try:
            expect(confirm.or_(trigger.filter(has_text=name))).to_be_visible(timeout=PICK_MS)
        except AssertionError:
            page.keyboard.press("Escape")
            continue
        if confirm.is_visible():
            confirm.click()
        expect(trigger).to_contain_text(name)
        return
    raise AssertionError(f"the chat profile {name!r} was not taken in {PICK_TRIES} tries")
