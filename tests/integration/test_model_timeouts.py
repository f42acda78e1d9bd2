"""A model call that hangs is cut at ``model_call_timeout_s``, retried, then reported.

A real HTTP server stands in for Ollama: it lists the model, then never answers
a chat request. The router's ChatOllama is what the factory uses in production.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from langchain_core.messages import HumanMessage

from devfactory.contracts import TaskResult
from devfactory.models.io import ask_structured
from devfactory.models.router import ModelRouter
from devfactory.settings import Settings


class HungOllama(BaseHTTPRequestHandler):
    chats: list[float] = []
    release = threading.Event()

    def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
        body = b'{"models": [{"name": "qwen2.5-coder:1.5b"}]}'
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:  # noqa: N802
        HungOllama.chats.append(time.monotonic())
        HungOllama.release.wait(60)  # hangs: never a byte back while the test runs

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def hung_ollama() -> Iterator[str]:
    HungOllama.chats.clear()
    HungOllama.release.clear()
    server = ThreadingHTTPServer(("127.0.0.1", 0), HungOllama)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    HungOllama.release.set()
    server.shutdown()


def test_a_hung_model_call_is_timed_out_retried_and_reported(
    hung_ollama: str, tmp_path: Path
) -> None:
    settings = Settings(
        data_dir=tmp_path,
        ollama_host=hung_ollama,
        model_chain="ollama",  # no embedded fallback behind it
        model_call_timeout_s=1.0,
    )
    model = ModelRouter(settings).resolve("factory/fast")
    assert model.label.startswith("ollama")
    started = time.monotonic()
    answer = ask_structured(
        model.plain(),
        [HumanMessage("Report on the stage.")],
        TaskResult,
        max_parse_retries=1,
        max_model_errors=2,
    )
    took = time.monotonic() - started
    assert answer.value is None
    assert "model call failed after 2 tries" in answer.error
    assert "timed out" in answer.error.lower() or "timeout" in answer.error.lower()
    assert len(HungOllama.chats) == 2  # retried once, then given up: never a third call
    assert took < 20  # two 1 s timeouts and a back-off, not the server's 60 s
