"""The console's provider health: Ollama asked now, with what it has or what went wrong."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from devfactory.api.console import _ollama_health, _served


class _Tags(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
        body = json.dumps({"models": [{"name": "qwen2.5-coder:7b"}]}).encode()
        self.send_response(200 if self.path == "/api/tags" else 404)
        self.send_header("content-type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def ollama() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Tags)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_a_reachable_ollama_lists_its_models(ollama: str) -> None:
    found = _ollama_health(ollama, 2.0)
    assert found["reachable"] is True and found["models"] == ["qwen2.5-coder:7b"]
    assert found["problem"] == "" and found["ms"] >= 0


def test_an_unreachable_ollama_says_why() -> None:
    found = _ollama_health("http://127.0.0.1:9", 1.0)
    assert found["reachable"] is False and found["models"] == []
    assert found["problem"]


def test_an_alias_is_served_by_the_first_available_entry_and_says_what_it_skipped() -> None:
    chain = [
        {"model": "ollama:qwen2.5-coder:7b", "available": False},
        {"model": "embedded", "available": True},
    ]
    served = _served("coder", chain)
    assert served["serves"] == "embedded"
    assert "ollama:qwen2.5-coder:7b not available" in served["why"]
    assert _served("coder", [{"model": "x", "available": False}])["serves"] is None
