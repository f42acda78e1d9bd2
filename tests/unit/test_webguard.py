"""The HTTP edge every web surface shares: framing refused, bodies capped before they are read."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from devfactory.webguard import BodyLimit, Refusal, SecurityHeaders, check_origin


class Echo:
    """An app that reads the whole body, then answers how many bytes it got."""

    def __init__(self) -> None:
        self.read = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        more = True
        while more:
            message = await receive()
            self.read += len(message.get("body", b""))
            more = message.get("more_body", False)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": str(self.read).encode()})


def call(app: Any, headers: dict[str, str], chunks: list[bytes]) -> tuple[list[Any], int]:
    """Call ``app`` with a body sent in ``chunks``; return what it sent and chunks pulled."""
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/runs",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
    }
    sent: list[Any] = []
    pulled = 0

    async def receive() -> dict[str, Any]:
        nonlocal pulled
        pulled += 1
        last = pulled >= len(chunks)
        return {"type": "http.request", "body": chunks[min(pulled, len(chunks)) - 1],
                "more_body": not last}  # fmt: skip

    async def send(message: Any) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    return sent, pulled


def status(sent: list[Any]) -> int:
    return int(next(m["status"] for m in sent if m["type"] == "http.response.start"))


def test_a_declared_length_past_the_cap_is_refused_before_any_byte_is_read() -> None:
    echo = Echo()
    sent, pulled = call(BodyLimit(echo, 1000), {"content-length": str(150 << 20)}, [b"x" * 100])
    assert status(sent) == 413 and pulled == 0 and echo.read == 0
    assert b"larger than 1000 bytes" in sent[-1]["body"]


def test_a_chunked_body_is_cut_off_as_soon_as_it_passes_the_cap() -> None:
    echo = Echo()
    sent, pulled = call(BodyLimit(echo, 1000), {}, [b"x" * 400] * 50)
    assert status(sent) == 413 and pulled == 3  # 1,200 bytes: past the cap, never 20,000
    assert len([m for m in sent if m["type"] == "http.response.start"]) == 1


def test_an_unsigned_request_is_refused_before_its_body_is_read() -> None:
    echo = Echo()
    gate = BodyLimit(echo, 1 << 30, gate=lambda scope: Refusal(401, "send an API key"))
    sent, pulled = call(gate, {"content-length": str(100 << 20)}, [b"x" * 1000])
    assert status(sent) == 401 and pulled == 0 and echo.read == 0


def test_a_body_within_the_cap_reaches_the_app_whole() -> None:
    echo = Echo()
    sent, _ = call(BodyLimit(echo, 1000), {"content-length": "1000"}, [b"x" * 500, b"y" * 500])
    assert status(sent) == 200 and sent[-1]["body"] == b"1000"


def test_every_response_refuses_to_be_framed_unless_an_origin_is_configured() -> None:
    sent, _ = call(SecurityHeaders(Echo()), {}, [b""])
    headers = dict(sent[0]["headers"])
    assert headers[b"x-frame-options"] == b"DENY"
    assert headers[b"content-security-policy"] == b"frame-ancestors 'none'"
    allowed = SecurityHeaders(Echo(), frame_ancestors=["https://portal.example:443"])
    sent, _ = call(allowed, {}, [b""])
    headers = dict(sent[0]["headers"])
    assert b"x-frame-options" not in headers
    assert headers[b"content-security-policy"] == b"frame-ancestors 'self' https://portal.example"


class OwnPolicy:
    """An app whose response sends a policy of its own, with a framing rule the edge overrides."""

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        own = b"sandbox; default-src 'none'; frame-ancestors *"
        headers = [(b"content-security-policy", own)]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b""})


def test_a_routes_own_policy_is_kept_and_only_the_edge_decides_framing() -> None:
    sent, _ = call(SecurityHeaders(OwnPolicy()), {}, [b""])
    policies = [v for k, v in sent[0]["headers"] if k == b"content-security-policy"]
    assert policies == [b"sandbox; default-src 'none'; frame-ancestors 'none'"]


@pytest.mark.parametrize("bad", ["*", "javascript:alert(1)", "https://a.example/path", ""])
def test_only_plain_origins_may_be_allowed_to_frame(bad: str) -> None:
    with pytest.raises(ValueError):
        check_origin(bad)
