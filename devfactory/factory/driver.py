"""Drive runs in this process: start or resume one, stream its graph step by step under a lease.

This is the edge where durability, context, logging and tracing are attached;
graph nodes never open connections themselves. Every event the graph emits
goes to the run's ``RunRecorder`` (runs table, audit log, artifacts), from
inside the node through ``Context.record``, and then to the caller's
``on_event``. The driver records its own moves: PAUSED when the graph stops
at an interrupt, CANCELLED when someone cancelled the run, and (through
``Answers``) the way back when a person's decision resumes it. An unattended
run's pauses are answered inside the graph by the policy's rules; their
decisions reach the audit log through the recorder as a person's do.

The operator's controls (``switchboard.py``) are asked at the same step
boundaries as a cancellation: the emergency stop, or a hold on the run's
project, hands the run back to the queue with its checkpoint (workers claim
it once the hold is released); a drive that would begin while one holds hands
it back before its first step.

Two more stops keep what a run spent and built when it cannot run to its end.
Past its time cap (``run_deadline_s``, counted from each drive's start) a run
ends FAILED at the next step boundary, as a run out of budget does (the
stages' budget check and the build loop see the cap too, inside a long step).
Asked to stop by its process (``interrupt``: the CLI's SIGTERM) it stops at the
next step boundary and stays resumable, shown INTERRUPTED. Either way, and
when the process is interrupted at once (KeyboardInterrupt), ``run.json`` and
``SUMMARY.md`` say what it spent and which files it kept.

Why one module: a drive is one loop over the graph's stream, and every way it
stops (a cancellation, a worker letting go, a hold, the time cap, an interrupt,
a failure) is decided at that loop's step boundaries and recorded by its end;
split, the reason a drive halted and the record of it would live apart.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from langchain_core.runnables import RunnableConfig
from langgraph.errors import GraphRecursionError
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Command

from devfactory.control.deadline import Deadline
from devfactory.control.lifecycle import TERMINAL, Phase
from devfactory.events import Event, RunCreated, RunError, RunFinished, RunStarted
from devfactory.factory.intake import RunRequest, StartRequest, new_run
from devfactory.factory.queries import Queries
from devfactory.factory.recorder import RunRecorder, once, phase_changed
from devfactory.factory.reports import Pending, RunReport, ShownRun, checked_text, pending_of
from devfactory.factory.stores import Graphs, Stores
from devfactory.factory.switchboard import Switchboard
from devfactory.graph.context import Context
from devfactory.graph.oversight import metering
from devfactory.graph.state import RunState
from devfactory.logs import bound_run
from devfactory.models.router import ModelSource
from devfactory.settings import Settings
from devfactory.store.controls import HaltedError
from devfactory.store.event_feed import EventFeed
from devfactory.store.lease import Lease, new_driver
from devfactory.store.runs_table import RunBusyError, RunRow, RunStateError
from devfactory.store.views import shown
from devfactory.tracing import RunTracer

log = logging.getLogger(__name__)
EventSink = Callable[[Event], None]
INTERRUPTED = "INTERRUPTED"  # how a run whose drive stopped, resumable, is shown
# Asked at every step boundary of a drive: why to stop now ("" to go on). A worker
# that is shutting down says so, and hands the run back to the queue.
StopCheck = Callable[[], str]
# What a drive feeds the graph: a new run's request, a person's answers, or nothing (resume).
Feed = RunRequest | Command | None


@dataclass(frozen=True)
class _Halt:
    """Why a drive's stream ended before the graph did ("" each: it ran to its end)."""

    cancelled: str = ""  # who cancelled the run
    let_go: str = ""  # why this process hands the run back to the queue
    held: str = ""  # the operator's hold that sends it back to the queue (the stop, its project)
    failure: str = ""  # why the graph failed (its recursion limit)
    late: str = ""  # the drive's time cap was reached: the run ends FAILED, as out of budget
    interrupted: str = ""  # why this process stops driving it, leaving it resumable


class _Sinks:
    """Where one drive's events go: the recorder, the live feed, the trace and the caller."""

    def __init__(
        self,
        run_id: str,
        feed: EventFeed,
        recorder: RunRecorder,
        tracer: RunTracer | None,
        caller: EventSink | None,
    ) -> None:
        self.run_id, self.feed, self.recorder, self.tracer = run_id, feed, recorder, tracer
        self.caller: EventSink = caller or (lambda event: None)
        self._lock = threading.Lock()  # parallel stages emit from their own threads

    def publish(self, event: Event) -> None:
        """Append ``event`` to the live feed and the trace."""
        self.feed.append(self.run_id, event)
        if self.tracer is not None:
            self.tracer.event(event)
            if isinstance(event, RunFinished):
                self.tracer.finish(event.status, event.reason)

    def keep(self, event: Event) -> None:
        """Record a node's event and publish it (before the node's writes are saved)."""
        with self._lock:
            self.recorder.record(event)
            self.publish(event)

    def show(self, event: Event) -> None:
        """Publish one of the driver's own events and hand it to the caller."""
        self.publish(event)
        self.caller(event)


@dataclass(frozen=True)
class _Drive:
    """One drive of one run: the run, its graph and thread, and where its events go."""

    row: RunRow
    graph: CompiledStateGraph[Any, Any, Any, Any]
    config: RunnableConfig
    sinks: _Sinks


def _step_ended(running: set[str], task: dict[str, Any]) -> bool:
    """Track a top-level task event; return True when no step of the pipeline is under way.

    Then every started step has ended, its writes are saved and the next has not
    begun: a drive that stops here loses nothing.
    """
    if "input" in task:
        running.add(task["id"])
        return False
    running.discard(task["id"])
    return not running


class RunDriver:
    """Start, resume and drive runs in this process, one drive per claimed lease."""

    def __init__(
        self,
        settings: Settings,
        stores: Stores,
        graphs: Graphs,
        queries: Queries,
        models: ModelSource,
        tracing: Any | None,
        switchboard: Switchboard,
    ) -> None:
        self.settings, self.stores, self.graphs, self.queries = settings, stores, graphs, queries
        self.models, self.tracing = models, tracing
        self.switchboard = switchboard  # the operator's controls and incidents
        self.stopping = ""  # why this process asked its drives to stop ("" while they go on)
        self._under_way: dict[str, _Drive] = {}  # drives whose stop is not recorded yet
        self._lock = threading.Lock()

    def interrupt(self, why: str) -> None:
        """Ask every drive of this process to stop at its next step boundary (a SIGTERM).

        Its run keeps its checkpoint and shows INTERRUPTED (``devfactory resume``
        goes on with it); its ``run.json`` and ``SUMMARY.md`` say what it spent.
        """
        self.stopping = self.stopping or why

    def stop_now(self, why: str) -> list[str]:
        """Record every drive under way as interrupted, from its last saved step; return their runs.

        For a process about to end at once (the CLI's second SIGTERM): called from
        another thread than the drives', it writes each run's ``run.json`` and
        ``SUMMARY.md`` and releases it, resumable; the drives then record nothing more.
        """
        with self._lock:
            drives = list(self._under_way.values())
            self._under_way.clear()
        return [d.row.run_id for d in drives if self._kept_interrupted(d, why)]

    def _taken(self, drive: _Drive) -> bool:
        """Take ``drive`` off the drives under way; False when ``stop_now`` took it first."""
        with self._lock:
            return self._under_way.pop(drive.row.run_id, None) is not None

    def recorder(self, row: RunRow, driver: str | None = None) -> RunRecorder:
        """Return a recorder for ``row`` (with memory when it is enabled)."""
        memory = self.stores.memory() if self.settings.recall.memory_enabled else None
        watch = self.switchboard.watch(row)
        return RunRecorder(self.stores.runs, self.stores.audit, row, memory, driver, watch)

    def log_created(self, row: RunRow, created: RunCreated, owner: str) -> None:
        """Append a new run's creation to its audit log and its live feed."""
        self.recorder(row).log(created, actor=owner or "factory", key="run_created")
        self.stores.feed.append(row.run_id, created)

    def start(self, asked: StartRequest, *, on_event: EventSink | None = None) -> RunReport:
        """Start a new run and drive it in this process until it ends or waits for a person.

        Refused (``HaltedError``) while the emergency stop holds; a run of a project
        on hold is created and waits in the queue. ``asked.repo`` is the caller's
        to check out first (``Factory.start``).
        """
        self.switchboard.check_new()
        project = checked_text(asked.project, "the project")
        new = new_run(self.settings, asked, project_caps=self.stores.caps.current(project))
        driver = new_driver()
        self.stores.runs.create(
            *new.columns(), driver=driver, lease_s=self.settings.runs.run_lease_seconds
        )
        row = self.queries.get(new.run_id)
        self.log_created(row, new.created, new.request.owner)
        return self.drive(row, driver, new.request, on_event)

    def resume(self, run_id: str, *, on_event: EventSink | None = None) -> RunReport:
        """Continue an interrupted run from its last checkpoint; finished stages are not rerun."""
        row = self.queries.get(run_id)
        if row.status == Phase.PAUSED:
            raise RunStateError(
                f"run {run_id} is waiting for a person; see `devfactory pending {run_id}`"
            )
        if row.status in TERMINAL:
            raise RunStateError(f"run {run_id} already ended {row.status}")
        self.switchboard.check_drive(row.project)
        if not row.interrupted:
            raise RunBusyError(
                f"run {run_id} is still running (pid {row.pid} on {row.host}); "
                "resume it once that process has stopped"
            )
        driver = new_driver()
        if not self.stores.runs.claim(row, driver, self.settings.runs.run_lease_seconds):
            raise RunBusyError(f"run {run_id} was claimed by another process first")
        return self.drive(row, driver, None, on_event)

    def drive(
        self,
        row: RunRow,
        driver: str,
        payload: Feed,
        on_event: EventSink | None,
        first: Event | None = None,
        stop: StopCheck | None = None,
    ) -> RunReport:
        """Stream the graph for a run this process claimed, holding its lease; then release it.

        At every step boundary the drive asks whether someone cancelled the run
        (then it ends CANCELLED), ``stop`` whether this process must let go
        (then the run goes back to the queue for another worker), and the
        operator's controls whether the emergency stop or a hold on the run's
        project holds (then it goes back to the queue too; a drive with no
        ``stop``, for a person, then raises ``HaltedError`` saying so). Once
        each step's state is saved, it asks whether the drive's time cap is
        reached (the run ends FAILED, with what it spent) and whether this
        process asked its drives to stop (``interrupt``: the run stays resumable,
        shown INTERRUPTED).
        """
        run_id = row.run_id
        config = self.graphs.config(run_id)
        tracer = RunTracer(self.tracing, row) if self.tracing is not None else None
        if tracer is not None:  # Langfuse: this drive joins the run's one trace
            config = cast(RunnableConfig, {**config, **tracer.config()})
        recorder = self.recorder(row, driver)
        sinks = _Sinks(run_id, self.stores.feed, recorder, tracer, on_event)
        drive = _Drive(row, self.graphs.compiled(row.pipeline), config, sinks)
        context = self._context(row, sinks)
        resumed = not isinstance(payload, RunRequest)  # a resume or an answer
        with self._lock:
            self._under_way[run_id] = drive
        with (
            bound_run(run_id),  # every line logged while it drives names the run
            Lease(self.stores.runs, run_id, driver, self.settings.runs.run_lease_seconds) as lease,
        ):
            try:
                sinks.show(
                    RunStarted(
                        run_id=run_id,
                        pipeline=row.pipeline,
                        out_dir=str(Path(row.out_dir)),
                        resumed=resumed,
                    )
                )
                if first is not None:
                    sinks.show(first)
                held = self.switchboard.halt(row.project)
                if held:  # not one step while the operator holds it
                    halt = _Halt(held=held)
                else:
                    halt = self._stream(drive, payload, context, lease, stop)
            except GraphRecursionError:
                halt = _Halt(
                    failure=f"recursion limit {self.settings.generation.recursion_limit} reached"
                )
            except KeyboardInterrupt as exc:  # stopped at once: what it spent is still said
                if self._taken(drive) and not self._kept_interrupted(drive, "interrupted"):
                    recorder.abandon(exc)
                raise
            except BaseException as exc:
                if self._taken(drive):
                    recorder.abandon(exc)  # resumable by anyone, with the reason
                raise
        if not self._taken(drive):  # recorded as interrupted by ``stop_now``
            return self.queries.report(run_id)
        if lease.lost:
            lost = "the lease ran out; another process drives it"
            sinks.show(RunError(run_id=run_id, message=lost))
            return self.queries.report(run_id)
        if halt.let_go:
            self.stores.queue.requeue_mine(run_id, driver)
            sinks.show(RunError(run_id=run_id, message=f"handed back to the queue: {halt.let_go}"))
            return self.queries.report(run_id)
        if halt.held:
            fed = payload.model_dump(mode="json") if isinstance(payload, RunRequest) else None
            self.stores.queue.requeue_mine(run_id, driver, inbox={"start": fed} if fed else None)
            message = f"held: {halt.held}; it waits in the queue until that is released"
            sinks.show(RunError(run_id=run_id, message=message))
            if stop is None:  # driven for a person (CLI, chat): say why it did not go on
                raise HaltedError(f"run {run_id} {message}")
            return self.queries.report(run_id)
        return self._finish(drive, halt)

    def _context(self, row: RunRow, sinks: _Sinks) -> Context:
        return Context(
            settings=self.settings,
            models=self.models,
            project_spent=self.stores.runs.project_spent(row.project, excluding=row.run_id),
            memory=sinks.recorder.memory,
            pre_approval=self.stores.approvals.current(row.project),
            record=sinks.keep,  # a node's events are kept before its writes are saved
            overrides=self.switchboard.current,
            # the project's caps as an admin sets them now
            live_caps=lambda: self.switchboard.project_caps(row.project),
            deadline=Deadline.starting(
                self.settings.runs.run_deadline_s
            ),  # from this drive's start
        )

    def _stream(
        self, drive: _Drive, payload: Feed, context: Context, lease: Lease, stop: StopCheck | None
    ) -> _Halt:
        """Stream the graph until it ends, or until a step boundary where the drive must stop."""
        running: set[str] = set()  # the pipeline's steps under way (their task ids)
        for ns, mode, chunk in drive.graph.stream(
            payload.first_input() if isinstance(payload, RunRequest) else payload,
            drive.config,
            context=context,
            stream_mode=["custom", "tasks", "values"],
            subgraphs=True,
            durability="sync",
        ):
            if mode == "values":  # the run's state after a step: its readers' view follows
                if not ns:
                    drive.sinks.recorder.progress(cast(RunState, chunk))
                    # the step's checkpoint is saved and the next has not begun: stopped
                    # here, the run's files say all it did and a resume starts afresh
                    late = context.out_of_time()
                    interrupted = "" if late else self.stopping
                    if late or interrupted:
                        return _Halt(late=late, interrupted=interrupted)
                continue
            if mode != "tasks":
                if isinstance(chunk, Event):
                    drive.sinks.caller(chunk)  # kept already, by the node that emitted it
                continue
            task = cast(dict[str, Any], chunk)
            if not ns and "input" in task:  # a resume would start here
                drive.sinks.recorder.started(str(task["name"]))
            # a step inside a stage (ns): the stage is still under way
            if ns or not _step_ended(running, task):
                continue
            if lease.lost:  # another process drives it now: record nothing more
                return _Halt()
            cancelled = self.stores.queue.cancel_requested(drive.row.run_id) or ""
            let_go = "" if cancelled or stop is None else stop()
            held = "" if cancelled or let_go else self.switchboard.halt(drive.row.project)
            if cancelled or let_go or held:
                return _Halt(cancelled=cancelled, let_go=let_go, held=held)
        return _Halt()

    def _kept_interrupted(self, drive: _Drive, why: str) -> bool:
        """Write what an interrupted drive leaves (best effort); False when it could not."""
        try:
            self._finish(drive, _Halt(interrupted=why))
        except Exception:  # noqa: BLE001 - e.g. the database is gone: abandon says why
            log.warning("run %s: its files were not written", drive.row.run_id, exc_info=True)
            return False
        return True

    def _finish(self, drive: _Drive, halt: _Halt) -> RunReport:
        """Record where the run stands now (cancelled, paused, failed or ended) and report it."""
        run_id, sinks, recorder = drive.row.run_id, drive.sinks, drive.sinks.recorder
        snapshot = drive.graph.get_state(drive.config)
        values = cast(RunState, snapshot.values or {})  # typed: every read is upgraded
        if (halt.late or halt.interrupted) and not snapshot.next and values.get("outcome"):
            halt = _Halt()  # the graph ended in the step the stop came after: as it says
        pending: tuple[Pending, ...] = ()
        if halt.interrupted:  # no move: the run goes on when resumed
            status = INTERRUPTED
            reason = f"stopped: {halt.interrupted}; continue it with `devfactory resume {run_id}`"
        elif halt.cancelled:
            status, reason = Phase.CANCELLED, f"cancelled by {halt.cancelled}"
            moved = recorder.move(
                once("cancel", ()), Phase.CANCELLED, actor=halt.cancelled, reason=reason
            )
            if moved is not None:
                sinks.show(phase_changed(moved))
        else:
            pending = pending_of(run_id, snapshot)
            status, reason, paused = recorder.stop(values, pending, _failure(halt, values))
            if paused is not None:
                sinks.show(paused)
        records = recorder.finish(
            status, reason, values, pending, tuple(snapshot.next), commit=not halt.interrupted
        )
        report = RunReport(
            run_id,
            status,
            reason,
            Path(drive.row.out_dir),
            records,
            tuple(snapshot.next),
            pending,
            ShownRun.of(shown(values)),  # as the run's view keeps it: its readers' report
        )
        sinks.show(RunFinished(run_id=run_id, status=status, reason=reason))
        return report


def _failure(halt: _Halt, values: RunState) -> str:
    """Say why the drive failed ("" when it did not): the graph's failure, or its time cap."""
    if halt.failure or not halt.late:
        return halt.failure
    spent = metering.run_spend(values)
    return (
        f"{halt.late} (spent {spent.tokens:,} tokens, ${spent.cost_usd:.4f}, "
        f"{spent.seconds:.1f}s of model time)"
    )
