"""The chat's front door: only pages of the chat's own origin may call it.

Browsers send the sign-in cookie with requests that another page makes, and a
page on another port of the same host counts as the same *site*, so SameSite
cookies do not stop it. What the browser cannot hide is the page's origin.
``OriginGuard`` (an ASGI middleware in front of Chainlit) refuses:

* any request or WebSocket handshake (socket.io included) whose ``Origin`` is
  not one of the chat's origins;
* a state-changing request (not GET, HEAD or OPTIONS) without ``Origin`` whose
  ``Referer`` is another origin's page, or that the browser marks as coming
  from another site or origin (``Sec-Fetch-Site``).

The rule is ``webguard.cross_origin``, the one the API's console applies to
its sign-in and sign-out.

Requests with neither header (curl, scripts, health checks) pass: they carry no
ambient cookie of a victim's browser. CORS (``allow_origins``) is narrowed to
the same list, so no other page may read the chat's answers either.
"""

from __future__ import annotations

import contextvars
import ipaddress
import logging
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any

from devfactory.settings import Settings
from devfactory.webguard import cross_origin, origin_of

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

_WILDCARD = {"0.0.0.0", "::", ""}
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}

client_address: contextvars.ContextVar[str] = contextvars.ContextVar(
    "client_address", default="unknown"
)


def chat_origins(settings: Settings, host: str | None = None, port: int | None = None) -> list[str]:
    """Return the origins whose pages may call the chat.

    ``chat_public_origin`` when it is set; otherwise the address the chat listens
    on (``host``/``port``, else ``chat_host``/``chat_port``). A loopback or
    wildcard address allows both loopback spellings; a wildcard allows no other
    host, so a chat reached over the network needs ``chat_public_origin``.
    """
    if settings.service.chat_public_origin:
        return [origin_of(settings.service.chat_public_origin)]
    host = settings.service.chat_host if host is None else host
    port = settings.service.chat_port if port is None else port
    if host in _WILDCARD or host in _LOOPBACK:
        hosts = ["127.0.0.1", "localhost"]
    else:
        try:
            hosts = [f"[{host}]" if ipaddress.ip_address(host).version == 6 else host]
        except ValueError:
            hosts = [host]
    return [origin_of(f"http://{h}:{port}") for h in hosts]


class OriginGuard:
    """ASGI middleware: refuse foreign origins; note the client's address; refresh the secret.

    Args:
        app: the application behind the guard.
        origins: the origins whose pages may call it.
        before: called at every request first (the chat refreshes its signing secret).

    """

    def __init__(
        self, app: App, origins: Iterable[str], before: Callable[[], None] | None = None
    ) -> None:
        self.app = app
        self.origins = frozenset(origins)
        if "*" in self.origins or not self.origins:
            raise ValueError("the chat needs its own origin(s), not '*' or none")
        self.before = before

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on, or answer 403 (a WebSocket handshake is closed with 403)."""
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        if self.before is not None:
            self.before()
        client = scope.get("client")
        client_address.set(str(client[0]) if client else "unknown")
        why = cross_origin(scope, self.origins)
        if why is None:
            await self.app(scope, receive, send)
            return
        log.warning("refused %s %s: %s", scope["type"], scope.get("path"), why)
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        body = b'{"detail":"Forbidden: this page may not call the chat."}'
        await send(
            {
                "type": "http.response.start",
                "status": 403,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
