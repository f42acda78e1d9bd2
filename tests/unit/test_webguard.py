"""The HTTP edge every web surface shares: framing refused, bodies capped before they are read."""

from __future__ import annotations

import asyncio
import sys
from types import SimpleNamespace
from typing import Any

import pytest
import uvicorn

from devfactory.settings import Settings
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


def served_with(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Return how the API (``devfactory serve``) and the chat (``devfactory chat``) set up uvicorn.

    Each is started as it is in production, up to the call that would serve; what
    it hands uvicorn is kept instead (the chat's Chainlit reads it from the
    environment, and builds its own ``uvicorn.Config`` from it).
    """
    import devfactory.api.__main__ as api_main
    import devfactory.chat as chat

    found: dict[str, Any] = {}
    monkeypatch.setattr(api_main, "get_settings", lambda: settings)
    monkeypatch.setattr(api_main, "configure", lambda *a, **k: None)
    proxying = ("proxy_headers", "forwarded_allow_ips")

    def api_serves(app: str, **options: Any) -> None:
        found["api"] = {k: v for k, v in options.items() if k in proxying}

    monkeypatch.setattr(api_main.uvicorn, "run", api_serves)
    monkeypatch.setattr("sys.argv", ["devfactory serve"])
    api_main.main()
    for name in ("CHAINLIT_HOST", "CHAINLIT_PORT"):
        monkeypatch.setenv(name, "")  # what serve() sets is restored after the test
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", "127.0.0.1")  # uvicorn's own default
    monkeypatch.setattr(chat, "prepare", lambda *a, **k: None)

    def chainlit_serves(target: str) -> None:
        found["chat"] = {}  # Chainlit passes no proxy options: uvicorn reads the environment

    # in place of Chainlit's command line, which would patch asyncio for the whole process
    monkeypatch.setitem(sys.modules, "chainlit.cli", SimpleNamespace(run_chainlit=chainlit_serves))
    chat.serve(settings, host="127.0.0.1", port=8000)
    return found


def client_seen(options: dict[str, Any], headers: dict[str, str]) -> str:
    """Return the client address an app behind uvicorn with ``options`` sees for a local peer."""
    seen: list[str] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.append(scope["client"][0])

    config = uvicorn.Config(app, log_config=None, **options)
    config.load()
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/login",
        "scheme": "http",
        "client": ("127.0.0.1", 50000),
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
    }
    asyncio.run(config.loaded_app(scope, None, None))
    return seen[0]


def test_the_api_and_the_chat_take_x_forwarded_for_only_from_a_configured_proxy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Issue 58 item 8: one rule for both servers: no proxy is trusted unless configured."""
    forwarded = {"X-Forwarded-For": "203.0.113.9"}
    for proxies, client in (((), "127.0.0.1"), (("127.0.0.1",), "203.0.113.9")):
        served = served_with(Settings(trusted_proxies=proxies), monkeypatch)
        seen = {name: client_seen(options, forwarded) for name, options in served.items()}
        assert seen == {"api": client, "chat": client}, proxies


@pytest.mark.parametrize("wrong", ["*", "proxy.example", "10.0.0.0/33", ""])
def test_a_trusted_proxy_is_an_address_or_a_network(wrong: str) -> None:
    with pytest.raises(ValueError, match="trusted proxy"):
        Settings(trusted_proxies=(wrong,))
    assert Settings(trusted_proxies=("10.0.0.1", "fd00::/8")).service.trusted_proxies == (
        "10.0.0.1/32",
        "fd00::/8",
    )
