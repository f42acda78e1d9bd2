"""Calls in flight at once, taken back in the order drawn, never past a cap or a stop."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from contextvars import ContextVar

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel
from pydantic import ValidationError

from devfactory.models.fanout import at_once, in_order
from devfactory.models.router import ModelEntry, ResolvedModel, parallel_of
from devfactory.settings import Settings

RUN: ContextVar[str] = ContextVar("run", default="")


class Flight:
    """Asks that record when they are sent, how many are in flight and the threads they ran on."""

    def __init__(self, waits: list[float]) -> None:
        self.waits = waits
        self.sent: list[int] = []
        self.arrived: list[int] = []
        self.threads: set[int] = set()
        self.now = self.peak = 0
        self.lock = threading.Lock()

    def ask(self, n: int) -> Callable[[], int]:
        def asked() -> int:
            with self.lock:
                self.sent.append(n)
                self.now += 1
                self.peak = max(self.peak, self.now)
                self.threads.add(threading.get_ident())
            time.sleep(self.waits[n])
            with self.lock:
                self.now -= 1
                self.arrived.append(n)
            return n

        return asked

    def asks(self) -> list[Callable[[], int]]:
        return [self.ask(n) for n in range(len(self.waits))]


def test_results_are_taken_in_the_order_drawn_whatever_order_they_arrive_in() -> None:
    flight = Flight([0.4, 0.3, 0.2, 0.1, 0.0])
    assert list(in_order(flight.asks(), 5, lambda: True)) == [0, 1, 2, 3, 4]
    assert flight.arrived[0] == 4 and flight.arrived[-1] == 0  # the last drawn came back first


def test_no_more_calls_are_in_flight_than_the_width() -> None:
    flight = Flight([0.05] * 10)
    assert list(in_order(flight.asks(), 3, lambda: True)) == list(range(10))
    assert flight.peak == 3
    assert sorted(flight.sent) == list(range(10))  # each once: never more than asked


def test_once_told_to_stop_nothing_more_is_sent_and_what_was_sent_comes_back() -> None:
    flight = Flight([0.01] * 8)
    taken: list[int] = []
    for n in in_order(flight.asks(), 3, lambda: 1 not in taken):
        taken.append(n)
    # 0, 1 and 2 were sent at once; 3 when 0 was taken; 1 taken: nothing more
    assert taken == [0, 1, 2, 3]
    assert sorted(flight.sent) == [0, 1, 2, 3]


def test_with_a_width_of_one_each_call_is_made_here_after_the_one_before_was_taken() -> None:
    flight = Flight([0.0] * 4)
    events: list[str] = []
    for n in in_order(flight.asks(), 1, lambda: len(events) < 3):
        events.append(f"taken {n}; sent {len(flight.sent)}")
    assert events == ["taken 0; sent 1", "taken 1; sent 2", "taken 2; sent 3"]
    assert flight.sent == [0, 1, 2]  # asked before each: the fourth was never sent
    assert flight.threads == {threading.get_ident()}


def test_each_call_runs_in_the_callers_context() -> None:
    RUN.set("run-7")
    seen = list(in_order([RUN.get] * 4, 2, lambda: True))
    assert seen == ["run-7"] * 4


def test_a_call_that_raises_raises_in_its_turn() -> None:
    def fails() -> int:
        raise ValueError("no reply")

    taken: list[int] = []
    with pytest.raises(ValueError, match="no reply"):
        for n in in_order([lambda: 0, fails, lambda: 2], 3, lambda: True):
            taken.append(n)
    assert taken == [0]


def model(parallel: int) -> ResolvedModel:
    chat = FakeListChatModel(responses=["ok"])
    return ResolvedModel("factory/coder", "x:y", chat, lambda c, s: c, parallel=parallel)


@pytest.mark.parametrize(
    ("setting", "serves", "width"), [(4, 1, 1), (4, 2, 2), (2, 8, 2), (8, 8, 8), (1, 4, 1)]
)
def test_calls_at_once_are_the_setting_within_what_the_model_serves(
    setting: int, serves: int, width: int
) -> None:
    assert at_once(Settings(parallel_candidates=setting), model(serves)) == width


@pytest.mark.parametrize("value", [0, 9])
def test_parallel_candidates_is_capped(value: int) -> None:
    with pytest.raises(ValidationError):
        Settings(parallel_candidates=value)


def test_each_provider_serves_as_many_calls_at_once_as_its_setting_says(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OLLAMA_NUM_PARALLEL", "3")
    settings = Settings(provider_parallel=6)
    assert settings.serving.ollama_num_parallel == 3  # Ollama's own variable
    assert parallel_of(ModelEntry(provider="ollama", model="m"), settings) == 3
    assert parallel_of(ModelEntry(provider="openai", model="m"), settings) == 6
    small = ModelEntry(provider="embedded", model="qwen2.5-coder-0.5b-instruct-q4_k_m")
    assert parallel_of(small, settings) == 1
    monkeypatch.delenv("OLLAMA_NUM_PARALLEL")
    assert Settings().serving.ollama_num_parallel == 1  # Ollama's own default
    with pytest.raises(ValidationError):
        Settings(provider_parallel=17)
