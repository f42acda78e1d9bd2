"""What every web surface of the factory (the API, the chat) enforces at the HTTP edge.

Two ASGI middlewares, shared so that no surface forgets one:

* ``SecurityHeaders``: no page of the factory may be framed by another site
  (``Content-Security-Policy: frame-ancestors`` and ``X-Frame-Options``), so a
  page elsewhere cannot lay the chat under a decoy button and have a signed-in
  approver click "approve" (clickjacking). Only the origins an operator
  configures (``web_frame_ancestors``) may frame it. Responses are also marked
  ``nosniff`` and keep their address to the factory's own origin.
* ``BodyLimit``: a request body larger than ``web_max_body_kb`` is refused
  with 413 before it is read (by its ``Content-Length``) or as soon as it
  passes the cap (chunked bodies), and a surface may refuse an unauthenticated
  request (401) before reading any of its body.

``restamped`` passes a response's headers through a function on their way out:
``SecurityHeaders`` and the chat's ``PagePolicy`` rewrite them with it.

And two rules every surface applies the same way: ``cross_origin`` says when a
request comes from another origin's page (the chat's guard, the console's
sign-in and sign-out), and ``forwarded_allow_ips`` tells the server (uvicorn,
for the API and the chat alike) which peers may name a client in
``X-Forwarded-For``: only the configured ``trusted_proxies``, none by default,
so a client cannot pick the address its sign-in failures are counted under.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Awaitable, Callable, Collection, Iterable, MutableMapping
from typing import Any, NamedTuple
from urllib.parse import urlsplit

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]
Headers = list[tuple[bytes, bytes]]


class Refusal(NamedTuple):
    """An answer given at the edge: status, message, extra headers."""

    status: int
    message: str
    headers: tuple[tuple[str, str], ...] = ()


# Says why a request must be refused before its body is read, or None.
Gate = Callable[[Scope], Refusal | None]


def origin_of(url: str) -> str:
    """Return ``url``'s origin as browsers write it (``scheme://host[:port]``, no default port)."""
    parts = urlsplit(url.strip())
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an http(s) origin: {url!r}")
    scheme = parts.scheme.lower()
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    default = {"http": 80, "https": 443}[scheme]
    port = "" if parts.port in (None, default) else f":{parts.port}"
    return f"{scheme}://{host}{port}"


def check_origin(origin: str) -> str:
    """Return ``origin`` as browsers write it, or raise ValueError when it is not only one."""
    parts = urlsplit(origin.strip())
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
        raise ValueError(f"an origin is scheme://host[:port], nothing more: {origin!r}")
    return origin_of(origin)


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
FOREIGN_FETCH = frozenset({"cross-site", "same-site"})


def _header(scope: Scope, name: bytes) -> str | None:
    return next(
        (v.decode("latin-1") for k, v in scope.get("headers", ()) if k.lower() == name), None
    )


def cross_origin(scope: Scope, origins: Collection[str], *, form: bool = False) -> str | None:
    """Say why a request must be refused as another origin's page's, or None when it may pass.

    The ``Origin`` a browser sends decides: it must be one of ``origins``. A
    request that changes something and sends no ``Origin`` is judged by its
    ``Referer``'s origin, and refused when the browser marks it as another
    site's (``Sec-Fetch-Site``). Requests with none of these (curl, scripts)
    pass, since they carry no victim's cookie; a ``form`` endpoint (the
    console's sign-in and sign-out, which only a browser's form posts) refuses
    them too, so that no page can hide where it posted from.
    """
    origin = _header(scope, b"origin")
    if origin is not None:
        return None if origin in origins else f"origin {origin[:200]!r} is not {_one_of(origins)}"
    changes = scope.get("type") == "http" and scope.get("method", "GET") not in SAFE_METHODS
    if not changes and not form:
        return None
    referer = _header(scope, b"referer")
    if referer is not None:
        try:
            came_from = origin_of(referer)
        except ValueError:
            came_from = referer[:200]
        return (
            None if came_from in origins else f"a page of {came_from!r} is not {_one_of(origins)}"
        )
    if _header(scope, b"sec-fetch-site") in FOREIGN_FETCH:
        return "a request from another site may not change anything"
    if form:
        return "the request says neither its Origin nor its Referer"
    return None


def _one_of(origins: Collection[str]) -> str:
    return f"this server's ({', '.join(sorted(origins))})"


def check_proxy(entry: str) -> str:
    """Return a trusted proxy's address or network as written canonically, or raise ValueError."""
    try:
        return str(ipaddress.ip_network(entry.strip(), strict=False))
    except ValueError:
        raise ValueError(
            f"a trusted proxy is an IP address or network (10.0.0.0/8), not {entry!r}"
        ) from None


def forwarded_allow_ips(proxies: Iterable[str]) -> str:
    """Return uvicorn's ``forwarded_allow_ips`` for ``proxies``: an empty list trusts no peer.

    uvicorn trusts ``127.0.0.1`` unless told otherwise; the empty string it is
    given here matches no address.
    """
    return ",".join(check_proxy(p) for p in proxies)


def security_headers(frame_ancestors: Iterable[str] = ()) -> list[tuple[bytes, bytes]]:
    """Return the headers every response carries (framing only by ``frame_ancestors``)."""
    allowed = [check_origin(o) for o in frame_ancestors]
    headers = [
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"same-origin"),
    ]
    if allowed:  # X-Frame-Options cannot name several origins; CSP wins where both are read
        policy = "frame-ancestors 'self' " + " ".join(allowed)
    else:
        policy = "frame-ancestors 'none'"
        headers.append((b"x-frame-options", b"DENY"))
    headers.append((b"content-security-policy", policy.encode("latin-1")))
    return headers


_CSP = b"content-security-policy"


def merged_policy(own: bytes, framing: bytes) -> bytes:
    """Return a route's own CSP with the factory's ``frame-ancestors`` in place of any of its own.

    A route may send a stricter policy of its own (a run's files are served with
    ``sandbox; default-src 'none'``, the console's pages allow only their own
    scripts); the edge keeps every directive of it and decides framing alone.
    """
    kept = [
        d.strip()
        for d in own.split(b";")
        if d.strip() and not d.strip().lower().startswith(b"frame-ancestors")
    ]
    return b"; ".join([*kept, framing])


async def restamped(
    app: App, scope: Scope, receive: Receive, send: Send, stamp: Callable[[Headers], Headers]
) -> None:
    """Call ``app``, each HTTP response's headers passing through ``stamp`` on their way out."""
    if scope["type"] != "http":
        await app(scope, receive, send)
        return

    async def stamped(message: Message) -> None:
        if message["type"] == "http.response.start":
            message["headers"] = stamp(message.get("headers", []))
        await send(message)

    await app(scope, receive, stamped)


class SecurityHeaders:
    """ASGI middleware: add ``security_headers`` to every HTTP response.

    The headers replace a response's own, but for its ``Content-Security-Policy``:
    a route's own policy is kept, with the factory's ``frame-ancestors`` merged in
    (``merged_policy``), so a route can only ever tighten what the edge sends.
    """

    def __init__(self, app: App, frame_ancestors: Iterable[str] = ()) -> None:
        self.app = app
        self.headers = security_headers(frame_ancestors)
        self.names = {name for name, _ in self.headers}
        self.framing = next(v for k, v in self.headers if k == _CSP)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on; stamp the headers on its response."""
        await restamped(self.app, scope, receive, send, self.stamp)

    def stamp(self, headers: Headers) -> Headers:
        """Return a response's ``headers`` with the factory's in place of their own."""
        own = [v for k, v in headers if k.lower() == _CSP]
        kept = [(k, v) for k, v in headers if k.lower() not in self.names]
        stamp = [
            (k, merged_policy(b"; ".join(own), v) if k == _CSP and own else v)
            for k, v in self.headers
        ]
        return [*kept, *stamp]


class BodyTooLargeError(Exception):
    """A request body went past the cap while it was read."""


async def refuse(send: Send, refusal: Refusal) -> None:
    """Answer ``refusal`` as the API's error format (JSON), closing the request."""
    body = json.dumps({"error": {"status": refusal.status, "message": refusal.message}}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    headers += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in refusal.headers]
    headers.append((b"connection", b"close"))  # the rest of the body is never read
    await send({"type": "http.response.start", "status": refusal.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class BodyLimit:
    """ASGI middleware: refuse bodies over ``max_bytes`` (413), and unsigned requests first.

    Args:
        app: the application behind the limit.
        max_bytes: the largest body any request may send.
        gate: called before any of the body is read; a ``Refusal`` answers at once
            (the API refuses a request without a valid key this way).

    """

    def __init__(self, app: App, max_bytes: int, gate: Gate | None = None) -> None:
        if max_bytes < 1:
            raise ValueError("max_bytes must be positive")
        self.app = app
        self.max_bytes = max_bytes
        self.gate = gate

    def _too_large(self) -> Refusal:
        return Refusal(413, f"the request body is larger than {self.max_bytes} bytes")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Refuse at once, or pass the request on reading its body through the cap."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refusal = self.gate(scope) if self.gate is not None else None
        if refusal is not None:
            await refuse(send, refusal)
            return
        length = next((v for k, v in scope["headers"] if k.lower() == b"content-length"), None)
        if length is not None and (not length.strip().isdigit() or int(length) > self.max_bytes):
            await refuse(send, self._too_large())
            return
        read, started, answered = 0, False, False

        async def capped() -> Message:
            nonlocal read, answered
            message = await receive()
            if message["type"] == "http.request":
                read += len(message.get("body", b""))
                if read > self.max_bytes:
                    if not started and not answered:
                        answered = True
                        await refuse(send, self._too_large())
                    raise BodyTooLargeError(self._too_large().message)
            return message

        async def sending(message: Message) -> None:
            nonlocal started
            if answered:
                return  # the 413 was sent; whatever the app says after it is dropped
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, capped, sending)
        except BodyTooLargeError:
            if not answered and not started:
                await refuse(send, self._too_large())
