"""Live run events over Server-Sent Events, replayable with ``Last-Event-ID``.

Every event a drive shows is kept in ``devfactory_events`` (``store/event_feed.py``)
with an increasing id, and announced with ``NOTIFY devfactory_events``. One
``Listener`` per API process holds the only LISTEN connection and wakes the
streams of the run that changed; a stream sends what came after the id the
client last saw (the ``Last-Event-ID`` header, or ``?after=``), then waits.
It ends after the run's final event (a drive that finished COMPLETED, FAILED,
REJECTED or CANCELLED); a paused run's stream stays open, with keep-alive
comments, until the run goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import defaultdict
from collections.abc import AsyncIterator
from typing import Annotated, Any

import psycopg
from fastapi import APIRouter, Header, Query, Request
from fastapi.concurrency import run_in_threadpool
from sse_starlette.sse import EventSourceResponse

from devfactory.api.auth import Reader, Rules, visible
from devfactory.api.errors import ERRORS, ApiError
from devfactory.api.finished import FinishedRuns
from devfactory.api.run_routes import factory_of
from devfactory.control.lifecycle import TERMINAL
from devfactory.redact import redact
from devfactory.store.event_feed import CHANNEL
from devfactory.store.runs_table import CHANGED_CHANNEL

log = logging.getLogger(__name__)
router = APIRouter(tags=["runs"], responses=ERRORS)
_ENDED = {p.value for p in TERMINAL}
BATCH = 200  # events read per query


class Listener:
    """Hold one LISTEN connection: wake the streams waiting on a run, forget changed runs.

    Besides the events, it hears every change of a run (``store.runs_table.CHANGED_CHANNEL``)
    and drops that run from ``finished``, which serves nothing while it is not heard.
    """

    def __init__(self, dsn: str, finished: FinishedRuns | None = None) -> None:
        self.dsn = dsn
        self.waiting: dict[str, set[asyncio.Event]] = defaultdict(set)
        self.finished = finished
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Listen in the background until ``stop``."""
        self._task = asyncio.create_task(self._listen(), name="event-listener")

    async def stop(self) -> None:
        """Stop listening."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._hearing(False)

    async def _listen(self) -> None:
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(self.dsn, autocommit=True) as conn:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    await conn.execute(f"LISTEN {CHANGED_CHANNEL}")
                    self._hearing(True)
                    self._wake_all()  # anything missed while (re)connecting
                    async for notice in conn.notifies():
                        if notice.channel == CHANGED_CHANNEL:
                            if self.finished is not None:
                                self.finished.changed(notice.payload)
                            continue
                        for event in self.waiting.get(notice.payload, ()):
                            event.set()
            except asyncio.CancelledError:
                self._hearing(False)
                raise
            except Exception as exc:  # noqa: BLE001 - streams fall back to polling meanwhile
                self._hearing(False)
                log.warning("event listener: %s; reconnecting", redact(str(exc)))
                await asyncio.sleep(1.0)

    def _hearing(self, live: bool) -> None:
        if self.finished is not None:
            self.finished.hearing(live)

    def _wake_all(self) -> None:
        for events in self.waiting.values():
            for event in events:
                event.set()

    @contextlib.contextmanager
    def watch(self, run_id: str) -> Any:
        """Yield an ``asyncio.Event`` set whenever ``run_id`` has new events."""
        event = asyncio.Event()
        self.waiting[run_id].add(event)
        try:
            yield event
        finally:
            self.waiting[run_id].discard(event)
            if not self.waiting[run_id]:
                self.waiting.pop(run_id, None)


@router.get(
    "/runs/{run_id}/events",
    summary="Follow a run's events (Server-Sent Events)",
    response_class=EventSourceResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "the event stream"}},
)
async def run_events(
    run_id: str,
    person: Reader,
    rules: Rules,
    request: Request,
    last_event_id: Annotated[str | None, Header(max_length=30)] = None,
    after: Annotated[int, Query(ge=0, description="Send the events after this id.")] = 0,
) -> EventSourceResponse:
    """Stream the run's typed events in order: ``id`` is the feed id, ``event`` the kind."""
    factory = factory_of(request)
    visible(await run_in_threadpool(factory.get, run_id), person, rules)
    if last_event_id:
        try:
            after = max(after, int(last_event_id))
        except ValueError:
            raise ApiError(400, "Last-Event-ID is an event id this API sent") from None
    listener: Listener = request.app.state.listener
    poll = request.app.state.settings.service.api_events_poll_s

    async def stream() -> AsyncIterator[dict[str, Any]]:
        seen = after
        with listener.watch(run_id) as changed:
            while True:
                changed.clear()
                batch = await run_in_threadpool(factory.feed.since, run_id, seen, BATCH)
                for item in batch:
                    seen = item.id
                    yield {"id": str(item.id), "event": item.kind, "data": json.dumps(item.body)}
                    if item.kind == "run_finished" and item.body.get("status") in _ENDED:
                        return
                if len(batch) == BATCH:
                    continue
                if not batch:
                    row = await run_in_threadpool(factory.get, run_id)
                    if row.status in _ENDED:
                        return  # it ended before the events the client asked for
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(changed.wait(), timeout=poll)

    return EventSourceResponse(stream(), ping=15, send_timeout=30)
