"""The terminal, safely: a console that reads no markup, and the CLI's tables.

Requirements, answers and model output are shown as written and never
interpreted: the CLI's consoles read no markup and drop terminal control
characters from every string they render (``SafeConsole``). Styling is given
as ``Text`` objects (``styled``), never as markup inside strings.

Light to import (rich and the standard library): ``devfactory list``,
``status`` and ``pending`` render with it and never load the run machinery.
The live progress of a run is ``devfactory.cli.progress``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from devfactory.control.error_line import brief
from devfactory.shown import shown

if TYPE_CHECKING:
    from devfactory.control.hitl import Pause


PIPED_WIDTH = 100_000  # columns when the output is not a terminal: no value is cut


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
        if not self.is_terminal and self._width is None:
            # written to a pipe or a file: whole values, never cut to rich's 80 columns
            # (``devfactory list | grep COMPLETED``); an explicit COLUMNS still holds
            self.width = PIPED_WIDTH

    def render_str(self, text: str, **kwargs: Any) -> Text:
        """Render ``text`` literally, without control characters."""
        kwargs.update(markup=False, emoji=False)
        return super().render_str(clean(text), **kwargs)


def pause_panel(
    run_id: str, interrupt_id: str, pause: Pause, *, deadline: datetime | None = None
) -> Panel:
    """Render one pending request for a person: the question, why, its cost, its alternatives."""
    from devfactory.control.hitl import HELP  # loaded already: ``pause`` is one of its own

    body = Text()
    if pause.team:
        body.append(f"team: {clean(pause.team)}\n")
    failure = pause.error_line()
    if failure:  # what went wrong first; the output it came from below, bounded
        body.append(f"error: {clean(failure)}\n", style="bold red")
        body.append(folded(clean(pause.question)) + "\n", style="dim")
    else:
        body.append(clean(pause.question) + "\n")
    for label, text in pause.facts():
        body.append(f"{label}: {clean(text)}\n")
    if pause.sources:
        body.append(f"sources: {clean(', '.join(pause.sources[:8]))}")
        more = len(pause.sources) - 8
        body.append(f" and {more} more\n" if more > 0 else "\n")
    for alt in pause.alternatives:
        cost = "" if alt.estimated_cost_usd is None else f", ~${alt.estimated_cost_usd:.4f}"
        body.append(f"alternative {clean(alt.id)}: {clean(alt.title)}{cost}\n", style="cyan")
        for pro in alt.pros:
            body.append(f"  + {clean(pro)}\n")
        for con in alt.cons:
            body.append(f"  - {clean(con)}\n")
    body.append("\n")
    body.append(HELP[pause.kind], style="bold")
    body.append(f"\nmay answer: {', '.join(pause.roles)}   actions: {', '.join(pause.actions)}")
    body.append(f"\npriority: {pause.priority}   deadline: {_deadline(deadline)}")
    if pause.error:
        body.append(f"\nlast answer refused: {clean(pause.error)}", style="red")
    title = Text.assemble(
        (pause.kind, "bold yellow"), f" · run {clean(run_id)} · id {interrupt_id[:8]}"
    )
    return Panel(body, title=title, subtitle=styled(pause.title, ""), expand=False)


FOLDED_LINES = 12  # lines of a request's output shown under its error line


def folded(text: str, *, lines: int = FOLDED_LINES) -> str:
    """Indent ``text`` under an error line, at most ``lines`` of it, and say where the rest is."""
    found = text.splitlines()
    shown = "\n".join(f"  {line}" for line in found[:lines])
    more = len(found) - lines
    if more > 0:
        shown += f"\n  ... {more} more line{'s' if more != 1 else ''}: `pending --json` shows all"
    return shown


def _deadline(deadline: datetime | None) -> str:
    """Show a request's deadline, or EXPIRED past it, or "none"."""
    if deadline is None:
        return "none"
    if deadline <= datetime.now(UTC):
        return f"EXPIRED ({deadline:%Y-%m-%d %H:%M} UTC)"
    return f"{deadline:%Y-%m-%d %H:%M} UTC"


def add_id_column(table: Table, header: str, ids: list[str]) -> None:
    """Add a column that shows every id whole, however narrow the terminal.

    The column never wraps and is never narrower than its longest id; the
    table's other columns (wrapping ones) give up the room instead.
    """
    table.add_column(header, no_wrap=True, min_width=max(map(len, [header, *ids])))


def pending_table(items: list[Any]) -> Table:
    """Render what paused runs wait on, as sorted (run ids and question ids shown whole)."""
    table = Table(title="waiting for a person")
    add_id_column(table, "run", [item.run_id for item in items])
    add_id_column(table, "id", [item.interrupt_id[:8] for item in items])
    for col in ("priority", "deadline", "kind", "team", "who may answer", "question"):
        table.add_column(col)
    for item in items:
        table.add_row(
            item.run_id,
            item.interrupt_id[:8],
            item.pause.priority,
            _deadline(item.deadline),
            item.pause.kind,
            item.pause.team or "-",
            ", ".join(item.pause.roles),
            item.pause.title,
        )
    return table


def runs_table(rows: list[Any]) -> Table:
    """Render recent runs (``devfactory list``): run ids whole, each requirement's start."""
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
    table = Table("#", "when (UTC)", "from", "to", "by", "why", title="lifecycle")
    for i, t in enumerate(transitions, 1):
        table.add_row(
            str(i),
            f"{t.at:%H:%M:%S}" if t.at else "",
            t.from_phase.value,
            t.to_phase.value,
            t.actor,
            brief(t.reason, 160),
        )
    return table


def usage_table(usage: Any) -> Table:
    """Render a run's spend by team with its caps."""
    table = Table(title=f"usage of run {usage.run_id} (project {usage.project})")
    for col in ("team", "calls", "tokens in", "tokens out", "cost USD", "model seconds"):
        table.add_column(col, justify="right" if col != "team" else "left")
    for team, s in [*usage.teams.items(), (styled("run total", "bold"), usage.total)]:
        table.add_row(
            team,
            str(s.calls),
            f"{s.input_tokens:,}",
            f"{s.output_tokens:,}",
            f"{s.cost_usd:.4f}",
            f"{s.seconds:.1f}",
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
