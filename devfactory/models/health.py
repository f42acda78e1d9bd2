"""Provider health: every model call's outcome, a score and a circuit breaker per model.

Each link of an alias's chain (``ollama:qwen2.5-coder:7b``, ``embedded:...``)
is watched by its label, not by its provider name: two models on one Ollama
server differ in speed, in whether they are pulled at all and in how often a
reply runs past ``model_call_timeout_s``, and the chain's links are labels too.
One label has one record in the process, whichever aliases name it.

A record keeps the last ``health_window`` calls no older than
``health_window_s`` (latency and outcome: ok, error or timeout). Its score, in
[0, 1], with ``n`` calls in the window::

    score = 1                                   when n == 0 (no evidence: trusted)
    score = (1 - w) * ok / n + w * s / (s + p50)  otherwise

where ``p50`` is the window's median latency (a timeout counts at its full
length), ``s`` is ``health_slow_s`` (the latency that halves the speed term)
and ``w`` is ``health_latency_weight``. An open breaker scores 0. A closed one
scoring under ``health_min_score`` over at least ``health_min_calls`` calls is
*degraded*: its alias tries it after the healthy links. It gets calls again
when its failures are older than ``health_window_s``.

The breaker: *closed* lets every call through; ``health_failures_to_open``
failures in a row (errors and timeouts) open it. *Open* refuses calls at once
(``CircuitOpenError``) for ``health_cooldown_s``; then it is *half-open* and lets
exactly one trial call through. The trial's success closes it and clears the
window (a recovered provider starts with a clean record); its failure opens it
for another cool-down. The clock is injectable, so tests need no sleeps.

``WatchedModel`` is the runnable that puts one link's calls through the book,
and ``HealthPublisher`` hands snapshots to a sink (the database) off the call
path: at most once every ``health_snapshot_s``, and soon after a breaker changes.

Why one module: the record, its breaker, the runnable that feeds it and the
publisher that reports it are one mechanism. Every transition happens under the
book's one lock, and every number a reader is shown is computed here.
"""

from __future__ import annotations

import logging
import statistics
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from enum import StrEnum
from typing import Any, Literal

from langchain_core.messages import AIMessage
from langchain_core.runnables import Runnable, RunnableConfig

from devfactory.redact import redact
from devfactory.settings import FlatSettings, Settings

log = logging.getLogger(__name__)

Outcome = Literal["ok", "error", "timeout"]
Clock = Callable[[], float]


class Breaker(StrEnum):
    """A circuit breaker's state."""

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class Standing(StrEnum):
    """Where a link stands for routing: tried in its place, after the healthy, or not at all."""

    HEALTHY = "healthy"
    DEGRADED = "degraded"
    BLOCKED = "blocked"


class CircuitOpenError(RuntimeError):
    """A link's breaker is open (or its one half-open trial is in flight): not called."""


def _setting(name: str) -> Any:
    """Return the default of the setting ``health_<name>``: the settings keep the one default."""
    return FlatSettings.model_fields[f"health_{name}"].default


@dataclass(frozen=True)
class HealthPolicy:
    """The numbers a book judges by: each is the setting ``health_<field>`` (bounded there)."""

    failures_to_open: int = _setting("failures_to_open")
    cooldown_s: float = _setting("cooldown_s")
    window: int = _setting("window")
    window_s: float = _setting("window_s")
    min_score: float = _setting("min_score")
    min_calls: int = _setting("min_calls")
    slow_s: float = _setting("slow_s")
    latency_weight: float = _setting("latency_weight")

    @classmethod
    def from_settings(cls, settings: Settings) -> HealthPolicy:
        """Read the policy from the ``health_*`` settings."""
        return cls(**{f.name: getattr(settings.serving, f"health_{f.name}") for f in fields(cls)})


@dataclass(frozen=True)
class ProviderHealth:
    """One label's health as a reader sees it (a snapshot: it does not change)."""

    label: str
    breaker: Breaker
    score: float
    standing: Standing
    calls: int  # since this process started
    errors: int  # failures that were not timeouts
    timeouts: int
    failures: int  # in a row, now
    p50_s: float | None  # the window's median latency (None: no call in the window)
    retry_in_s: float | None  # while open: seconds until the half-open trial
    last_error: str

    def as_row(self) -> dict[str, Any]:
        """Return the snapshot as plain values (the database's row, the API's body)."""
        return {
            "label": self.label,
            "breaker": self.breaker.value,
            "score": round(self.score, 4),
            "standing": self.standing.value,
            "calls": self.calls,
            "errors": self.errors,
            "timeouts": self.timeouts,
            "failures": self.failures,
            "p50_ms": None if self.p50_s is None else round(self.p50_s * 1000),
            "retry_in_s": None if self.retry_in_s is None else round(self.retry_in_s, 1),
            "last_error": self.last_error,
        }


@dataclass
class _Record:
    """One label's mutable record (guarded by the book's lock)."""

    calls: deque[tuple[float, float, Outcome]] = field(default_factory=deque)
    breaker: Breaker = Breaker.CLOSED
    failures: int = 0
    opened_at: float = 0.0
    trial_since: float | None = None  # a half-open trial in flight since
    total: int = 0
    errors: int = 0
    timeouts: int = 0
    last_error: str = ""


def is_timeout(exc: BaseException) -> bool:
    """Say whether ``exc`` is a call that ran out of time (any client's timeout class)."""
    if isinstance(exc, TimeoutError):
        return True
    return any("Timeout" in cls.__name__ for cls in type(exc).__mro__)


class HealthBook:
    """Per-label call records, scores and circuit breakers, safe to share between threads."""

    def __init__(self, policy: HealthPolicy | None = None, *, clock: Clock = time.monotonic):
        self.policy = policy or HealthPolicy()
        self.clock = clock
        self._records: dict[str, _Record] = {}
        self._lock = threading.Lock()
        self._listeners: list[Callable[[bool], None]] = []

    def subscribe(self, listener: Callable[[bool], None]) -> None:
        """Call ``listener(breaker_changed)`` after each recorded call (keep it cheap)."""
        with self._lock:
            self._listeners.append(listener)

    def unsubscribe(self, listener: Callable[[bool], None]) -> None:
        """Stop calling ``listener``."""
        with self._lock:
            if listener in self._listeners:
                self._listeners.remove(listener)

    def _record(self, label: str) -> _Record:
        return self._records.setdefault(label, _Record())

    def _trim(self, rec: _Record, now: float) -> None:
        while rec.calls and (
            len(rec.calls) > self.policy.window or now - rec.calls[0][0] > self.policy.window_s
        ):
            rec.calls.popleft()

    def _half_open_due(self, rec: _Record, now: float) -> bool:
        return rec.breaker is Breaker.OPEN and now - rec.opened_at >= self.policy.cooldown_s

    def admit(self, label: str) -> bool:
        """Say whether a call to ``label`` may go out now; reserve the half-open trial if so."""
        with self._lock:
            rec, now = self._record(label), self.clock()
            if self._half_open_due(rec, now):
                rec.breaker = Breaker.HALF_OPEN
                rec.trial_since = None
            if rec.breaker is Breaker.CLOSED:
                return True
            if rec.breaker is Breaker.OPEN:
                return False
            # half-open: one trial at a time (a trial lost for a cool-down frees the slot)
            stale = rec.trial_since is not None and now - rec.trial_since >= self.policy.cooldown_s
            if rec.trial_since is None or stale:
                rec.trial_since = now
                return True
            return False

    def record(self, label: str, outcome: Outcome, seconds: float, error: str = "") -> None:
        """Record one finished call of ``label`` and move its breaker."""
        with self._lock:
            rec, now = self._record(label), self.clock()
            before = rec.breaker
            rec.total += 1
            if outcome == "ok":
                rec.failures = 0
                if rec.breaker is not Breaker.CLOSED:
                    rec.calls.clear()  # recovered: a clean record from here
                rec.breaker, rec.trial_since = Breaker.CLOSED, None
            else:
                rec.failures += 1
                rec.errors += outcome == "error"
                rec.timeouts += outcome == "timeout"
                rec.last_error = redact(error)[:300]
                if rec.breaker is Breaker.HALF_OPEN or (
                    rec.breaker is Breaker.CLOSED and rec.failures >= self.policy.failures_to_open
                ):
                    rec.breaker, rec.opened_at, rec.trial_since = Breaker.OPEN, now, None
            rec.calls.append((now, max(0.0, seconds), outcome))
            self._trim(rec, now)
            changed = rec.breaker is not before
            listeners = list(self._listeners)
        if changed:
            log.warning("model %s: circuit %s -> %s", label, before.value, rec.breaker.value)
        for listener in listeners:
            try:
                listener(changed)
            except Exception:  # noqa: BLE001 - a listener never fails a model call
                log.exception("a health listener failed")

    def release(self, label: str) -> None:
        """Free a half-open trial that ended without an outcome (the caller was cancelled)."""
        with self._lock:
            rec = self._record(label)
            if rec.breaker is Breaker.HALF_OPEN:
                rec.trial_since = None

    def _score(self, rec: _Record) -> tuple[float, float | None]:
        if rec.breaker is Breaker.OPEN:
            latencies = [s for _, s, _ in rec.calls]
            return 0.0, statistics.median(latencies) if latencies else None
        if not rec.calls:
            return 1.0, None
        ok = sum(1 for _, _, outcome in rec.calls if outcome == "ok")
        p50 = statistics.median(s for _, s, _ in rec.calls)
        w, slow = self.policy.latency_weight, self.policy.slow_s
        return (1 - w) * ok / len(rec.calls) + w * slow / (slow + p50), p50

    def _standing(self, rec: _Record, score: float, now: float) -> Standing:
        if rec.breaker is Breaker.OPEN and not self._half_open_due(rec, now):
            return Standing.BLOCKED
        if rec.breaker is Breaker.HALF_OPEN and rec.trial_since is not None:
            stale = now - rec.trial_since >= self.policy.cooldown_s
            return Standing.HEALTHY if stale else Standing.BLOCKED
        if rec.breaker is not Breaker.CLOSED:
            return Standing.HEALTHY  # its trial is due: it gets its place back to try
        low = score < self.policy.min_score and len(rec.calls) >= self.policy.min_calls
        return Standing.DEGRADED if low else Standing.HEALTHY

    def health(self, label: str) -> ProviderHealth:
        """Return ``label``'s health now."""
        with self._lock:
            now = self.clock()
            rec = self._records.get(label) or _Record()
            self._trim(rec, now)
            score, p50 = self._score(rec)
            breaker, retry = rec.breaker, None
            if self._half_open_due(rec, now):
                breaker = Breaker.HALF_OPEN  # its trial goes out with the next call
            elif rec.breaker is Breaker.OPEN:
                retry = max(0.0, rec.opened_at + self.policy.cooldown_s - now)
            return ProviderHealth(
                label=label,
                breaker=breaker,
                score=score,
                standing=self._standing(rec, score, now),
                calls=rec.total,
                errors=rec.errors,
                timeouts=rec.timeouts,
                failures=rec.failures,
                p50_s=p50,
                retry_in_s=retry,
                last_error=rec.last_error,
            )

    def snapshot(self) -> list[ProviderHealth]:
        """Return every label's health that has a record, by label."""
        with self._lock:
            labels = sorted(self._records)
        return [self.health(label) for label in labels]


class WatchedModel(Runnable[Any, Any]):
    """One chain link whose calls go through a ``HealthBook``.

    An open breaker makes it raise ``CircuitOpenError`` at once, so LangChain's
    ``with_fallbacks`` goes on to the next link. Each call's latency and outcome
    are recorded; a reply is labelled with the link that served it
    (``response_metadata["model_name"]``), so costs are priced for the model
    that answered, whichever place it had in the chain.
    """

    def __init__(
        self,
        inner: Runnable[Any, Any],
        label: str,
        book: HealthBook,
    ) -> None:
        self.inner = inner
        self.label = label
        self.book = book
        self.name = f"watched:{label}"

    def _admit(self) -> float:
        if not self.book.admit(self.label):
            retry = self.book.health(self.label).retry_in_s
            when = f"; it is tried again in {retry:.0f} s" if retry else ""
            raise CircuitOpenError(f"{self.label}: circuit open after repeated failures{when}")
        return self.book.clock()

    @contextmanager
    def _watching(self) -> Iterator[float]:
        """Admit a call (its start on the book's clock) and record how it failed or was let go."""
        started = self._admit()
        try:
            yield started
        except Exception as exc:
            self._failed(started, exc)
            raise
        except BaseException:  # cancelled, interrupted, or its stream closed early
            self.book.release(self.label)
            raise

    def _failed(self, started: float, exc: Exception) -> None:
        outcome: Outcome = "timeout" if is_timeout(exc) else "error"
        detail = f"{type(exc).__name__}: {exc}"
        self.book.record(self.label, outcome, self.book.clock() - started, detail)

    def _served(self, started: float, output: Any) -> Any:
        self.book.record(self.label, "ok", self.book.clock() - started)
        if isinstance(output, AIMessage):
            meta = dict(output.response_metadata or {})
            meta["provider_model_name"] = meta.get("model_name") or meta.get("model") or ""
            meta["model_name"] = self.label
            return output.model_copy(update={"response_metadata": meta})
        return output

    def invoke(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> Any:
        """Call the link unless its breaker is open; record how it went."""
        with self._watching() as started:
            output = self.inner.invoke(input, config, **kwargs)
        return self._served(started, output)

    async def ainvoke(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> Any:
        """Call the link asynchronously unless its breaker is open; record how it went."""
        with self._watching() as started:
            output = await self.inner.ainvoke(input, config, **kwargs)
        return self._served(started, output)

    def stream(
        self, input: Any, config: RunnableConfig | None = None, **kwargs: Any
    ) -> Iterator[Any]:
        """Stream the link's reply unless its breaker is open; record how it went."""
        with self._watching() as started:
            yield from self.inner.stream(input, config, **kwargs)
        self.book.record(self.label, "ok", self.book.clock() - started)

    async def astream(
        self, input: Any, config: RunnableConfig | None = None, **kwargs: Any
    ) -> AsyncIterator[Any]:
        """Stream the link's reply asynchronously unless its breaker is open; record it."""
        with self._watching() as started:
            async for chunk in self.inner.astream(input, config, **kwargs):
                yield chunk
        self.book.record(self.label, "ok", self.book.clock() - started)


Sink = Callable[[list[ProviderHealth]], None]


class HealthPublisher:
    """Hand a book's snapshots to ``sink`` from a thread of its own, throttled.

    A recorded call only sets an event; the thread writes at most once every
    ``interval_s``, and at once (within ``min_gap_s``) when a breaker changed.
    A sink that fails is logged and tried again at the next change: it never
    reaches a model call.
    """

    def __init__(
        self, book: HealthBook, sink: Sink, interval_s: float, *, min_gap_s: float = 0.2
    ) -> None:
        self.book, self.sink = book, sink
        self.interval_s, self.min_gap_s = interval_s, min(min_gap_s, interval_s)
        self._wake = threading.Event()  # a call was recorded
        self._nudge = threading.Event()  # a breaker changed, or closing: cut the wait short
        self._stopping = False
        self._urgent = False
        # One flush at a time, snapshot and write together: a snapshot taken
        # earlier must never be written after a later one (the thread's write
        # landing after a caller's ``flush`` put back an older count).
        self._writing = threading.Lock()
        self._thread = threading.Thread(target=self._loop, name="health-publisher", daemon=True)
        book.subscribe(self._changed)
        self._thread.start()

    def _changed(self, breaker_changed: bool) -> None:
        if breaker_changed:
            self._urgent = True
            self._nudge.set()
        self._wake.set()

    def _loop(self) -> None:
        last = -float("inf")
        while not self._stopping:
            self._wake.wait()
            while not self._stopping:
                gap = self.min_gap_s if self._urgent else self.interval_s
                remaining = last + gap - time.monotonic()
                if remaining <= 0:
                    break
                self._nudge.wait(remaining)
                self._nudge.clear()
            if self._stopping:
                break
            self._wake.clear()
            self._urgent = False
            if not self.flush():
                self._wake.set()  # tried again after the interval, or at the next change
            last = time.monotonic()

    def flush(self) -> bool:
        """Write the book's snapshot now; return whether the sink took it."""
        try:
            with self._writing:
                self.sink(self.book.snapshot())
        except Exception as exc:  # noqa: BLE001 - health is reported, never fatal
            log.warning("could not publish model health: %s", redact(str(exc))[:300])
            return False
        return True

    def close(self) -> None:
        """Stop the thread and write a last snapshot."""
        self.book.unsubscribe(self._changed)
        self._stopping = True
        self._nudge.set()
        self._wake.set()
        self._thread.join(timeout=5)
        self.flush()
