"""A dead or silent Langfuse costs one warning and at most a couple of seconds, never the run."""

from __future__ import annotations

import logging
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from devfactory.factory import facade as runner
from devfactory.factory.facade import Factory
from devfactory.factory.intake import StartRequest
from devfactory.settings import Settings
from devfactory.tracing import EXPORT_LOGGERS
from tests.fakes import ScriptedModels

LOW = "A command-line tool that counts the words in a text file"


class Silent:
    """A TCP server that accepts every connection and never says a word."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.held: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.held.append(conn)

    def close(self) -> None:
        self.sock.close()
        for conn in self.held:
            conn.close()


@pytest.fixture
def silent() -> Iterator[Silent]:
    server = Silent()
    yield server
    server.close()


def closed_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as sock:
        return int(sock.getsockname()[1])  # nothing listens once it is closed


def about_tracing(record: logging.LogRecord) -> bool:
    return (
        record.name == "devfactory.tracing"
        or record.name.split(".")[0] in {n.split(".")[0] for n in EXPORT_LOGGERS}
        or "langfuse" in record.getMessage().lower()
    )


@pytest.mark.parametrize("server", ["silent", "refusing"])
def test_a_dead_or_silent_langfuse_costs_under_3_s_and_one_warning(
    server: str,
    silent: Silent,
    pg_settings: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    port = silent.port if server == "silent" else closed_port()
    monkeypatch.setenv("LANGFUSE_PUBLIC_KEY", f"pk-lf-{uuid.uuid4().hex[:8]}")
    monkeypatch.setenv("LANGFUSE_SECRET_KEY", "sk-lf-test")
    monkeypatch.delenv("LANGFUSE_BASE_URL", raising=False)
    monkeypatch.setenv("LANGFUSE_HOST", f"http://127.0.0.1:{port}")
    spent: list[float] = []
    real = runner.open_tracing

    def timed(timeout_s: float) -> object:
        began = time.monotonic()
        try:
            return real(timeout_s)
        finally:
            spent.append(time.monotonic() - began)

    monkeypatch.setattr(runner, "open_tracing", timed)
    caplog.set_level(logging.WARNING)
    with Factory(pg_settings, models=ScriptedModels()) as factory:
        assert factory.tracing is None
        report = factory.start(StartRequest(LOW, out_dir=tmp_path / "out"))
    assert report.status == "COMPLETED"
    assert len(spent) == 1 and spent[0] < 3.0, spent  # the cap
    # the probe was the only thing that went to the server: nothing else can wait on it
    assert len(silent.held) == (1 if server == "silent" else 0)
    warned = [r for r in caplog.records if r.levelno >= logging.WARNING and about_tracing(r)]
    assert len(warned) == 1, [r.getMessage() for r in warned]
    said = warned[0].getMessage()
    assert f"127.0.0.1:{port}" in said and "not traced" in said
    assert ("did not answer" in said) == (server == "silent")
