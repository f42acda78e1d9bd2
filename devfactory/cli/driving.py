"""Drive a run from the CLI: live progress, questions asked inline, the final word."""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

import typer
from rich.prompt import Prompt

from devfactory.cli.common import (
    EXIT_BUG,
    EXIT_ENV,
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_PAUSED,
    console,
    database_down,
    database_down_errors,
    err,
    fail,
    refused,
    require_models,
)
from devfactory.cli.progress import Progress
from devfactory.cli.terminal import pause_panel, styled


def exit_code(report: Any) -> int:
    """Return the run's exit code: 0 COMPLETED, 6 PAUSED, 130 INTERRUPTED, 1 otherwise."""
    codes = {"COMPLETED": 0, "PAUSED": EXIT_PAUSED, "INTERRUPTED": EXIT_INTERRUPTED}
    return codes.get(report.status, EXIT_FAILED)


def finish_json(factory: Any, report: Any) -> None:
    """Print the run's report as one JSON object on stdout and exit with its code."""
    from devfactory.factory.reports import report_document

    spent = factory.usage(report.run_id).total
    typer.echo(json.dumps(report_document(report, spent)))
    raise typer.Exit(exit_code(report))


def finish(report: Any) -> None:
    """Print how the run stands and exit with its code (0, 1 or 6)."""
    colour = {"COMPLETED": "green", "PAUSED": "yellow"}.get(report.status, "red")
    console.print(styled(report.status, f"bold {colour}"), f"run {report.run_id}")
    if report.reason:
        console.print(f"reason: {report.reason}", soft_wrap=True)
    console.print(f"artifacts: {report.out_dir}", soft_wrap=True)
    if branch := delivered_branch(report):
        console.print(f"branch: {branch}", soft_wrap=True)
    if report.status == "PAUSED":
        for item in report.pending:
            console.print(pause_panel(item.run_id, item.interrupt_id, item.pause))
            console.print(
                f"answer with: devfactory {'|'.join(item.pause.actions)} {report.run_id} "
                f"--id {item.interrupt_id[:8]} ...",
                soft_wrap=True,
            )
        raise typer.Exit(EXIT_PAUSED)
    if report.status != "COMPLETED":
        raise typer.Exit(exit_code(report))


def delivered_branch(report: Any) -> str:
    """Say which branch of which repository a run delivers into ("" when it delivers into none)."""
    from pathlib import Path

    from devfactory.repos.repository import delivery_of

    found = delivery_of(Path(report.out_dir), report.run_id) if report.out_dir else None
    return f"{found.branch} of {found.source} (base {found.base})" if found else ""


def ask_inline(report: Any, by: str, role: str) -> tuple[Any, str | None] | None:
    """Ask the person at the terminal to decide the first pending question."""
    from devfactory.control.hitl import TEXT_FOR, Decision

    item = report.pending[0]
    pause = item.pause
    console.print(pause_panel(item.run_id, item.interrupt_id, pause))
    action = Prompt.ask(
        "decision", choices=[*pause.actions, "later"], default="later", console=console
    )
    if action == "later":
        return None
    text = ""
    if action in TEXT_FOR:
        text = Prompt.ask(TEXT_FOR[action], console=console)
    decision = Decision.model_validate({"action": action, "text": text, "by": by, "role": role})
    return decision, item.interrupt_id


Action = Callable[[Any, Progress], Any]


ENDING_S = 10.0  # how long a process ended at once may take to write its runs' files


@contextmanager
def stopped_gracefully(factory: Any) -> Iterator[None]:
    """Let a SIGTERM stop the drive at its next step boundary, its run resumable.

    The first SIGTERM asks the factory to stop (``Factory.interrupt``): the run
    writes ``run.json`` and ``SUMMARY.md`` with what it spent and kept, and the
    command ends INTERRUPTED (exit 130). A second SIGTERM, or the first's
    ``stop_grace_s`` running out, ends it at once (``end_at_once``).
    """
    if threading.current_thread() is not threading.main_thread():
        yield  # signals reach the main thread only
        return
    timer: threading.Timer | None = None

    def asked(signum: int, frame: FrameType | None) -> None:
        nonlocal timer
        name = signal.Signals(signum).name
        if timer is not None:  # the second signal
            timer.cancel()
            end_at_once(factory, f"a second {name}")
            return
        factory.interrupt(f"received {name}")
        grace = factory.settings.runs.stop_grace_s
        why = f"the grace period of {grace:g} s after {name} ran out"
        timer = threading.Timer(grace, end_at_once, (factory, why))
        timer.daemon = True
        timer.start()

    before = signal.signal(signal.SIGTERM, asked)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, before if before is not None else signal.SIG_DFL)
        if timer is not None:
            timer.cancel()


def end_at_once(factory: Any, why: str) -> None:
    """End the process now, once the runs it drives are recorded as interrupted.

    A step under way (a model's reply, a sandbox run) is not waited for: each
    run's ``run.json`` and ``SUMMARY.md`` are written from its last saved step,
    and it stays resumable. The writing happens on a thread of its own, so that
    it never waits for a lock the interrupted main thread holds, and it gets
    ``ENDING_S`` at most.
    """

    def end() -> None:
        backstop = threading.Timer(ENDING_S, os._exit, (EXIT_INTERRUPTED,))
        backstop.daemon = True
        backstop.start()
        try:
            for run_id in factory.stop_now(f"ended at once: {why}"):
                err.print(f"error: {interrupted(run_id)}", soft_wrap=True)
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(EXIT_INTERRUPTED)

    threading.Thread(target=end, name="end-at-once", daemon=True).start()


def interrupted(run_id: str | None, *, waiting: bool = False) -> str:
    """Say that the drive was interrupted, and how to go on with the run it drove.

    ``waiting``: the run was paused, and the person was being asked inline.
    """
    if run_id is None:  # stopped before the run began: it may not exist
        return "interrupted before the run started; `devfactory list` shows it if it was created"
    if waiting:
        return f"interrupted; run {run_id} waits for a person: see `devfactory pending {run_id}`"
    return f"interrupted run {run_id}; continue it with `devfactory resume {run_id}`"


def drive(
    factory: Any,
    pipeline: str,
    action: Action,
    *,
    inline: bool = False,
    as_: tuple[str, str],
    as_json: bool = False,
    then: Callable[[Any], None] | None = None,
) -> None:
    """Run ``action(factory, progress)`` with live progress, then ask inline while it pauses.

    The models must serve first (``require_models``: exit 4 otherwise). With
    ``as_json`` the progress goes to stderr, nobody is asked inline and stdout
    gets one JSON object (``report_document``) at the end. ``then`` is given
    the final report before the run's status and exit code are printed.
    """
    require_models(factory)
    shown = err if as_json else console
    inline = inline and not as_json
    from devfactory.control.hitl import DecisionError
    from devfactory.models.router import ModelUnavailableError

    progress: Progress | None = None  # the latest, which knows the run's id once it began
    asking = False
    try:
        progress = Progress(pipeline, shown)
        with progress, stopped_gracefully(factory):
            report = action(factory, progress)
        while inline and report.status == "PAUSED" and report.pending:
            asking = True
            asked = ask_inline(report, *as_)
            asking = False
            if asked is None:
                break
            decision, interrupt_id = asked
            progress = Progress(pipeline, console)
            progress.run_id = report.run_id
            try:
                with progress:
                    report = factory.answer(
                        report.run_id, decision, interrupt_id=interrupt_id, on_event=progress
                    )
            except DecisionError as exc:
                err.print(styled("refused:", "bold red"), str(exc))
                report = factory.report(report.run_id)
    except KeyboardInterrupt:
        run_id = progress.run_id if progress is not None else None
        raise fail(interrupted(run_id, waiting=asking), EXIT_INTERRUPTED) from None
    except ModelUnavailableError as exc:
        raise fail(str(exc), EXIT_ENV) from exc
    except database_down_errors() as exc:
        raise fail(database_down(exc), EXIT_ENV) from exc
    except Exception as exc:  # noqa: BLE001 - scripts must tell a crash from a FAILED run
        if (exit_ := refused(exc)) is not None:  # the factory refused: no crash
            raise exit_ from exc
        err.print_exception()
        run_id = (progress.run_id if progress is not None else None) or "<run-id>"
        raise fail(
            f"unexpected error: {exc}; `devfactory resume {run_id}` continues from the last "
            "checkpoint",
            EXIT_BUG,
        ) from exc
    if then is not None:
        then(report)
    if as_json:
        finish_json(factory, report)
    finish(report)
