"""Several calls of one unit in flight at once, their results taken in the order they were drawn.

The build loop draws a unit's candidates, the model's tests of it and the
whole module's answers; a model that serves several calls at once (a server
with slots, Ollama's ``OLLAMA_NUM_PARALLEL``, a cloud) decodes them together.
``in_order`` sends at most ``width`` of them at a time and hands each result
back by its draw index, never by when it arrived, so what the caller keeps
does not depend on which reply came first. Whether to draw the next one is
asked before it is sent (``more``): a cap is never passed by calls already in
flight, and a stop (the run's time cap, a candidate good enough) sends nothing
more; what was already sent is still handed back, so the caller counts what
it cost. With a width of 1 nothing runs in another thread: each call is made
when the one before it was taken, exactly as a loop makes them.
"""

from __future__ import annotations

import contextvars
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

from devfactory.models.router import ResolvedModel
from devfactory.settings import Settings

T = TypeVar("T")


def at_once(settings: Settings, resolved: ResolvedModel) -> int:
    """Return how many of one unit's calls may be in flight: the setting, within the model's."""
    return max(1, min(settings.generation.parallel_candidates, resolved.parallel))


def in_order(asks: Iterable[Callable[[], T]], width: int, more: Callable[[], bool]) -> Iterator[T]:
    """Yield each ask's result in the order drawn, with at most ``width`` asks in flight.

    ``more()`` is asked before each ask is sent, once every result taken
    before then was handed back; once it says no, nothing more is sent. Each ask
    runs in a copy of the caller's context (LangChain's callbacks, tracing). An
    ask that raises raises here, in its turn.
    """
    if width <= 1:
        for ask in asks:
            if not more():
                return
            yield ask()
        return
    pool = ThreadPoolExecutor(max_workers=width, thread_name_prefix="devfactory-call")
    pending: deque[Future[T]] = deque()
    left = iter(asks)
    drawing = True
    try:
        while True:
            while drawing and len(pending) < width:
                following = next(left, None) if more() else None
                if following is None:  # none left, or told to stop: nothing more is sent
                    drawing = False
                    break
                pending.append(pool.submit(contextvars.copy_context().run, following))
            if not pending:
                return
            yield pending.popleft().result()
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
