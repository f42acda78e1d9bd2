"""A whole run on the served embedded model, its server killed (SIGKILL) in a model call.

The served model's answers are scripted, so a run takes seconds, yet every call
takes the product's whole path: the router's served link, ``ServerChatModel``
and its transport, the unix socket, and a server started by its supervisor.
``embedded_server_binary`` names the fake llama-server of
``tests/fake_llama_server.py``, answering each request with the scripted model
of ``tests/fakes.py``. The weights the router joins and verifies are replaced by
a small file of another name: the server is this test's own, never the host's
real one (whose folder is keyed by the real weights' name and size).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from devfactory.factory.facade import Factory
from devfactory.factory.intake import StartRequest
from devfactory.factory.reports import RunReport
from devfactory.models import router
from devfactory.models.aliases import CHAT_ALIASES, EMBED_ALIAS
from devfactory.models.local_server import (
    Endpoint,
    alive,
    read_state,
    state_folder,
    terminate,
)
from devfactory.models.packaged import SMALL
from devfactory.models.router import ModelRouter
from devfactory.models.server_supervisor import activity
from devfactory.settings import Settings
from tests.fake_llama_server import write_binary

REQUIREMENT = "A small Python library that counts the words in a text."
SERVED = f"embedded:{SMALL.name}"  # the served link's label


@pytest.fixture
def weights(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A stand-in weights file for the router; its server is stopped after the test."""
    model = tmp_path / f"served-{uuid.uuid4().hex[:8]}.gguf"
    model.write_bytes(b"GGUF" * 4)
    monkeypatch.setattr(router, "embedded_available", lambda *_: True)
    monkeypatch.setattr(router, "ensure_model_file", lambda data_dir, *_: model)
    monkeypatch.setenv("FAKE_LLAMA_SCRIPT", "tests.fakes:always_good")
    monkeypatch.setenv("FAKE_LLAMA_DELAY_S", "0.3")  # each call is long enough to be killed in
    monkeypatch.setenv("FAKE_LLAMA_RECORD", str(tmp_path / "starts.jsonl"))
    yield model
    folder = state_folder(model)
    if (found := read_state(folder)) is not None:
        terminate(found.supervisor)
        terminate(found.pid)
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def served(pg_settings: Settings, tmp_path: Path, weights: Path) -> Settings:
    """Settings whose only chat model is the embedded 0.5B, served by the scripted fake."""
    link = [{"provider": "embedded", "model": SMALL.name}]
    embed = [{"provider": "embedded", "model": "all-minilm-l6-v2", "kind": "embeddings"}]
    chains = {alias: link for alias in CHAT_ALIASES} | {EMBED_ALIAS: embed}
    models_file = tmp_path / "models.yaml"
    models_file.write_text(yaml.safe_dump({"aliases": chains}))
    return pg_settings.with_overrides(
        models_file=models_file,
        model_chain="embedded",
        embedded_server_binary=write_binary(tmp_path / "llama-server"),
        embedded_server_slots=2,
        embedded_threads=1,
    )


def starts(tmp_path: Path) -> list[int]:
    """Return the pid of each start of the fake, in order."""
    record = tmp_path / "starts.jsonl"
    lines = record.read_text().splitlines() if record.exists() else []
    return [json.loads(line)["pid"] for line in lines]


def seen(endpoint: Endpoint) -> tuple[float, float] | None:
    """Return the server's (decodes so far, calls in progress), as its supervisor reads them."""
    transport = httpx.HTTPTransport(uds=endpoint.socket)
    headers = {"Authorization": f"Bearer {endpoint.key}"}
    with httpx.Client(transport=transport, headers=headers, timeout=2) as client:
        return activity(client)


class Killer(threading.Thread):
    """Kill the server (SIGKILL) once it has decoded past ``decoded`` and is in a call."""

    def __init__(self, folder: Path, decoded: float) -> None:
        super().__init__(daemon=True)
        self.folder = folder
        self.decoded = decoded
        self.killed: Endpoint | None = None
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            found = read_state(self.folder)
            if found is not None and alive(found.pid):
                decodes, in_progress = seen(found) or (0.0, 0.0)
                if decodes > self.decoded and in_progress > 0:  # the run is under way
                    os.kill(found.pid, signal.SIGKILL)
                    self.killed = found
                    return
            time.sleep(0.02)


def run_once(models: ModelRouter, out: Path) -> RunReport:
    with Factory(models.settings, models=models) as factory:
        return factory.start(StartRequest(REQUIREMENT, pipeline="lean", out_dir=out))


def outcome(report: RunReport) -> list[tuple[str, str, str, int, int]]:
    """Return each stage's team, outcome, model, attempts and calls."""
    return [(r.team, r.outcome.value, r.model, r.attempts, r.usage.calls) for r in report.records]


def test_a_server_killed_mid_run_is_restarted_and_the_run_completes(
    served: Settings, weights: Path, tmp_path: Path
) -> None:
    unkilled = run_once(ModelRouter(served), tmp_path / "unkilled")
    assert unkilled.status == "COMPLETED", unkilled.reason
    assert {record.model for record in unkilled.records} == {SERVED}  # never the fallback
    [first] = starts(tmp_path)
    running = read_state(state_folder(weights))
    assert running is not None and running.pid == first
    before = seen(running)
    assert before is not None

    killer = Killer(state_folder(weights), decoded=before[0])  # past the run's first call
    models = ModelRouter(served)
    killer.start()
    try:
        killed = run_once(models, tmp_path / "killed")
    finally:
        killer.done.set()
        killer.join(timeout=10)
    assert killer.killed is not None, "the run made no call while it was looked at"
    assert killer.killed.pid == first
    assert killed.status == unkilled.status, killed.reason
    assert outcome(killed) == outcome(unkilled)
    # the killed call was sent again to the restarted server: no call of the run failed
    assert models.health.health(SERVED).errors == 0
    [_, second] = starts(tmp_path)  # restarted once, by the call the kill interrupted
    restarted = read_state(state_folder(weights))
    assert restarted is not None and restarted.pid == second != first and alive(second)
