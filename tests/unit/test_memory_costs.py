"""Memory that costs little: one embedder per process, texts embedded once, a bounded queue."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import cast

import httpx
import pytest

from devfactory.graph.screening.check import embedded_embedder
from devfactory.graph.stage.recall import uncapped
from devfactory.graph.state import StageState
from devfactory.graph.studio_store import py as studio_store
from devfactory.memory.deferred import FactQueue
from devfactory.models import embeddings
from devfactory.models.embeddings import CachedEmbedder
from devfactory.models.router import ModelRouter
from devfactory.settings import Settings


class Counting:
    """An embedder that records every batch it is asked to embed."""

    name = "counting"
    dims = 3

    def __init__(self) -> None:
        self.batches: list[list[str]] = []

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        self.batches.append(list(texts))
        return [[float(len(t)), 1.0, 0.0] for t in texts]


def no_ollama() -> httpx.Client:
    def handle(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    return httpx.Client(transport=httpx.MockTransport(handle))


def test_the_embedder_is_built_once_per_process(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(embeddings, "_SHARED", {})
    built: list[int] = []
    real = embeddings.MiniLMEmbedder.__init__

    def counted(self: embeddings.MiniLMEmbedder, threads: int = 1) -> None:
        built.append(threads)
        real(self, threads)

    monkeypatch.setattr(embeddings.MiniLMEmbedder, "__init__", counted)
    first = ModelRouter(settings, http=no_ollama()).embedder()
    again = ModelRouter(settings, http=no_ollama()).embedder()
    assert first is again is embedded_embedder()  # memory's and the screen's are one
    assert built == [1]
    assert first.name == embeddings.MiniLMEmbedder.name and first.dims == 384


def test_studio_store_embeds_with_the_process_embedder(monkeypatch: pytest.MonkeyPatch) -> None:
    inner = Counting()
    monkeypatch.setattr(embeddings, "_SHARED", {})
    embeddings.shared_embedder("embedded", embeddings.MiniLMEmbedder.name, 1, lambda: inner)
    assert studio_store.embed(["a b", "a b"]) == [[3.0, 1.0, 0.0]] * 2
    assert inner.batches == [["a b"]]


def test_each_text_is_embedded_once_within_a_bounded_cache() -> None:
    inner = Counting()
    cached = CachedEmbedder(inner, size=3)
    first = cached.embed(["a", "bb", "a"])
    assert first == [[1.0, 1.0, 0.0], [2.0, 1.0, 0.0], [1.0, 1.0, 0.0]]
    assert cached.embed(["bb", "ccc"]) == [[2.0, 1.0, 0.0], [3.0, 1.0, 0.0]]
    assert inner.batches == [["a", "bb"], ["ccc"]]  # each distinct text once, misses together
    first[0][0] = 99.0  # a caller's change never reaches the cache
    assert cached.embed(["a"]) == [[1.0, 1.0, 0.0]]
    cached.embed(["dddd"])  # four texts seen, three kept: "bb" is the least recently used
    assert cached.embed(["bb"]) == [[2.0, 1.0, 0.0]]
    assert inner.batches[-1] == ["bb"]
    assert (cached.name, cached.dims) == ("counting", 3)


def test_the_fact_queue_holds_at_most_its_cap_and_a_full_queue_refuses() -> None:
    queue = FactQueue(2)
    started, release = threading.Event(), threading.Event()
    ran: list[int] = []

    def job(n: int) -> None:
        started.set()
        release.wait(10)
        ran.append(n)

    assert queue.submit(lambda: job(0))
    assert started.wait(10)  # the worker holds job 0; two may wait
    assert queue.submit(lambda: job(1)) and queue.submit(lambda: job(2))
    assert not queue.submit(lambda: job(3))  # at the cap: the caller extracts inline
    assert queue.waiting() == 3
    release.set()
    assert queue.close(10) == 0  # closing finishes what was queued
    assert ran == [0, 1, 2]
    assert not queue.submit(lambda: job(4))  # closed


def test_closing_drops_what_cannot_finish_in_time_with_a_log_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    queue = FactQueue(3)
    started, release = threading.Event(), threading.Event()
    ran: list[str] = []
    assert queue.submit(lambda: (started.set(), release.wait(10), ran.append("slow")) and None)
    assert started.wait(10)
    assert queue.submit(lambda: ran.append("queued 1"))
    assert queue.submit(lambda: ran.append("queued 2"))
    with caplog.at_level(logging.WARNING, logger="devfactory.memory.deferred"):
        assert queue.close(0.05) == 3  # two queued dropped, one running abandoned
    release.set()
    assert "2 queued dropped, 1 running abandoned" in caplog.text
    assert "queued 1" not in ran and "queued 2" not in ran


def test_a_failing_job_does_not_stop_the_worker(caplog: pytest.LogCaptureFixture) -> None:
    queue = FactQueue(2)
    ran: list[str] = []

    def fails() -> None:
        raise RuntimeError("mem0 is down")

    with caplog.at_level(logging.ERROR, logger="devfactory.memory.deferred"):
        assert queue.submit(fails)
        assert queue.submit(lambda: ran.append("next"))
        assert queue.close(10) == 0
    assert ran == ["next"]
    assert "mem0 is down" in caplog.text


def test_only_an_uncapped_run_may_extract_facts_off_its_ledger() -> None:
    team = "qa-engineering"
    assert uncapped(cast(StageState, {"budget": {"run": {}, "project": {}}}), team)
    assert uncapped(cast(StageState, {}), team)
    for caps in ({"tokens": 100}, {"cost_usd": 1.0}, {"seconds": 60.0}):
        assert not uncapped(cast(StageState, {"budget": {"run": caps}}), team)
        assert not uncapped(cast(StageState, {"budget": {"project": caps}}), team)
