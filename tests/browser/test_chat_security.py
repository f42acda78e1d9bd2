"""The chat under attack, in a real browser: foreign pages, stale people, forged buttons, CDNs.

Each test signs people in through the login page of a real ``devfactory chat``
server (``conftest.chat_server``) and checks, through the chat itself, that a
run waiting for approval is still waiting afterwards.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from devfactory.settings import FlatSettings
from tests.browser.conftest import (
    LOCKOUT_S,
    PASSWORDS,
    add_user,
    devfactory,
    greeted,
    send,
    sign_in,
    until,
)
from tests.servers import serving

HIGH_RISK = "A REST API for a small clinic to store patient appointment notes"
Shot = Callable[[Page, str], Path]

# What the review's attacker did from another port of the same host: read who is
# signed in, open the chat's socket as that person (the browser adds their cookie),
# wait for the approve buttons the chat pushes on connect, and post them back.
HOSTILE_PAGE = """<!doctype html>
<html><body><pre id="log"></pre><script>
const CHAT = "__CHAT__";
const SOCKET = "/ws/socket.io/?EIO=4&transport=websocket";
const log = (m) => { document.getElementById("log").textContent += m + "\\n"; };
async function post(action, sessionId, how) {
  const body = JSON.stringify({sessionId, action});
  try {
    const opts = how === "json"
      ? {method: "POST", credentials: "include", body,
         headers: {"content-type": "application/json"}}
      : {method: "POST", credentials: "include", mode: "no-cors", body: new Blob([body])};
    const r = await fetch(CHAT + "/project/action", opts);
    log("posted " + how + " " + r.status);
  } catch (e) { log("post " + how + " blocked"); }
}
async function attack() {
  try {
    const r = await fetch(CHAT + "/user", {credentials: "include"});
    log("user " + r.status + " " + (await r.text()));
  } catch (e) { log("user blocked"); }
  const sessionId = "hostile-" + Math.random().toString(36).slice(2);
  await new Promise((resolve) => {
    const ws = new WebSocket(CHAT.replace("http", "ws") + SOCKET);
    const done = () => { clearTimeout(timer); resolve(); };
    const timer = setTimeout(() => { ws.close(); resolve(); }, 20000);
    ws.onmessage = async (ev) => {
      const d = String(ev.data);
      if (d[0] === "0") {
        ws.send("40" + JSON.stringify({sessionId, clientType: "webapp", chatProfile: "Factory",
                                        threadId: "", userEnv: "{}"}));
      } else if (d === "2") { ws.send("3"); }
      else if (d.startsWith("40")) {
        log("socket connected");
        ws.send('42["connection_successful"]');
      }
      else if (d.startsWith("44")) { log("socket refused"); ws.close(); }
      else if (d.startsWith("42")) {
        const [name, data] = JSON.parse(d.slice(2));
        if (name === "action" && data.name === "decide" && data.payload.action === "approve") {
          log("got approve button " + JSON.stringify(data.payload));
          await post(data, sessionId, "json");
          await post(data, sessionId, "no-cors");
        }
      }
    };
    ws.onerror = () => log("socket error");
    ws.onclose = done;
  });
  document.title = "attack-done";
}
attack();
</script></body></html>
"""


@pytest.fixture
def hostile_site(chat_server: str, tmp_path: Path) -> Iterator[str]:
    """Serve the attacker's page from a second port of the same host; return its URL."""
    (tmp_path / "index.html").write_text(HOSTILE_PAGE.replace("__CHAT__", chat_server))
    handler = partial(SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/index.html"
    server.shutdown()
    server.server_close()


# A page elsewhere lays the factory under a decoy: the frame is what a person would click.
FRAMING_PAGE = """<!doctype html><html><body><h1>Claim your prize</h1>
<iframe id="target" src="__URL__" width="1200" height="800"></iframe></body></html>"""


@pytest.fixture
def framing_site(tmp_path: Path) -> Iterator[Callable[[str], str]]:
    """Serve pages from a second port that frame a given URL; yield ``url -> page URL``."""
    handler = partial(SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    (tmp_path / "own.html").write_text("<p id='own'>a page of the framing site</p>")

    def framing(url: str) -> str:
        name = f"frame-{abs(hash(url))}.html"
        (tmp_path / name).write_text(FRAMING_PAGE.replace("__URL__", url))
        return f"http://127.0.0.1:{port}/{name}"

    yield framing
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def api_server(chat_env: dict[str, str], pg_root: Path) -> Iterator[str]:
    """Start ``devfactory serve`` beside the chat (same data); return its base URL."""
    with serving(chat_env, pg_root / "api-logs") as base:
        yield base


def framed(page: Page, url: str) -> Any:
    """Open ``url`` (a framing page) and return its frame once the frame has loaded."""
    page.goto(url)
    page.wait_for_load_state("load")
    frame = page.frame_locator("#target")
    [_, inner] = page.frames
    return frame, inner


def start_high_risk_run(browser: Browser, base: str, text: str) -> tuple[Page, str]:
    """Have olga (an operator) start a run that waits for approval; return her page and its id."""
    olga = sign_in(browser, base, "olga")
    greeted(olga)
    send(olga, text)
    expect(olga.get_by_text(f"Requirement: {text}")).to_be_visible()  # this run's pause
    paused = re.compile(
        rf"\(run (\d{{8}}-\d{{6}}-[0-9a-f]{{6}})\)\s+Requirement: {re.escape(text)}\s"
    )
    found = paused.search(olga.locator("body").inner_text())
    assert found, "the pause names its run"
    return olga, found.group(1)


def still_waiting(browser: Browser, base: str, run_id: str) -> None:
    """Check, as alice in a fresh sign-in, that ``run_id`` still waits for an approver."""
    alice = sign_in(browser, base, "alice")
    expect(alice.get_by_text(f"Run {run_id} by olga waits for your answer")).to_be_visible()
    expect(alice.get_by_text(f"Run {run_id}: COMPLETED")).to_have_count(0)
    alice.context.close()


def test_a_page_on_another_port_cannot_approve_as_the_signed_in_approver(
    browser: Browser, chat_server: str, hostile_site: str, shots: Shot
) -> None:
    olga, run_id = start_high_risk_run(browser, chat_server, HIGH_RISK + " for dentists")
    alice = sign_in(browser, chat_server, "alice")
    expect(alice.get_by_text(f"Run {run_id} by olga waits for your answer")).to_be_visible()
    hostile = alice.context.new_page()  # same browser context: alice's cookie is there
    hostile.goto(hostile_site)
    expect(hostile).to_have_title("attack-done", timeout=60_000)
    log = hostile.locator("#log").inner_text()
    shots(hostile, "hostile-page")
    assert "user blocked" in log, log  # the foreign page cannot read who is signed in
    assert "socket connected" not in log, log  # nor open the chat's socket as alice
    assert "got approve button" not in log, log
    hostile.wait_for_timeout(2_000)
    expect(olga.get_by_text(f"Run {run_id}: COMPLETED")).to_have_count(0)
    expect(alice.get_by_text("alice (approver): Approve.")).to_have_count(0)
    still_waiting(browser, chat_server, run_id)
    shots(alice, "alice-still-sees-it-waiting")
    olga.context.close()
    alice.context.close()


def watch(page: Page) -> tuple[list[str], list[dict[str, Any]], list[dict[str, Any]]]:
    """Record the page's chat session ids, and the messages and buttons its socket receives."""
    sessions: list[str] = []
    messages: list[dict[str, Any]] = []
    buttons: list[dict[str, Any]] = []

    def request(r: object) -> None:
        if str(getattr(r, "url", "")).endswith("/set-session-cookie"):
            sessions.append(json.loads(getattr(r, "post_data", None) or "{}").get("session_id"))

    def frame(data: object) -> None:
        text = data if isinstance(data, str) else ""
        if text.startswith("42["):
            name, body, *_ = json.loads(text[2:]) + [None]
            if name == "new_message" and isinstance(body, dict):
                messages.append(body)
            elif name == "action" and isinstance(body, dict):
                buttons.append(body)

    page.on("request", request)
    page.on("websocket", lambda ws: ws.on("framereceived", frame))
    page.reload()
    greeted(page)
    return sessions, messages, buttons


def post_action(page: Page, base: str, session_id: str, action: dict[str, Any]) -> int:
    """Post ``action`` to the chat as the page's signed-in person would; return the status."""
    reply = page.request.post(
        f"{base}/project/action",
        data=json.dumps({"sessionId": session_id, "action": action}),
        headers={"content-type": "application/json", "Origin": base},
    )
    return reply.status


def test_an_approve_button_works_once_and_only_in_the_session_that_showed_it(
    browser: Browser, chat_server: str, shots: Shot
) -> None:
    olga, run_id = start_high_risk_run(browser, chat_server, HIGH_RISK + " for opticians")
    first = sign_in(browser, chat_server, "alice")
    sessions, messages, buttons = watch(first)
    expect(first.get_by_text(f"Run {run_id} by olga waits for your answer")).to_be_visible()

    def approve_buttons() -> list[dict[str, Any]]:
        shown_in = {str(m["id"]) for m in messages if f"(run `{run_id}`)" in str(m.get("output"))}
        return [
            b
            for b in buttons
            if b.get("forId") in shown_in and b["payload"].get("action") == "approve"
        ]

    until(first, approve_buttons, "the question's approve button")
    approve = approve_buttons()[0]
    assert set(approve["payload"]) == {"token", "action"}  # no run id to trust or forge
    other = sign_in(browser, chat_server, "alice")  # the same person, another session
    other_sessions, _, _ = watch(other)
    assert post_action(other, chat_server, other_sessions[-1], approve) == 200
    expect(other.get_by_text("This button is no longer valid")).to_be_visible()
    expect(other.get_by_text("alice (approver): Approve.")).to_have_count(0)
    still_waiting(browser, chat_server, run_id)
    assert post_action(first, chat_server, sessions[-1], approve) == 200  # its own session
    expect(first.get_by_text("alice (approver): Approve.")).to_be_visible()
    expect(first.get_by_text(f"Run {run_id}: COMPLETED")).to_be_visible(timeout=120_000)
    assert post_action(first, chat_server, sessions[-1], approve) == 200  # replayed
    expect(first.get_by_text("This button is no longer valid")).to_be_visible()
    shots(first, "replay-refused")
    olga.context.close()
    first.context.close()
    other.context.close()


def test_state_changing_calls_from_a_foreign_origin_are_refused(chat_server: str) -> None:
    token = login(chat_server, "alice")
    cookies = {"access_token": token}
    foreign = {"Origin": "http://127.0.0.1:1", "content-type": "application/json"}
    body = {"sessionId": "x", "action": {"name": "decide", "payload": {}}}
    refused = httpx.post(
        f"{chat_server}/project/action", json=body, headers=foreign, cookies=cookies
    )
    assert refused.status_code == 403
    socket = httpx.get(
        f"{chat_server}/ws/socket.io/?EIO=4&transport=polling",
        headers={"Origin": "http://evil.example"},
        cookies=cookies,
    )
    assert socket.status_code in (400, 403)
    own = httpx.get(f"{chat_server}/user", headers={"Origin": chat_server}, cookies=cookies)
    assert own.status_code == 200 and own.json()["identifier"] == "alice"
    assert own.headers["access-control-allow-origin"] == chat_server
    cross = httpx.options(
        f"{chat_server}/user",
        headers={"Origin": "http://127.0.0.1:1", "Access-Control-Request-Method": "GET"},
    )
    assert "access-control-allow-origin" not in cross.headers


def login(base: str, name: str) -> str:
    """Sign in over HTTP as ``name``; return the login token from the cookie."""
    reply = httpx.post(f"{base}/login", data={"username": name, "password": PASSWORDS[name]})
    assert reply.status_code == 200, reply.text
    return reply.cookies["access_token"]


def claims(token: str) -> dict[str, object]:
    body = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))))


RECHECK_S = float(FlatSettings.model_fields["chat_secret_recheck_s"].default)  # the module's chat's


def test_a_sign_in_lasts_an_hour_and_rotating_the_secret_ends_every_session(
    chat_server: str, chat_env: dict[str, str]
) -> None:
    token = login(chat_server, "olga")
    issued = claims(token)
    assert int(str(issued["exp"])) - int(str(issued["iat"])) == 3600
    assert httpx.get(f"{chat_server}/user", cookies={"access_token": token}).status_code == 200
    rotated = devfactory(chat_env, "users", "rotate-secret")
    assert rotated.returncode == 0, rotated.stderr
    assert "sign in again" in rotated.stdout
    # a chat reads the secret again once its copy is chat_secret_recheck_s (1 s) old; a
    # read made by other traffic just before the rotation keeps the old one until then
    deadline = time.monotonic() + RECHECK_S + 4  # and a margin for a loaded machine
    while (
        shown := httpx.get(f"{chat_server}/user", cookies={"access_token": token})
    ).status_code == 200:
        assert time.monotonic() < deadline, "the old sign-in outlived the secret's recheck"
        time.sleep(0.1)
    assert shown.status_code == 401
    time.sleep(RECHECK_S)  # and it stays refused
    assert httpx.get(f"{chat_server}/user", cookies={"access_token": token}).status_code == 401
    fresh = login(chat_server, "olga")  # new sign-ins work at once, with the new secret
    assert httpx.get(f"{chat_server}/user", cookies={"access_token": fresh}).status_code == 200


def test_a_removed_admin_can_no_longer_approve_from_an_open_chat(
    browser: Browser, chat_server: str, chat_env: dict[str, str], shots: Shot
) -> None:
    olga, run_id = start_high_risk_run(browser, chat_server, HIGH_RISK + " for vets")
    adam = sign_in(browser, chat_server, "adam")
    expect(adam.get_by_text(f"Run {run_id} by olga waits for your answer")).to_be_visible()
    removed = devfactory(chat_env, "users", "remove", "adam")
    assert removed.returncode == 0, removed.stderr
    try:
        adam.get_by_role("button", name="Approve", exact=True).first.click()
        expect(adam.get_by_text("no longer signed in")).to_be_visible()
        shots(adam, "removed-admin-refused")
        expect(adam.get_by_text("adam (admin): Approve.")).to_have_count(0)
        adam.reload()  # the old cookie is still in the browser
        expect(adam.get_by_text("no longer signed in")).to_be_visible()
        expect(adam.get_by_role("button", name="Approve", exact=True)).to_have_count(0)
        still_waiting(browser, chat_server, run_id)
    finally:
        add_user(chat_env, "adam")
    olga.context.close()
    adam.context.close()


def test_a_viewer_cannot_open_another_persons_run_with_a_forged_button(
    browser: Browser, chat_server: str, shots: Shot
) -> None:
    olga = sign_in(browser, chat_server, "olga")
    greeted(olga)
    send(olga, "A REST API for a personal todo list")
    done = re.compile(r"Run (\S+): COMPLETED")
    expect(olga.get_by_text(done)).to_be_visible(timeout=120_000)
    found = done.search(olga.locator("body").inner_text())
    assert found
    run_id = found.group(1)
    vic = sign_in(browser, chat_server, "vic")
    sessions: list[str] = []
    vic.on(
        "request",
        lambda r: (
            sessions.append(json.loads(r.post_data or "{}").get("session_id", ""))
            if r.url.endswith("/set-session-cookie")
            else None
        ),
    )
    vic.reload()
    greeted(vic)
    assert sessions and sessions[-1], "the chat names its session when it connects"
    statuses = []
    for name in ("open_run", "resume", "decide"):
        forged = {"name": name, "payload": {"run": run_id}, "label": "x", "id": f"forged-{name}"}
        reply = vic.request.post(
            f"{chat_server}/project/action",
            data=json.dumps({"sessionId": sessions[-1], "action": forged}),
            headers={"content-type": "application/json", "Origin": chat_server},
        )
        statuses.append(reply.status)
    vic.wait_for_timeout(2_000)
    shots(vic, "viewer-forged-buttons")
    body = vic.locator("body").inner_text()
    assert f"Run {run_id}: COMPLETED" not in body
    assert "src/backend/app.py" not in body
    expect(vic.locator("a.inline-file")).to_have_count(0)  # no file of olga's run
    expect(vic.get_by_text("This button is no longer valid").first).to_be_visible()
    assert statuses == [200, 200, 200]  # refused in the chat, not by a crash
    olga.context.close()
    vic.context.close()


def test_loading_the_chat_asks_no_outside_host_for_anything(
    browser: Browser, chat_server: str, shots: Shot
) -> None:
    context = browser.new_context()
    hosts: set[str] = set()
    local_css: list[str] = []

    def seen(request: object) -> None:
        url = str(getattr(request, "url", ""))
        if url.startswith(("http:", "https:", "ws:", "wss:")):
            hosts.add(urlsplit(url).hostname or "")
        if url.endswith(".css"):
            local_css.append(url)

    context.on("request", seen)
    page = context.new_page()
    page.goto(f"{chat_server}/login")
    page.fill("#email", "alice")
    page.fill("#password", PASSWORDS["alice"])
    page.click("button[type=submit]")
    page.wait_for_selector("#chat-input")
    greeted(page)
    inter = page.evaluate(
        """async () => { await document.fonts.ready;
           return [...document.fonts].filter(f => f.family.replaceAll('"', '') === 'Inter')
                                     .map(f => f.status); }"""
    )
    assert "loaded" in inter, inter  # the chat's own copy of Inter is in use
    shots(page, "chat-offline")
    assert hosts == {"127.0.0.1"}, hosts
    assert any("/katex" in u for u in local_css) and any("inter" in u for u in local_css)
    context.close()


def test_wrong_passwords_lock_that_name_at_that_address_and_say_for_how_long(
    browser: Browser, chat_server: str, shots: Shot
) -> None:
    url = f"{chat_server}/login"
    for _ in range(5):
        wrong = httpx.post(url, data={"username": "mallory", "password": "not-the-password"})
        assert wrong.status_code == 401, wrong.text
        assert wrong.json()["detail"] == "That user name and password do not match."
    locked = httpx.post(url, data={"username": "mallory", "password": "not-the-password"})
    assert locked.status_code == 429, locked.text
    assert re.fullmatch(
        r"Too many failed sign-ins; try again in [1-3] seconds?\.", locked.json()["detail"]
    )
    # the team behind the same address still signs in: only mallory is locked, there
    right = {"username": "alice", "password": PASSWORDS["alice"]}
    assert httpx.post(url, data=right).status_code == 200
    # the page says which refusal it is: a wrong password, then a lock and how long
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(url)
    page.fill("#email", "eve")
    page.fill("#password", "not-her-password")
    page.click("button[type=submit]")
    expect(page.get_by_text("That user name and password do not match.").first).to_be_visible()
    for _ in range(4):
        httpx.post(url, data={"username": "eve", "password": "not-her-password"})
    page.click("button[type=submit]")
    expect(page.get_by_text(re.compile(r"try again in \d+ seconds?")).first).to_be_visible()
    expect(page.get_by_text("Too many failed sign-ins: this sign-in is locked")).to_be_visible()
    shots(page, "sign-in-locked")
    context.close()
    deadline = time.monotonic() + LOCKOUT_S + 10
    while httpx.post(url, data={"username": "mallory", "password": "x"}).status_code == 429:
        assert time.monotonic() < deadline, "the lock did not end"
        time.sleep(0.5)


def test_another_site_cannot_frame_the_chat_or_the_api_docs(
    browser: Browser,
    chat_server: str,
    api_server: str,
    framing_site: Callable[[str], str],
    shots: Shot,
) -> None:
    alice = sign_in(browser, chat_server, "alice")  # her cookie would go with a framed chat
    page = alice.context.new_page()
    # the harness sees a frame that renders: a page that may be framed shows in it
    control, _ = framed(page, framing_site("own.html"))
    expect(control.locator("#own")).to_be_visible()
    for url, rendered in (
        (f"{chat_server}/", "#chat-input"),
        (f"{api_server}/docs", "#swagger-ui"),
    ):
        frame, inner = framed(page, framing_site(url))
        page.wait_for_timeout(1500)  # time enough for a frame that would render to show
        shots(page, "framed-" + urlsplit(url).path.strip("/").replace("/", "-") or "chat")
        assert frame.locator(rendered).count() == 0, f"{url} rendered inside a foreign frame"
        assert inner.url.startswith("chrome-error://"), inner.url  # the browser refused it
        answer = httpx.get(url, timeout=10)
        assert answer.headers["x-frame-options"] == "DENY"
        assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]
    alice.context.close()


def test_the_chat_refuses_a_body_past_the_cap_before_reading_it(chat_server: str) -> None:
    huge = httpx.post(f"{chat_server}/login", content=b"x" * (2 << 20), timeout=30)
    assert huge.status_code == 413, huge.text
    assert "larger than 1048576 bytes" in huge.text
    assert huge.headers["x-frame-options"] == "DENY"
    config = httpx.get(f"{chat_server}/auth/config", timeout=30)  # the chat is still well
    assert config.status_code == 200 and config.json().get("passwordAuth")
