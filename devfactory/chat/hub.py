"""Runs for the chat: driven in background threads, their events kept and fanned out.

A run started from the chat belongs to the server, not to a browser tab:
closing the tab ends the session, not the run. Each run's events are kept in
order, so a session that attaches later (a reload, another tab, another
person) replays them and then follows the run live. Decisions go through the
same ``Factory.check_answer`` / ``Factory.answer`` as the CLI's.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from devfactory.control.hitl import Decision
from devfactory.events import Event, RunError
from devfactory.factory.facade import Factory, RunReport, new_run_id
from devfactory.factory.intake import StartRequest

log = logging.getLogger(__name__)


@dataclass
class Feed:
    """One run's events since this server began driving it, and whether it is driving now."""

    run_id: str
    events: list[Event] = field(default_factory=list)
    driving: bool = False
    changed: threading.Condition = field(default_factory=threading.Condition)


class BusyError(RuntimeError):
    """The run is already being driven by this server."""


class RunHub:
    """Start, answer and follow runs for chat sessions.

    Args:
        factory: the factory (one per server; its pool and graphs are shared).
        max_active: runs driven at once; more wait in line.
        out_root: where runs started from the chat write their artifacts.

    """

    def __init__(self, factory: Factory, *, max_active: int, out_root: Path) -> None:
        self.factory = factory
        self.out_root = out_root
        self._feeds: dict[str, Feed] = {}
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=max_active, thread_name_prefix="df-run")

    def close(self) -> None:
        """Wait for the runs being driven, then close the factory."""
        self._pool.shutdown(wait=True)
        self.factory.close()

    def feed(self, run_id: str) -> Feed:
        """Return the run's feed (empty for a run this server has not driven)."""
        with self._lock:
            return self._feeds.setdefault(run_id, Feed(run_id))

    def driving(self, run_id: str) -> bool:
        """Say whether this server is driving the run right now."""
        return self.feed(run_id).driving

    def _submit(self, feed: Feed, work: Callable[[Callable[[Event], None]], RunReport]) -> None:
        with feed.changed:
            if feed.driving:
                raise BusyError(f"run {feed.run_id} is already running")
            feed.driving = True

        def sink(event: Event) -> None:
            with feed.changed:
                feed.events.append(event)
                feed.changed.notify_all()

        def drive() -> None:
            try:
                work(sink)
            except Exception as exc:  # noqa: BLE001 - shown to whoever follows the run
                log.exception("run %s failed in the chat's worker", feed.run_id)
                sink(RunError(run_id=feed.run_id, message=f"{exc}"))
            finally:
                with feed.changed:
                    feed.driving = False
                    feed.changed.notify_all()

        self._pool.submit(drive)

    def start(self, requirement: str, *, pipeline: str, project: str, owner: str) -> str:
        """Start a run in the background; return its id at once."""
        run_id = new_run_id()
        feed = self.feed(run_id)
        self._submit(
            feed,
            lambda sink: self.factory.start(
                StartRequest(
                    requirement,
                    pipeline=pipeline,
                    project=project,
                    owner=owner,
                    run_id=run_id,
                    out_dir=self.out_root / run_id,
                ),
                on_event=sink,
            ),
        )
        return run_id

    def answer(
        self, run_id: str, decision: Decision, *, interrupt_id: str, kind: str | None = None
    ) -> None:
        """Check ``decision`` now (raising what ``check_answer`` raises), then resume the run.

        A run this server drives already is busy first: once an answer resumed it, its
        state moves on in the background, and a second answer is told it runs, whatever
        state the driver has reached by then.
        """
        feed = self.feed(run_id)
        with feed.changed:
            if feed.driving:
                raise BusyError(f"run {run_id} is already running")
        self.factory.check_answer(run_id, decision, interrupt_id=interrupt_id, kind=kind)
        self._submit(
            feed,
            lambda sink: self.factory.answer(
                run_id, decision, interrupt_id=interrupt_id, kind=kind, on_event=sink
            ),
        )

    def resume(self, run_id: str) -> None:
        """Resume an interrupted run (its process died) in the background."""
        self._submit(self.feed(run_id), lambda sink: self.factory.resume(run_id, on_event=sink))

    async def follow(self, run_id: str, *, since: int = 0) -> AsyncIterator[tuple[int, Event]]:
        """Yield the run's events from index ``since``, live, until it stops being driven."""
        feed = self.feed(run_id)
        seen = since
        while True:
            with feed.changed:
                fresh = feed.events[seen:]
                active = feed.driving
            for event in fresh:
                seen += 1
                yield seen, event
            if not fresh and not active:
                return
            if not fresh:
                await asyncio.to_thread(_wait, feed, seen)


def _wait(feed: Feed, seen: int, timeout: float = 1.0) -> None:
    with feed.changed:
        if len(feed.events) <= seen and feed.driving:
            feed.changed.wait(timeout)
