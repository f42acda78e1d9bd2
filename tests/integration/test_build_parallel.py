"""The build loop with several calls in flight: the same choice as one by one, within every cap.

A scripted model that serves several calls at once (``ResolvedModel.parallel``)
answers each candidate by its seed (the build loop seeds the n-th candidate of
a unit with n), and the earlier a candidate was drawn the later its reply
arrives. The loop takes replies in the order drawn, so what it keeps is what
it keeps with one call at a time; a gauge counts the calls in flight.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

import pytest
from langchain_core.outputs import ChatResult

from devfactory.control.deadline import Deadline
from devfactory.factory import driver
from devfactory.factory.facade import Factory
from devfactory.factory.intake import StartRequest
from devfactory.factory.reports import RunReport
from devfactory.models.router import ResolvedModel
from devfactory.settings import Settings
from tests.fakes import Call, ScriptedChatModel
from tests.integration.test_build_loop import (
    HALF_RIGHT,
    LIBRARY,
    OFF_BY_ONE,
    REQUIREMENT,
    RIGHT,
    SAID,
    SHOUT,
    _tests,
    script,
)

SEED: ContextVar[int] = ContextVar("seed", default=0)  # the seed of the call being answered
TWICE = "```python\ndef double(n: int) -> int:\n    return n + n\n```"  # right, drawn last


class Gauge:
    """Count the calls of each kind in flight, and the most there were at once.

    A call that must overlap others waits for them (``until``), never for a
    delay: on a loaded machine the next call may start later than any delay.
    """

    def __init__(self) -> None:
        self.now: Counter[str] = Counter()
        self.peak: Counter[str] = Counter()
        self.arrived: list[tuple[str, int]] = []  # (kind, draw index) as each reply came back
        self._changed = threading.Condition()

    @contextmanager
    def held(self, kind: str) -> Iterator[None]:
        with self._changed:
            self.now[kind] += 1
            self.peak[kind] = max(self.peak[kind], self.now[kind])
            self._changed.notify_all()
        try:
            yield
        finally:
            with self._changed:
                self.now[kind] -= 1
                self.arrived.append((kind, SEED.get() % 100))
                self._changed.notify_all()

    def until(self, kind: str, count: int, timeout: float = 60.0) -> None:
        """Wait until ``count`` calls of ``kind`` have been in flight at once (then none waits).

        Fewer ever at once (a cap held lower than the test expects): it goes on
        after ``timeout``, and the test's assertion on ``peak`` says so.
        """
        with self._changed:
            self._changed.wait_for(lambda: self.peak[kind] >= count, timeout)

    def after(self, kind: str, draws: range, timeout: float = 60.0) -> None:
        """Wait until the calls of ``kind`` with these draw indexes have come back."""
        with self._changed:
            self._changed.wait_for(lambda: all((kind, n) in self.arrived for n in draws), timeout)


class SeededChatModel(ScriptedChatModel):
    """The scripted model, copied per candidate with its temperature and seed."""

    seed: int = 0
    temperature: float = 0.0

    def _generate(
        self, messages: Any, stop: Any = None, run_manager: Any = None, **kw: Any
    ) -> ChatResult:
        token = SEED.set(self.seed)
        try:
            return super()._generate(messages, stop, run_manager, **kw)
        finally:
            SEED.reset(token)


class SlottedModels:
    """A model source whose one model serves ``parallel`` calls at once."""

    def __init__(self, answer: Callable[[Call], str], parallel: int) -> None:
        self.chat = SeededChatModel(script=answer)
        self.parallel = parallel

    def resolve(self, alias: str) -> ResolvedModel:
        """Return the seeded model for any alias."""
        return ResolvedModel(
            alias, "scripted:fake", self.chat, lambda chat, schema: chat, parallel=self.parallel
        )


def slow(gauge: Gauge, kind: str, at_once: int, answer: Callable[[Call], str]):
    """Answer with ``answer`` once ``at_once`` calls of ``kind`` have been in flight together."""

    def answered(call: Call) -> str:
        with gauge.held(kind):
            gauge.until(kind, at_once)
            return answer(call)

    return answered


@pytest.fixture
def settings(pg_settings: Settings) -> Settings:
    return pg_settings.with_overrides(run_code=True, repair_rounds=1)


def backend(report: RunReport) -> Any:
    [record] = [r for r in report.records if r.team == "backend-engineering"]
    return record


def built(settings: Settings, tmp_path: Path, requirement: str, models: SlottedModels):
    with Factory(settings, models=models) as factory:
        report = factory.start(StartRequest(requirement, pipeline="lean", out_dir=tmp_path / "out"))
    module = requirement.split("`")[1]
    return report, (tmp_path / "out" / f"{module}.py").read_text()


def units_of(models: SlottedModels) -> list[Call]:
    return [c for c in models.chat.calls if c.kind == "unit"]


@pytest.mark.parametrize("parallel", [1, 4])
def test_replies_that_arrive_out_of_order_keep_the_candidate_drawn_first_that_passes(
    settings: Settings, tmp_path: Path, parallel: int
) -> None:
    drawn = [OFF_BY_ONE, HALF_RIGHT, RIGHT, TWICE]  # the third and the fourth pass everything
    gauge = Gauge()

    def unit(call: Call) -> str:
        n = SEED.get() % 100
        with gauge.held("unit"):
            if parallel > 1:  # all sent at once, and the first drawn comes back last
                gauge.until("unit", len(drawn))
                gauge.after("unit", range(n + 1, len(drawn)))
        return drawn[n]

    models = SlottedModels(script(unit), parallel)
    report, source = built(settings.with_overrides(candidates=4), tmp_path, REQUIREMENT, models)
    assert report.status == "COMPLETED", report.reason
    assert "return n * 2\n" in source and "n + n" not in source  # as drawn one by one
    record = backend(report)
    if parallel == 1:
        assert len(units_of(models)) == 3  # the third passed: no fourth drawn
        assert gauge.peak["unit"] == 1
        assert [n for _, n in gauge.arrived] == [0, 1, 2]
    else:
        assert len(units_of(models)) == 4  # all sent at once, within the cap of 4
        assert gauge.peak["unit"] == 4
        assert gauge.arrived[-1] == ("unit", 0)  # the first drawn came back last
        assert any("1 candidate(s) drawn at once, after one passed" in r for r in record.repairs)
    # every call made, the ones not used too, is in the stage's usage
    made = models.chat.count("backend-engineering") + models.chat.count("whole")
    assert record.usage.calls == made


def test_no_more_calls_are_in_flight_than_the_setting_and_every_cap_holds(
    settings: Settings, tmp_path: Path
) -> None:
    # no example judges `shout`: every candidate is drawn and the model's tests choose
    bodies = ['text + "!"', 'text.upper() + "!"', 'f"{text.upper()}!"', "text.upper()"]
    tests = _tests((SAID, "('hi',)", "'HI!'"), (SAID, "('a b',)", "'A B!'"))
    results: dict[int, tuple[str, list[str], Gauge]] = {}
    for parallel in (1, 8):
        gauge = Gauge()

        def unit(call: Call) -> str:
            n = SEED.get() % 100
            return SHOUT.format(bodies[n % len(bodies)])

        at_once = min(3, parallel)  # parallel_candidates, within the model's slots
        scripted = script(
            slow(gauge, "unit", at_once, unit),
            tests=slow(gauge, "tests", at_once, lambda call: tests),
        )
        whole = slow(gauge, "whole", at_once, scripted)

        def answer(call: Call, scripted: Any = scripted, whole: Any = whole) -> str:
            return whole(call) if call.kind == "whole" else scripted(call)

        models = SlottedModels(answer, parallel)
        capped = settings.with_overrides(
            candidates=8, parallel_candidates=3, behaviour_test_calls=4, whole_module_candidates=3
        )
        folder = tmp_path / str(parallel)
        report, source = built(capped, folder, LIBRARY, models)
        assert report.status == "COMPLETED", report.reason
        assert len(units_of(models)) == 8  # the cap, never passed by calls in flight
        assert models.chat.count("backend-engineering", "tests") == 4  # its cap: too few kept
        assert models.chat.count("whole") == 3
        chosen = [r for r in backend(report).repairs if "kept candidate" in r]
        assert chosen, backend(report).repairs
        results[parallel] = source, chosen, gauge
    source, chosen, gauge = results[8]
    assert 'return text.upper() + "!"' in source  # the first of those the tests agree with
    assert (source, chosen) == results[1][:2]  # the same choice as one call at a time
    assert results[1][2].peak == Counter({"unit": 1, "tests": 1, "whole": 1})
    # min(parallel_candidates, parallel) of each kind at once
    assert gauge.peak == Counter({"unit": 3, "tests": 3, "whole": 3})


class Clock:
    """A clock that moves only when told."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize("parallel", [1, 2])
def test_past_the_time_cap_no_more_candidates_are_sent_and_those_in_flight_are_counted(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, parallel: int
) -> None:
    clock = Clock()

    class Deadlines:  # the drive's deadline on the test's clock
        @staticmethod
        def starting(cap_s: float) -> Deadline | None:
            return Deadline.starting(cap_s, clock)

    monkeypatch.setattr(driver, "Deadline", Deadlines)

    sent = threading.Barrier(parallel, timeout=60)

    def unit(call: Call) -> str:
        sent.wait()  # every slot's call is out before the first comes back
        clock.now = 10_000.0  # the time cap passes as the first candidates come back
        return OFF_BY_ONE

    models = SlottedModels(script(unit), parallel)
    capped = settings.with_overrides(candidates=8, run_deadline_s=3600)
    with Factory(capped, models=models) as factory:
        report = factory.start(StartRequest(REQUIREMENT, pipeline="lean", out_dir=tmp_path / "out"))
    assert report.status == "FAILED" and "time cap" in report.reason, report.reason
    assert len(units_of(models)) == parallel  # those sent before the cap passed, no more
    assert models.chat.count("whole") == 0  # past the cap: not asked
    record = backend(report)
    made = models.chat.count("backend-engineering") + models.chat.count("whole")
    assert record.usage.calls == made  # the call in flight when the cap passed is counted
