"""A run's files never run as the signed-in operator: stored script, in Debian's Chromium.

A run's folder holds files a model, the code it ran, or a repository's owner
wrote. The API serves them on the console's origin, where a signed-in admin's
cookie and the console's header (``X-Devfactory-Console: 1``) are all a script
needs to call an operations route. Here a page on another local port sends a
signed-in admin to ``evil.html`` and ``evil.svg`` in a run's folder; each holds
a script that POSTs ``/operations/stop`` with that header. The files are served
as text (``nosniff``, ``Content-Security-Policy: sandbox; default-src 'none'``),
so nothing runs and the emergency stop stays released. The control: the same
page served as ``text/html`` from the attacker's own port runs its script and
makes that POST, so the test would see a script that ran.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import PASSWORDS, add_user, devfactory, service_env
from tests.servers import free_port, serving

Shot = Callable[[Page, str], Path]
TODO = "A REST API for a personal todo list"
STOP = """
document.title = "script ran";
fetch("/operations/stop", {
  method: "POST",
  credentials: "same-origin",
  headers: {"Content-Type": "application/json", "X-Devfactory-Console": "1"},
  body: JSON.stringify({reason: "a run's file stopped the factory"}),
}).then((r) => { document.title = "script ran: " + r.status; });
"""
EVIL_HTML = (
    f"<!doctype html><html><body><h1>Quarterly report</h1><script>{STOP}</script></body></html>"
)
EVIL_SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="200" height="50">'
    f'<text x="5" y="30">chart</text><script>{STOP}</script></svg>'
)
BINARY = b"\x89PNG\r\n\x1a\n\xff\xfe<script>alert(1)</script>"


@dataclass
class Attacker:
    """A page on another local port: it redirects to ``target``, or serves ``page`` as HTML."""

    target: str = ""
    page: str = EVIL_HTML
    posts: list[tuple[str, dict[str, str]]] = field(default_factory=list)


@pytest.fixture(scope="module")
def attacker() -> Iterator[tuple[str, Attacker]]:
    """Serve the attacker's site on a free port; return its URL and what it saw."""
    seen = Attacker()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            if self.path == "/go":
                self.send_response(302)
                self.send_header("Location", seen.target)
                self.end_headers()
                return
            body = seen.page.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            seen.posts.append((self.path, dict(self.headers)))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", seen
    server.shutdown()


@dataclass(frozen=True)
class Served:
    """The API, an admin's key for checking, and a finished run with hostile files."""

    base: str
    key: dict[str, str]
    run_id: str


@pytest.fixture(scope="module")
def served(pg_root: Path) -> Iterator[Served]:
    """Run ``devfactory serve`` on its own database; finish a run and plant files in it."""
    folder = pg_root / "run-files"
    with service_env(folder, "tests.browser.models:scripted") as env:
        yield from _planted(env, folder)


def _planted(env: dict[str, str], folder: Path) -> Iterator[Served]:
    """Finish a run, plant a page, an SVG and a binary file in its folder, and serve it."""
    add_user(env, "adam")
    made = devfactory(env, "keys", "create", "checker", "--role", "admin")
    assert made.returncode == 0, made.stderr
    key = re.search(r"dfk_[0-9a-f]{12}_[A-Za-z0-9_-]{43}", made.stdout)
    assert key, made.stdout
    out = folder / "out"
    ran = devfactory(env, "run", TODO, "--out", str(out), "--json", "--no-input")
    assert ran.returncode == 0, ran.stderr[-2000:]
    run_id = json.loads(ran.stdout)["run_id"]
    (out / "evil.html").write_text(EVIL_HTML)
    (out / "docs").mkdir(exist_ok=True)
    (out / "docs" / "evil.svg").write_text(EVIL_SVG)
    (out / "blob.bin").write_bytes(BINARY)
    with serving(env, folder / "logs", timeout=120) as base:
        yield Served(base, {"Authorization": f"Bearer {key.group(0)}"}, run_id)


def stopped(served: Served) -> bool:
    """Ask the API whether the emergency stop holds."""
    shown = httpx.get(f"{served.base}/operations", headers=served.key, timeout=10)
    assert shown.status_code == 200, shown.text
    return bool(shown.json()["stopped"])


def signed_in_admin(browser: Browser, base: str) -> Page:
    """Sign adam (an admin) in to the console; return the page."""
    context = browser.new_context(viewport={"width": 1200, "height": 800})
    context.set_default_timeout(60_000)
    page = context.new_page()
    page.goto(f"{base}/console/signin")
    page.fill("#name", "adam")
    page.fill("#password", PASSWORDS["adam"])
    page.click("#signin")
    expect(page.locator("#who")).to_contain_text("adam")
    return page


@pytest.mark.parametrize("path", ["evil.html", "docs/evil.svg"])
def test_a_signed_in_admin_sent_to_a_run_s_script_runs_nothing(
    browser: Browser,
    served: Served,
    attacker: tuple[str, Attacker],
    path: str,
    shots: Shot,
) -> None:
    site, seen = attacker
    assert not stopped(served)
    page = signed_in_admin(browser, served.base)
    shots(page, "signed-in")
    seen.target = f"{served.base}/runs/{served.run_id}/artifacts/{path}"
    response = page.goto(f"{site}/go")  # another site sends the admin to the run's file
    assert response is not None and response.url == seen.target
    assert response.status == 200  # the admin's cookie went with it: the file was served
    page.wait_for_timeout(3000)  # a script would have run and posted by now
    folder = Path(shots(page, "the-file-as-served")).parent
    assert not stopped(served), "a run's file stopped the factory as the signed-in admin"
    assert "script ran" not in page.title()
    assert "<script>" in page.locator("body").inner_text()  # shown as text, not run
    headers = response.all_headers()
    (folder / "headers.txt").write_text(
        "\n".join(f"{k}: {v}" for k, v in sorted(headers.items())) + "\n"
    )
    assert headers["content-type"] == "text/plain; charset=utf-8"
    assert headers["x-content-type-options"] == "nosniff"
    policy = [d.strip() for d in headers["content-security-policy"].split(";")]
    assert "sandbox" in policy and "default-src 'none'" in policy
    page.context.close()


def test_the_control_the_same_page_as_html_runs_its_script(
    browser: Browser, served: Served, attacker: tuple[str, Attacker], shots: Shot
) -> None:
    """Served as text/html (here from the attacker's own port), the same page runs and posts."""
    site, seen = attacker
    seen.posts.clear()
    page = signed_in_admin(browser, served.base)
    page.goto(f"{site}/evil.html")
    deadline = time.monotonic() + 20
    while not seen.posts and time.monotonic() < deadline:
        page.wait_for_timeout(200)
    shots(page, "the-control-ran")
    assert seen.posts, "the control's script did not run: the test could not see one that did"
    posted, headers = seen.posts[0]
    assert posted == "/operations/stop" and headers.get("X-Devfactory-Console") == "1"
    assert page.title().startswith("script ran")
    assert not stopped(served)  # it ran on the attacker's origin: the factory was out of reach
    page.context.close()


def test_every_run_file_is_served_inert_and_binary_as_a_download(served: Served) -> None:
    base = f"{served.base}/runs/{served.run_id}/artifacts"
    for path in ("evil.html", "docs/evil.svg", "run.json", "SUMMARY.md"):
        got = httpx.get(f"{base}/{path}", headers=served.key, timeout=10)
        assert got.status_code == 200, (path, got.text)
        assert got.headers["content-type"] == "text/plain; charset=utf-8", path
        assert got.headers["x-content-type-options"] == "nosniff"
        assert "sandbox" in got.headers["content-security-policy"]
        assert "content-disposition" not in got.headers
    blob = httpx.get(f"{base}/blob.bin", headers=served.key, timeout=10)
    assert blob.status_code == 200 and blob.content == BINARY
    assert blob.headers["content-type"] == "application/octet-stream"
    assert blob.headers["content-disposition"].startswith('attachment; filename="blob.bin"')
    assert "sandbox" in blob.headers["content-security-policy"]
