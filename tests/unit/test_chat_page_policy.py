"""Issue 58 item 4: the chat's pages load images only from the chat, and nothing from elsewhere."""

from __future__ import annotations

import base64
import hashlib
import re

from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.responses import HTMLResponse, JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from devfactory.chat import chainlit_app as chat_app
from devfactory.chat.guard import OriginGuard
from devfactory.chat.offline_assets import chainlit_dist
from devfactory.chat.pagepolicy import (
    RUNTIME_STYLES,
    PagePolicy,
    inline_sources,
    page_policy,
    served_page,
)
from devfactory.webguard import SecurityHeaders

CHAT = "http://127.0.0.1:8000"


def directives(policy: str) -> dict[str, list[str]]:
    """Return a CSP's directives by name, each with its sources."""
    parsed = [d.split() for d in policy.split(";") if d.strip()]
    return {name: sources for name, *sources in parsed}


def sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def test_the_policy_allows_images_from_the_chat_and_data_and_connections_to_it_only() -> None:
    found = directives(page_policy(served_page(), [CHAT]))
    assert found["img-src"] == ["'self'", "data:"]
    assert found["connect-src"] == ["'self'", "ws://127.0.0.1:8000"]
    assert found["default-src"] == ["'self'"] and found["object-src"] == ["'none'"]
    for name in ("font-src", "media-src", "style-src", "script-src", "form-action", "base-uri"):
        assert found[name][0] == "'self'", name
    every = " ".join(s for sources in found.values() for s in sources)
    assert "unsafe" not in every and "*" not in every and "http" not in every


def test_the_pages_inline_scripts_run_by_their_hash_and_no_other_inline_code() -> None:
    page = served_page()
    inline = re.findall(r"<script>(.*?)</script>", page, re.S)
    assert inline, "Chainlit's page has inline scripts"
    scripts, styles = inline_sources(page)
    assert scripts == list(dict.fromkeys(sha256(s) for s in inline))
    assert directives(page_policy(page, [CHAT]))["script-src"] == [
        "'self'",
        "'report-sample'",  # a refusal says what it refused
        *scripts,
    ]
    assert styles == []
    assert inline_sources('<script src="/a.js">x</script><style>p{}</style>') == (
        [],
        [sha256("p{}")],
    )


def test_each_style_chainlits_script_may_add_is_one_its_bundle_holds() -> None:
    """An upgrade that changes one of them fails here, before a browser refuses it."""
    bundle = "".join(p.read_text("utf-8") for p in (chainlit_dist() / "assets").glob("index-*.js"))
    literals = re.findall(r'`([^`$\\]*)`|"([^"\\]*)"', bundle)
    held = {sha256(text) for pair in literals for text in pair} | {sha256("")}
    assert set(RUNTIME_STYLES) <= held
    assert set(RUNTIME_STYLES) <= set(directives(page_policy("", [CHAT]))["style-src"])


def test_every_response_of_the_chat_carries_the_policy_with_its_framing() -> None:
    """The chat's own middleware (app.py), over Chainlit's own routes, but the origin guard."""
    stack = [m for m in chat_app.server.user_middleware if m.cls is not OriginGuard]
    assert [m.cls for m in stack].index(SecurityHeaders) < [m.cls for m in stack].index(PagePolicy)
    routes = FastAPI(middleware=stack)
    routes.include_router(chat_app.server.router)
    client = TestClient(routes)
    for path in ("/login", "/", "/project/whatever"):
        answer = client.get(path)
        assert answer.status_code == 200 and '<div id="root">' in answer.text, path
        policy = directives(answer.headers["content-security-policy"])
        assert policy["img-src"] == ["'self'", "data:"], path
        assert policy["frame-ancestors"] == ["'none'"], path  # the edge's, merged in
        assert policy["script-src"][2:] == inline_sources(answer.text)[0]  # the page it serves


def test_a_routes_own_policy_is_replaced_by_the_chats() -> None:
    async def loose(request: object) -> JSONResponse:
        return JSONResponse({}, headers={"Content-Security-Policy": "img-src *"})

    async def page(request: object) -> HTMLResponse:
        return HTMLResponse("<p>hi</p>")

    app = Starlette(
        routes=[Route("/loose", loose), Route("/page", page)],
        middleware=[Middleware(SecurityHeaders), Middleware(PagePolicy, policy="img-src 'self'")],
    )
    client = TestClient(app)
    for path in ("/loose", "/page"):
        headers = client.get(path).headers
        assert headers.get_list("content-security-policy") == [
            "img-src 'self'; frame-ancestors 'none'"
        ]
