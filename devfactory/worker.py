"""Workers: processes that claim queued runs and drive them; one of them also keeps watch.

``devfactory worker`` runs one ``Worker``: it claims the oldest queued run
(``RunQueue.claim``), drives it with its lease held, and takes the next; an
idle worker sleeps until ``NOTIFY devfactory_queue`` or ``worker_poll_s``.
A run executes in exactly one worker at a time (the claim is one
compare-and-set under ``FOR UPDATE SKIP LOCKED``), and a worker that is told
to stop (SIGTERM, Ctrl-C) lets go of its run at the next step boundary and
hands it back to the queue. A run that delivers into a repository is cloned
by the worker that claims it, before its first step, in one of the
``repo_max_clones`` slots (``factory/queueing.py``); with none free the worker hands it
back for a few seconds and takes the next run. A worker has no console: it logs
one line per run event it sees (``devfactory.worker.events``, at INFO whatever
the root's level), with the run's id and the event's kind and short fields, in
the process's log format (``logs.py``).

Every worker runs a ``Watchdog`` thread, but only the one holding a Postgres
advisory lock sweeps (the lock is held by a connection, so a dead leader's
lock is released with its connection and another worker takes over). A sweep
requeues worker-driven runs whose lease ran out (their worker died: the next
worker resumes them from their checkpoint), fails the runs that died more
than ``max_run_crashes`` times, with the reason, ends the cancelled runs that
nobody drives, answers the requests past their deadline (their approval rule's
``deadline_s``, else ``pause_expiry_s``) by the rule's ``on_expiry`` (signed
``policy:expiry``), and archives the runs that
ended more than ``retention_days`` ago.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import FrameType
from typing import Any

import psycopg
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from devfactory.control import unattended
from devfactory.control.hitl import DecisionError
from devfactory.control.lifecycle import Phase
from devfactory.control.policy import load_policy
from devfactory.events import Event
from devfactory.factory.facade import Factory, RunBusyError, RunStateError
from devfactory.factory.reports import RunReport
from devfactory.logs import run_event_fields
from devfactory.redact import redact
from devfactory.store.lease import new_driver
from devfactory.store.queue import CHANNEL, WATCHDOG_LOCK, Swept

log = logging.getLogger(__name__)
# its lines per run event (INFO, written whatever the root's level unless set elsewhere)
events_log = logging.getLogger(f"{__name__}.events")


def expire_pauses(factory: Factory) -> list[str]:
    """Answer the requests past their deadline by their approval rule's ``on_expiry``.

    A request's deadline is its rule's ``deadline_s`` (``Pause.deadline_s``),
    counted from when its run paused; ``pause_expiry_s`` where it has none.
    Past it the request is EXPIRED and ``unattended.expired`` decides, signed
    ``policy:expiry``, saying how long it waited; the run goes back to the
    workers. A rule set to "wait" (or an "unattended" one whose rule waits, or
    a governance approval nobody pre-approved) and a hold leave it to a person.
    """
    policy = load_policy(factory.settings.runs.policy_file)
    default = factory.settings.runs.pause_expiry_s
    limits = [r.deadline_s for r in policy.approval_rules if r.deadline_s]
    limits += [default] if default > 0 else []
    if not limits:
        return []
    answered: list[str] = []
    now = datetime.now(UTC)
    for row, paused_at in factory.queue.expired_pauses(min(limits)):
        waited = (now - paused_at).total_seconds()
        for item in factory.pending(row.run_id):
            limit = item.pause.deadline_s or default
            if item.pause.kind == "hold" or limit <= 0 or waited < limit:
                continue
            ruled = item.pause.deadline_s not in (None, default)
            source = f"rule {item.pause.rule}" if ruled else "pause_expiry_s"
            decision = unattended.expired(
                item.pause,
                policy,
                waited_s=limit,
                deadline=source,
                project=row.project,
                pre_approval=factory.approvals.current(row.project),
            )
            if decision is None:
                continue
            try:
                factory.answer(
                    row.run_id,
                    decision,
                    interrupt_id=item.interrupt_id,
                    queue=True,
                    by_policy=True,
                )
            except (DecisionError, RunStateError, RunBusyError) as exc:
                log.info(
                    "watchdog: pause of run %s not expired: %s",
                    row.run_id,
                    exc,
                    extra={"run_id": row.run_id},
                )
                continue
            answered.append(row.run_id)
            break  # the run goes on; its other questions are asked again if still open
    return answered


def sweep(factory: Factory) -> Swept:
    """Requeue, fail or end the worker-driven runs nobody drives; answer expired pauses."""
    requeued: list[str] = []
    failed: list[tuple[str, str]] = []
    cap = factory.settings.runs.max_run_crashes
    for row in factory.queue.orphans():
        if row.cancel_by:
            factory.end_idle(
                row, Phase.CANCELLED, actor=row.cancel_by, reason=f"cancelled by {row.cancel_by}"
            )
        elif row.crashes >= cap:
            last = row.reason or "its worker stopped without a word"
            reason = f"its worker died {row.crashes + 1} times (cap {cap}); last: {last}"[:2000]
            if factory.end_idle(row, Phase.FAILED, actor="watchdog", reason=reason):
                failed.append((row.run_id, reason))
        elif factory.queue.requeue_crashed(row):
            log.warning(
                "watchdog: run %s lost its worker; queued again",
                row.run_id,
                extra={"run_id": row.run_id},
            )
            requeued.append(row.run_id)
    days = factory.settings.storage.retention_days
    archived = factory.queue.archive_finished(days) if days > 0 else []
    return Swept(tuple(requeued), tuple(failed), tuple(expire_pauses(factory)), tuple(archived))


class Watchdog(threading.Thread):
    """Sweep every ``watchdog_interval_s`` while this process holds the watchdog lock."""

    def __init__(self, factory: Factory, on_sweep: Callable[[Swept], None] | None = None) -> None:
        super().__init__(name="watchdog", daemon=True)
        self.factory = factory
        self.on_sweep = on_sweep or (lambda swept: None)
        self.leader = False
        self._halt = threading.Event()
        self._conn: psycopg.Connection[Any] | None = None

    def stop(self) -> None:
        """Stop sweeping and give up the lock."""
        self._halt.set()

    def _lead(self) -> bool:
        """Take (or keep) the watchdog lock on this thread's own connection."""
        try:
            if self._conn is None or self._conn.closed:
                self._conn = psycopg.connect(self.factory.dsn, autocommit=True)
                self.leader = False
            if not self.leader:
                row = self._conn.execute(
                    "SELECT pg_try_advisory_lock(hashtext(%s))", (WATCHDOG_LOCK,)
                ).fetchone()
                self.leader = bool(row and row[0])
            else:
                self._conn.execute("SELECT 1")  # the lock lives as long as this connection
        except psycopg.Error as exc:
            log.warning("watchdog: lost the database (%s); trying again", redact(str(exc)))
            self.leader = False
            if self._conn is not None:
                self._conn.close()
            self._conn = None
        return self.leader

    def run(self) -> None:
        """Sweep while leading, until stopped; a failed sweep is logged and tried again."""
        interval = self.factory.settings.service.watchdog_interval_s
        try:
            while not self._halt.is_set():
                if self._lead():
                    try:
                        self.on_sweep(sweep(self.factory))
                    except Exception as exc:  # noqa: BLE001 - the next sweep tries again
                        log.warning("watchdog: sweep failed: %s", redact(str(exc)))
                self._halt.wait(interval)
        finally:
            if self._conn is not None:
                self._conn.close()  # releases the lock


@dataclass
class Worker:
    """Claim queued runs and drive them, one at a time, until told to stop."""

    factory: Factory
    name: str = field(default_factory=new_driver)
    stopping: str = ""  # why this worker must let go of its run ("" while it works on)
    driven: list[str] = field(default_factory=list)  # runs this worker drove, in order
    current: str = ""  # the run it drives now ("" while it waits)

    def stop(self, why: str) -> None:
        """Stop claiming runs, and let go of the current one at its next step."""
        self.stopping = self.stopping or why

    def __post_init__(self) -> None:
        if events_log.level == logging.NOTSET:
            events_log.setLevel(logging.INFO)

    def _log_event(self, run_id: str, event: Event) -> None:
        """Log one line for a run event, with its run and kind (in every format)."""
        fields = {**run_event_fields(event), "run_id": run_id, "worker": self.name}
        events_log.info(event.event, extra=fields)

    def step(self) -> RunReport | None:
        """Claim and drive one queued run; None when the queue is empty."""
        driver = new_driver()
        row = self.factory.queue.claim(driver, self.factory.settings.runs.run_lease_seconds)
        if row is None:
            return None
        self.driven.append(row.run_id)
        log.info("worker %s: driving run %s", self.name, row.run_id, extra={"run_id": row.run_id})
        self.current = row.run_id
        try:
            return self.factory.drive_claimed(
                row,
                driver,
                stop=lambda: self.stopping,
                on_event=lambda event: self._log_event(row.run_id, event),
            )
        except (RunStateError, RunBusyError) as exc:
            # nothing ran: let go at once, so that the watchdog counts it and decides
            self.factory.runs.release(row.run_id, reason=str(exc), driver=driver)
            log.warning(
                "worker %s: run %s: %s", self.name, row.run_id, exc, extra={"run_id": row.run_id}
            )
            return None
        finally:
            self.current = ""

    def run(self, *, idle_exit_s: float | None = None, max_runs: int | None = None) -> int:
        """Work until stopped, idle for ``idle_exit_s`` or done ``max_runs``; return runs driven.

        A run whose drive raised is left to the watchdog (its driver released it
        with the reason, or its lease runs out); the worker goes on with the
        next one. A database that goes away is waited for: the worker listens
        again once it is back, and the watchdog requeues what was cut short.
        """
        poll = self.factory.settings.service.worker_poll_s
        idle_since = time.monotonic()
        while not self.stopping and not self._done(max_runs):
            try:
                with psycopg.connect(self.factory.dsn, autocommit=True) as listener:
                    listener.execute(f"LISTEN {CHANNEL}")
                    while not self.stopping and not self._done(max_runs):
                        before = len(self.driven)
                        try:
                            self.step()
                        except Exception as exc:  # noqa: BLE001 - one run must not stop it
                            log.error(
                                "worker %s: %s: %s",
                                self.name,
                                type(exc).__name__,
                                redact(str(exc)),
                            )
                        if len(self.driven) > before:  # it claimed one: look again at once
                            idle_since = time.monotonic()
                            continue
                        if idle_exit_s is not None and time.monotonic() - idle_since >= idle_exit_s:
                            return len(self.driven)
                        for _ in listener.notifies(timeout=poll, stop_after=1):
                            pass
            except psycopg.Error as exc:
                log.warning(
                    "worker %s: the database is unavailable (%s); waiting for it",
                    self.name,
                    redact(str(exc)).splitlines()[0] if str(exc) else type(exc).__name__,
                )
                time.sleep(min(max(poll, 0.5), 5.0))
        return len(self.driven)

    def _done(self, max_runs: int | None) -> bool:
        return max_runs is not None and len(self.driven) >= max_runs


def install_signal_handlers(worker: Worker, watchdog: Watchdog | None = None) -> None:
    """Stop gracefully on the first SIGTERM or SIGINT; a second SIGINT interrupts at once."""

    def graceful(signum: int, frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        if worker.stopping and signum == signal.SIGINT:
            raise KeyboardInterrupt
        worker.stop(f"worker {worker.name} received {name}")
        if watchdog is not None:
            watchdog.stop()

    signal.signal(signal.SIGTERM, graceful)
    signal.signal(signal.SIGINT, graceful)


class WorkerCollector(Collector):
    """A worker's own metrics, beside the factory's (``serve_metrics``)."""

    def __init__(self, worker: Worker, watchdog: Watchdog | None) -> None:
        self.worker, self.watchdog = worker, watchdog

    def collect(self) -> Iterator[Metric]:
        """Yield the runs it drove, whether it drives one now, whether it leads the watch."""
        labels = ["worker"]
        driven = CounterMetricFamily(
            "devfactory_worker_runs_driven", "Runs this worker claimed and drove.", labels=labels
        )
        driven.add_metric([self.worker.name], len(self.worker.driven))
        yield driven
        busy = GaugeMetricFamily(
            "devfactory_worker_driving", "1 while this worker drives a run.", labels=labels
        )
        busy.add_metric([self.worker.name], 1 if self.worker.current else 0)
        yield busy
        leads = GaugeMetricFamily(
            "devfactory_worker_watchdog_leader",
            "1 while this worker holds the watchdog lock.",
            labels=labels,
        )
        leads.add_metric([self.worker.name], 1 if self.watchdog and self.watchdog.leader else 0)
        yield leads


def serve_metrics(
    worker: Worker, watchdog: Watchdog | None, *, host: str, port: int
) -> tuple[Any, threading.Thread]:
    """Serve Prometheus metrics at ``http://host:port/``: the factory's, and the worker's.

    The factory's are the API's ``/metrics`` (read from Postgres, the same from
    any process); the worker's say what this process drove and does now.
    """
    from prometheus_client import CollectorRegistry, start_http_server

    from devfactory.api.metrics import FactoryCollector

    registry = CollectorRegistry()
    registry.register(FactoryCollector(worker.factory))
    registry.register(WorkerCollector(worker, watchdog))
    return start_http_server(port, addr=host, registry=registry)
