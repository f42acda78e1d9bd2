"""Terminal rendering for the CLI: live stage progress, pauses, usage and transitions.

Requirements, answers and model output are shown as written and never
interpreted: the CLI's consoles read no markup and drop terminal control
characters from every string they render (``SafeConsole``). Styling is given
as ``Text`` objects (``styled``), never as markup inside strings.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from devfactory.artifacts import check_line
from devfactory.contracts import CheckRun
from devfactory.control.hitl import HELP, Pause
from devfactory.events import (
    ClarificationRouted,
    DecisionRecorded,
    DraftSaved,
    Event,
    FactsExtracted,
    GovernanceAssessed,
    Notice,
    PhaseChanged,
    Recalled,
    RunCreated,
    RunError,
    RunFinished,
    RunStarted,
    StageFinished,
    StageStarted,
    TaskResultRecorded,
    UsageRecorded,
)
from devfactory.pipelines import load_pipeline
from devfactory.shown import shown


def clean(value: object) -> str:
    """Drop terminal control characters and show bidirectional controls (``shown.shown``)."""
    return shown(value)


def styled(text: object, style: str) -> Text:
    """Return ``text``, cleaned, in ``style`` (the way to colour anything someone wrote)."""
    return Text(clean(text), style=style)


class SafeConsole(Console):
    """A rich console that reads no markup and no emoji codes, and cleans every string.

    Every string rendered (printed, or in a table, panel or title) goes through
    ``render_str``, so nobody's text can restyle the terminal, break the render
    (``[/x]``) or send escape sequences.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(markup=False, emoji=False, **kwargs)

    def render_str(self, text: str, **kwargs: Any) -> Text:
        """Render ``text`` literally, without control characters."""
        kwargs.update(markup=False, emoji=False)
        return super().render_str(clean(text), **kwargs)


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
        self._handlers: dict[type[Event], Callable[[Any], str]] = {
            StageStarted: self._stage_started,
            StageFinished: self._stage_finished,
            PhaseChanged: self._transition,
            GovernanceAssessed: self._governance,
            Notice: self._notice,
            ClarificationRouted: self._clarification,
            FactsExtracted: self._facts,
            RunStarted: self._run_started,
            # the command prints how the run ended, and why, once the drive returns
            RunFinished: self._quiet,
            RunError: self._quiet,
            RunCreated: self._quiet,
            DecisionRecorded: self._quiet,  # a policy rule's answer: read it in the audit log
            Recalled: self._quiet,
            DraftSaved: self._draft_saved,
            # what the audit log keeps of a StageFinished, which has its own line
            TaskResultRecorded: self._quiet,
            UsageRecorded: self._quiet,
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

    def __call__(self, event: Event) -> None:
        """Apply one run event: update the table, or print its line when not live."""
        line = self._handlers[type(event)](event)
        if self.live is not None:
            self.live.update(self.table())
        elif line:
            self.out.print(line, highlight=False, soft_wrap=True)
            self.out.file.flush()

    def _draft_saved(self, event: DraftSaved) -> str:
        row = self.rows[event.team]
        attempt = row["status"].split(" · ")[0]
        row.update(status=f"{attempt} · {event.written}/{event.units} units")
        return f"  ✎ {event.path}: {event.written} of {event.units} units written, saved"

    def _stage_started(self, event: StageStarted) -> str:
        self.rows[event.team].update(model=event.model, status=f"attempt {event.attempt}")
        line = f"▶ {event.team} attempt {event.attempt} on {event.model}"
        if event.because:
            why = "; ".join(" ".join(b.split()) for b in event.because)
            line += f"\n  again because: {why[:300]}{'...' if len(why) > 300 else ''}"
        return line

    def _stage_finished(self, event: StageFinished) -> str:
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

    def _transition(self, event: PhaseChanged) -> str:
        self.phase = event.to_phase
        return f"◆ {event.from_phase} -> {event.to_phase} ({event.actor}): {event.reason}"

    def _governance(self, event: GovernanceAssessed) -> str:
        factors = "; ".join(event.risk_factors) or "none"
        return f"⚖ governance: risk {event.risk} -> {event.action} (factors: {factors})"

    def _notice(self, event: Notice) -> str:
        return f"! {event.kind}: {event.message}"

    def _clarification(self, event: ClarificationRouted) -> str:
        return f"? {event.asker} asked {event.target}: {event.question} -> {event.outcome}" + (
            f" ({event.reason})" if event.reason else ""
        )

    def _facts(self, event: FactsExtracted) -> str:
        return (
            f"✎ {event.team} facts: {len(event.added)} new"
            + (f" in {event.seconds:.1f}s" if event.seconds is not None else "")
            + (f" ({event.problem})" if event.problem else "")
        )

    def _quiet(self, event: Event) -> str:
        """Print nothing for ``event``: a kind this view shows elsewhere or not at all."""
        return ""

    def _run_started(self, event: RunStarted) -> str:
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
    tally = ((check.passed, "passed"), (check.failed, "failed"), (check.errors, "errors"))
    counts = " ".join(f"{n} {word}" for n, word in tally if n)
    shown = "no exit" if check.exit_code is None else f"exit {check.exit_code}"
    shown += (f", {counts}" if counts else "") + ("" if check.sandboxed else " (not sandboxed)")
    command = " ".join(check.command.split())
    command = command if len(command) <= 40 else command[:39] + "…"
    colour = "green" if check.ok else "red"
    return f"  ↳ {check.name}", command, styled(shown, colour), "", "", f"{check.seconds:.1f}"


def pause_panel(run_id: str, interrupt_id: str, pause: Pause) -> Panel:
    """Render one pending question for a person."""
    body = Text()
    if pause.team:
        body.append(f"team: {clean(pause.team)}\n")
    body.append(clean(pause.question) + "\n\n")
    body.append(HELP[pause.kind], style="bold")
    body.append(f"\nmay answer: {', '.join(pause.roles)}   actions: {', '.join(pause.actions)}")
    if pause.error:
        body.append(f"\nlast answer refused: {clean(pause.error)}", style="red")
    title = Text.assemble(
        (pause.kind, "bold yellow"), f" · run {clean(run_id)} · id {interrupt_id[:8]}"
    )
    return Panel(body, title=title, subtitle=styled(pause.title, ""), expand=False)


def add_id_column(table: Table, header: str, ids: list[str]) -> None:
    """Add a column that shows every id whole, however narrow the terminal.

    The column never wraps and is never narrower than its longest id; the
    table's other columns (wrapping ones) give up the room instead.
    """
    table.add_column(header, no_wrap=True, min_width=max(map(len, [header, *ids])))


def pending_table(items: list[Any]) -> Table:
    """Render what paused runs wait on (run ids and question ids shown whole)."""
    table = Table(title="waiting for a person")
    add_id_column(table, "run", [item.run_id for item in items])
    add_id_column(table, "id", [item.interrupt_id[:8] for item in items])
    for col in ("kind", "team", "who may answer", "question"):
        table.add_column(col)
    for item in items:
        table.add_row(
            item.run_id,
            item.interrupt_id[:8],
            item.pause.kind,
            item.pause.team or "-",
            ", ".join(item.pause.roles),
            item.pause.title,
        )
    return table


def runs_table(rows: list[Any]) -> Table:
    """Render recent runs (``devfactory list``); a run id is shown whole, the requirement cut."""
    table = Table()
    add_id_column(table, "run", [row.run_id for row in rows])
    for col in ("status", "project", "pipeline"):
        table.add_column(col)
    table.add_column("created", no_wrap=True)
    table.add_column("requirement", overflow="ellipsis")
    for row in rows:
        table.add_row(
            row.run_id,
            row.shown_status,
            row.project,
            row.pipeline,
            f"{row.created_at:%Y-%m-%d %H:%M}",
            Text(clean(row.requirement[:60]), no_wrap=True, overflow="ellipsis"),
        )
    return table


def transitions_table(transitions: list[Any]) -> Table:
    """Render a run's lifecycle transitions in order."""
    table = Table(title="lifecycle")
    for col in ("#", "when (UTC)", "from", "to", "by", "why"):
        table.add_column(col)
    for i, t in enumerate(transitions, 1):
        table.add_row(
            str(i),
            f"{t.at:%H:%M:%S}" if t.at else "",
            t.from_phase.value,
            t.to_phase.value,
            t.actor,
            t.reason[:160],
        )
    return table


def usage_table(usage: Any) -> Table:
    """Render a run's spend by team with its caps."""
    table = Table(title=f"usage of run {usage.run_id} (project {usage.project})")
    for col in ("team", "calls", "tokens in", "tokens out", "cost USD", "model seconds"):
        table.add_column(col, justify="right" if col != "team" else "left")
    for team, s in usage.teams.items():
        table.add_row(
            team,
            str(s.calls),
            f"{s.input_tokens:,}",
            f"{s.output_tokens:,}",
            f"{s.cost_usd:.4f}",
            f"{s.seconds:.1f}",
        )
    t = usage.total
    table.add_row(
        styled("run total", "bold"),
        str(t.calls),
        f"{t.input_tokens:,}",
        f"{t.output_tokens:,}",
        f"{t.cost_usd:.4f}",
        f"{t.seconds:.1f}",
    )
    return table


def caps_lines(usage: Any) -> list[str]:
    """Describe each cap and how much of it is used."""
    out = []
    for scope, spend, caps in (
        ("run", usage.total, usage.run_caps),
        ("project", usage.project_total, usage.project_caps),
    ):
        for metric in ("tokens", "cost_usd", "seconds"):
            cap = caps.limit(metric)
            used = spend.value(metric)
            fmt = "{:,.4f}" if metric == "cost_usd" else "{:,.0f}"
            shown = fmt.format(used)
            if cap is None:
                out.append(f"{scope} {metric}: {shown} (no cap)")
            else:
                out.append(f"{scope} {metric}: {shown} of {fmt.format(cap)} ({used / cap:.0%})")
    return out
