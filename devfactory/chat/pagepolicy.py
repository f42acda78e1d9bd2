"""The chat's pages load only what the chat serves: its Content-Security-Policy.

Chainlit renders messages as Markdown in the browser, and anything that loads
from another host there is a way out for what the page shows: an image whose
address a prompt-injected model wrote carries data to that host the moment it
shows. ``inert.py`` keeps images out of the Markdown the factory sends; this
policy holds the page itself to the chat's own origin, whatever a message came
to hold (a person's own message, which their browser renders as they typed it):

* images ``'self' data:``, fonts, media and frames ``'self'``: no other host;
* connections only to the chat: ``'self'`` and its WebSocket on the same origins
  (``ws://`` and ``wss://`` are named, for browsers that do not count them as self);
* scripts and styles from the chat's files, and the page's inline scripts and
  styles only by their SHA-256 (``inline_sources``), measured from the page
  Chainlit serves when the chat starts; no ``eval``, no handler attributes. Of
  the ``<style>`` elements Chainlit's script adds as it runs, only those in
  ``RUNTIME_STYLES`` apply (measured in Chromium: a browser test lists what is
  refused); the others are cosmetic: the scroll lock under an open menu
  (react-remove-scroll-bar, whose text holds the scrollbar's width) and the
  cursor while a panel is resized;
* no plugin (``object-src 'none'``), no ``<base>`` elsewhere, forms post only to
  the chat.

Every asset the page needs is the chat's own already (``offline_assets.py``). The edge
(``webguard.SecurityHeaders``) adds ``frame-ancestors`` to this policy.
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Iterable
from html.parser import HTMLParser
from typing import Final

from devfactory.webguard import App, Headers, Receive, Scope, Send, restamped

CSP = b"content-security-policy"
RUNTIME_STYLES: Final = (
    "'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='",  # empty: sonner's, before its text
    "'sha256-6FtdOVEKBr7kEvnxnYQJQC1ilZSJF49hIGiqrX5SLiA='",  # sonner's toasts
    "'sha256-441zG27rExd4/il+NvIqyL8zFx5XmyNQtE381kSkUJk='",  # Radix Select's viewport
)
"""The ``<style>`` elements Chainlit's script adds (Chainlit 2.12's bundle), by hash. A
unit test finds each in the installed bundle, so an upgrade that changes one says so."""


class _Inline(HTMLParser):
    """Collect the text of a page's inline ``<script>`` and ``<style>`` elements."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.open: tuple[str, list[str]] | None = None
        self.found: dict[str, list[str]] = {"script": [], "style": []}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.found and not (tag == "script" and any(k == "src" for k, _ in attrs)):
            self.open = (tag, [])

    def handle_data(self, data: str) -> None:
        if self.open is not None:
            self.open[1].append(data)

    def handle_endtag(self, tag: str) -> None:
        if self.open is not None and self.open[0] == tag:
            self.found[tag].append("".join(self.open[1]))
            self.open = None


def _sha256(text: str) -> str:
    digest = base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")
    return f"'sha256-{digest}'"


def inline_sources(html: str) -> tuple[list[str], list[str]]:
    """Return the hash sources of ``html``'s inline scripts and inline styles, in order."""
    parser = _Inline()
    parser.feed(html)
    parser.close()
    scripts = list(dict.fromkeys(_sha256(s) for s in parser.found["script"]))
    styles = list(dict.fromkeys(_sha256(s) for s in parser.found["style"]))
    return scripts, styles


def sockets(origins: Iterable[str]) -> list[str]:
    """Return the WebSocket origins of the chat's ``origins`` (``http`` → ``ws``)."""
    return [("ws" + o.removeprefix("http")) for o in origins if o.startswith("http")]


def page_policy(page: str, origins: Iterable[str]) -> str:
    """Return the chat's Content-Security-Policy for the ``page`` Chainlit serves.

    Args:
        page: the HTML of Chainlit's page as it is served (its inline scripts
            and styles are allowed by their hashes, nothing else inline).
        origins: the chat's own origins (``guard.chat_origins``).

    """
    scripts, styles = inline_sources(page)
    return "; ".join(
        [
            "default-src 'self'",
            " ".join(["script-src 'self' 'report-sample'", *scripts]),
            " ".join(["style-src 'self' 'report-sample'", *styles, *RUNTIME_STYLES]),
            "img-src 'self' data:",
            "font-src 'self'",
            "media-src 'self'",
            " ".join(["connect-src 'self'", *sockets(origins)]),
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
        ]
    )


def served_page() -> str:
    """Return Chainlit's page as its server serves it (our frontend, the script it injects)."""
    from chainlit.server import get_html_template

    root = os.getenv("CHAINLIT_PARENT_ROOT_PATH", "") + os.getenv("CHAINLIT_ROOT_PATH", "")
    return str(get_html_template(root))


class PagePolicy:
    """ASGI middleware: every HTTP response of the chat carries ``policy`` as its CSP.

    A response's own policy is replaced: nothing the chat serves may load more.
    """

    def __init__(self, app: App, policy: str) -> None:
        self.app = app
        self.header = (CSP, policy.encode("latin-1"))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on; put the policy on its response."""
        await restamped(self.app, scope, receive, send, self.stamp)

    def stamp(self, headers: Headers) -> Headers:
        """Return a response's ``headers`` with the policy in place of its own."""
        return [*((k, v) for k, v in headers if k.lower() != CSP), self.header]
