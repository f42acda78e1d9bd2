"""A run's live progress on the terminal: each stage, its checks, repairs and pauses.

It renders through ``devfactory.cli.terminal`` (a console that reads no markup,
``styled`` text, the pause panel); the tables of ``list``, ``status`` and
``pending`` live there, light to import.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.table import Table
from rich.text import Text

from devfactory import events
from devfactory.cli.terminal import styled
from devfactory.contracts import CheckRun
from devfactory.control.error_line import brief, lead_with_error
from devfactory.factory.artifacts import check_line
from devfactory.factory.findings import tallies
from devfactory.pipelines import load_pipeline


class Progress:
    """Live per-stage progress: team, model, status, confidence, tokens, seconds."""

    def __init__(self, pipeline: str, out: Console) -> None:
        self.order = load_pipeline(pipeline).teams
        self.rows: dict[str, dict[str, str]] = {
            t: {"model": "", "status": "pending", "conf": "", "tokens": "", "secs": ""}
            for t in self.order
        }
        self.checks: dict[str, list[CheckRun]] = {}  # each stage's sandbox checks
        self.out = out
        self.live: Live | None = None
        self.caption = ""
        self.phase = ""
        self.run_id: str | None = None  # known once the drive began (``RunStarted``)
        self._handlers: dict[type[events.Event], Callable[[Any], str]] = {
            events.StageStarted: self._stage_started,
            events.StageFinished: self._stage_finished,
            events.PhaseChanged: self._transition,
            events.GovernanceAssessed: self._governance,
            events.Notice: self._notice,
            events.ClarificationRouted: self._clarification,
            events.FactsExtracted: self._facts,
            events.RunStarted: self._run_started,
            # the command prints how the run ended, and why, once the drive returns
            events.RunFinished: self._quiet,
            events.RunError: self._quiet,
            events.RunCreated: self._quiet,
            events.DecisionRecorded: self._quiet,  # a policy rule's answer: in the audit log
            events.Recalled: self._quiet,
            events.DraftSaved: self._draft_saved,
            # what the audit log keeps of a StageFinished, which has its own line
            events.TaskResultRecorded: self._quiet,
            events.UsageRecorded: self._quiet,
        }

    def table(self) -> Table:
        """Render the current progress table."""
        title = f"devfactory run · {self.phase}" if self.phase else "devfactory run"
        table = Table(title=title, caption=self.caption, expand=False)
        for col in ("stage", "model", "status", "confidence", "tokens in/out", "seconds"):
            table.add_column(col)
        colours = {"PASSED": "green", "BLOCKED": "red", "SKIPPED": "yellow"}
        for team in self.order:
            row = self.rows[team]
            status = row["status"]
            colour = colours.get(status, "cyan" if status.startswith("attempt") else "dim")
            table.add_row(
                team,
                row["model"],
                styled(status, colour),
                row["conf"],
                row["tokens"],
                row["secs"],
            )
            for check in self.checks.get(team, []):
                table.add_row(*check_cells(check))
        return table

    def __call__(self, event: events.Event) -> None:
        """Apply one run event: update the table, or print its line when not live."""
        line = self._handlers[type(event)](event)
        if self.live is not None:
            self.live.update(self.table())
        elif line:
            self.out.print(line, highlight=False, soft_wrap=True)
            self.out.file.flush()

    def _draft_saved(self, event: events.DraftSaved) -> str:
        row = self.rows[event.team]
        attempt = row["status"].split(" · ")[0]
        row.update(status=f"{attempt} · {event.written}/{event.units} units")
        return f"  ✎ {event.path}: {event.written} of {event.units} units written, saved"

    def _stage_started(self, event: events.StageStarted) -> str:
        self.rows[event.team].update(model=event.model, status=f"attempt {event.attempt}")
        line = f"▶ {event.team} attempt {event.attempt} on {event.model}"
        if event.because:
            why = "; ".join(lead_with_error(b) for b in event.because)
            line += f"\n  again because: {brief(why, 300)}"
        return line

    def _stage_finished(self, event: events.StageFinished) -> str:
        rec = event.record
        row = self.rows[rec.team]
        row.update(
            model=rec.model or row["model"],
            status=rec.outcome.value,
            conf=f"{rec.result.confidence:.2f}" if rec.result else "",
            tokens=f"{rec.usage.input_tokens}/{rec.usage.output_tokens}",
            secs=f"{rec.seconds:.1f}",
        )
        self.checks[rec.team] = list(rec.checks)
        return (
            f"■ {rec.team} {rec.outcome.value} confidence={row['conf'] or '-'} "
            f"model={rec.model or '-'} tokens={row['tokens']} seconds={rec.seconds:.1f}"
            + (f" reason={rec.reason}" if rec.reason else "")
            + "".join(f"\n  {'✓' if c.ok else '✗'} {check_line(c)}" for c in rec.checks)
        )

    def _transition(self, event: events.PhaseChanged) -> str:
        self.phase = event.to_phase
        return f"◆ {event.from_phase} -> {event.to_phase} ({event.actor}): {event.reason}"

    def _governance(self, event: events.GovernanceAssessed) -> str:
        factors = "; ".join(event.risk_factors) or "none"
        return f"⚖ governance: risk {event.risk} -> {event.action} (factors: {factors})"

    def _notice(self, event: events.Notice) -> str:
        return f"! {event.kind}: {event.message}"

    def _clarification(self, event: events.ClarificationRouted) -> str:
        return f"? {event.asker} asked {event.target}: {event.question} -> {event.outcome}" + (
            f" ({event.reason})" if event.reason else ""
        )

    def _facts(self, event: events.FactsExtracted) -> str:
        return (
            f"✎ {event.team} facts: {len(event.added)} new"
            + (f" in {event.seconds:.1f}s" if event.seconds is not None else "")
            + (f" ({event.problem})" if event.problem else "")
        )

    def _quiet(self, event: events.Event) -> str:
        """Print nothing for ``event``: a kind this view shows elsewhere or not at all."""
        return ""

    def _run_started(self, event: events.RunStarted) -> str:
        self.run_id = event.run_id
        self.caption = f"run {event.run_id} -> {event.out_dir}"
        return (
            f"run {event.run_id} ({'resumed' if event.resumed else 'new'}), "
            f"pipeline {event.pipeline}, output {event.out_dir}"
        )

    def __enter__(self) -> Progress:
        if self.out.is_terminal:
            self.live = Live(self.table(), console=self.out, refresh_per_second=4)
            self.live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.live is not None:
            self.live.__exit__(None, None, None)


def check_cells(check: CheckRun) -> tuple[str | Text, ...]:
    """Return the progress table's row for one sandbox check, shown under its stage."""
    counts = " ".join(tallies(check))
    shown = "no exit" if check.exit_code is None else f"exit {check.exit_code}"
    shown += (f", {counts}" if counts else "") + ("" if check.sandboxed else " (not sandboxed)")
    command = " ".join(check.command.split())
    command = command if len(command) <= 40 else command[:39] + "…"
    colour = "green" if check.ok else "red"
    return f"  ↳ {check.name}", command, styled(shown, colour), "", "", f"{check.seconds:.1f}"
