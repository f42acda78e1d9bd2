"""Draw a run graph as people read it: Mermaid text, or PNG through Graphviz's ``dot``.

The picture is the compiled graph (every node and route LangGraph runs) plus
what the compiled graph does not say: the teams grouped by cluster, the
clarification edges each team may use (its ``may_ask``, drawn dotted and
orange; a team asked that is not in the pipeline is drawn as answering only),
the nodes that may pause the run for a person (their ``waits_for`` metadata,
``graph/oversight/interrupts.py``), and, for a run, each stage coloured by its outcome with its
attempts and confidence, the node a paused run waits at, and the questions its
teams actually asked. A stage reads as it stands: PASSED, BLOCKED or SKIPPED with
its attempts and confidence, RUNNING while a worker drives it, WAITING (or
BLOCKED) while it waits for a person, NOT RUN otherwise; each has its own look and
its own ``state-...`` class in SVG. ``view`` builds the picture once; ``to_mermaid``,
``to_dot``, ``to_png`` and ``to_svg`` write it.

Why one module: the picture and its writers share one vocabulary (box kinds,
outcomes, colours, the legend); a writer split from the picture would repeat it
or reach back for it, and each writer is a few dozen lines.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from devfactory.contracts import StageRecord
from devfactory.control.lifecycle import TERMINAL, Phase
from devfactory.graph.governance import APPROVAL
from devfactory.graph.oversight.interrupts import WAITS_FOR
from devfactory.graph.run_nodes import REVIEW
from devfactory.teams import load_teams
from devfactory.teams.registry import TeamRegistry

Kind = Literal["terminal", "step", "team", "person", "outside"]
LineKind = Literal["flow", "route", "asks", "asked"]
NOT_RUN = "NOT RUN"
WAITING = "WAITING"  # the node a paused run waits on a person at
RUNNING = "RUNNING"  # a stage a worker drives now
BLOCKED = "BLOCKED"

# fill, border per outcome (a run view) and per kind of node
COLOURS = {
    "team": ("#f2f0ff", "#6b5fd3"),
    "step": ("#f2f0ff", "#9f97d9"),
    "terminal": ("#ffffff", "#6b5fd3"),
    "PASSED": ("#d9f2d9", "#2f855a"),
    BLOCKED: ("#fbd5d5", "#c53030"),
    RUNNING: ("#e4e0ff", "#3c2f9e"),
    "SKIPPED": ("#eeeeee", "#888888"),
    NOT_RUN: ("#ffffff", "#bbbbbb"),
    WAITING: ("#ffe8a3", "#d97706"),
    "person": ("#fff4d6", "#b7791f"),
    "outside": ("#ffffff", "#999999"),
}
ASKS = "#d97706"
LEGEND = (
    "dotted orange, round head: a team may ask another (clarification); "
    "hexagon: waits for a person; dashed box: answers questions only"
)
RUN_LEGEND = (
    "bold orange: questions a team asked in this run; thick amber: waits for a person; "
    "thick red: blocked, waits for a person; thick blue: running"
)
DOT_TIMEOUT_S = 60.0  # the longest Graphviz may take to draw one picture
DOT_BREAK = "\\n"  # a line break inside a DOT label
# Room between boxes, in inches: tight, so that a pipeline fits a page's width with its
# text readable (the console zooms from there).
DOT_SPACING = 'nodesep=0.12; ranksep=0.4; node [margin="0.08,0.04"];'


@dataclass(frozen=True)
class Box:
    """One node: its id in the compiled graph, its lines of text, and where it sits."""

    id: str
    lines: tuple[str, ...]
    kind: Kind = "step"
    groups: tuple[str, ...] = ()  # enclosing boxes, outermost first (cluster, then team)
    outcome: str = ""  # a stage's state in a run view: an outcome, RUNNING, WAITING, NOT RUN
    waiting: bool = False  # the run waits here for a person (a run view)


@dataclass(frozen=True)
class Line:
    """One edge: a fixed step, a route a node may take, or a question a team may ask."""

    source: str
    target: str
    kind: LineKind = "flow"
    back: bool = False  # it goes back up the flow (a retry, a revise round)
    label: str = ""  # what the line says (how many questions were asked)


@dataclass
class View:
    """A graph ready to write: boxes, lines and a title."""

    title: str
    boxes: list[Box] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)
    legend: str = LEGEND


def view(
    graph: Any,
    teams: TeamRegistry,
    *,
    title: str,
    xray: bool = False,
    records: Sequence[StageRecord] | None = None,
    waiting: Collection[str] = (),
    asked: Sequence[tuple[str, str]] = (),
    blocked: Collection[str] = (),
    running: Collection[str] = (),
) -> View:
    """Describe compiled ``graph``: its nodes and routes, clusters, questions and waits.

    Args:
        graph: the compiled run graph.
        teams: the registry (names, clusters, ``may_ask``).
        title: what the picture shows.
        xray: draw each stage's own nodes (draft, gate, consult, ...) inside its team.
        records: a run's stage records: each stage shows its outcome (None: no run).
        waiting: the nodes (team slugs or node ids) a paused run waits on a person at.
        asked: the clarification questions the run's teams asked, as (asker, target)
            pairs, one per question: drawn bold beside what each team may ask.
        blocked: the teams whose stage is BLOCKED and waits for a person's guidance.
        running: the nodes (team slugs or node ids) a worker drives now.

    """
    drawn = graph.get_graph(xray=xray)
    by_team = {r.team: r for r in records or ()}
    out = View(title=title)
    in_graph: list[str] = []
    lines: tuple[str, ...]
    for node in drawn.nodes.values():
        team, _, part = node.id.partition(":")
        waits = (node.metadata or {}).get(WAITS_FOR)
        if team not in teams:
            shape: Kind = "terminal" if node.id.startswith("__") else "step"
            name = node.id.strip("_")
            lines = (name, f"waits for a person: {waits}") if waits else (name,)
            out.boxes.append(Box(node.id, lines, "person" if waits else shape))
            continue
        spec = teams[team]
        cluster = spec.cluster.value.title()
        if team not in in_graph:
            in_graph.append(team)
        if part:  # one of the stage's own nodes (xray)
            lines = (part, f"waits for a person: {waits}") if waits else (part,)
            groups = (cluster, spec.name)
            state = RUNNING if records is not None and node.id in running else ""
            lines = (*lines, RUNNING) if state else lines
            out.boxes.append(Box(node.id, lines, "person" if waits else "step", groups, state))
            continue
        if records is None:
            out.boxes.append(Box(team, (spec.name,), "team", (cluster,)))
            continue
        state, lines = _stage_state(
            by_team.get(team), blocked=team in blocked, waits=team in waiting, runs=team in running
        )
        out.boxes.append(Box(team, (spec.name, *lines), "team", (cluster,), state))
    back = _back_edges([(e.source, e.target) for e in drawn.edges])
    for edge in drawn.edges:
        kind: LineKind = "route" if edge.conditional else "flow"
        out.lines.append(Line(edge.source, edge.target, kind, (edge.source, edge.target) in back))
    answering: list[str] = []
    for team in in_graph:
        for target in teams[team].may_ask:
            if target not in in_graph and target not in answering:
                answering.append(target)
                spec = teams[target]
                cluster = spec.cluster.value.title()
                lines = (spec.name, "answers questions only")
                out.boxes.append(Box(target, lines, "outside", (cluster,)))
            source = f"{team}:clarify" if xray else team
            sink = f"{target}:recall" if xray and target in in_graph else target
            out.lines.append(Line(source, sink, "asks"))
    _mark_run(out, waiting, asked, xray=xray)
    return out


def _mark_run(
    out: View, waiting: Collection[str], asked: Sequence[tuple[str, str]], *, xray: bool
) -> None:
    """Highlight where a run waits for a person, and draw the questions its teams asked."""
    if waiting:
        out.boxes = [replace(b, waiting=b.id in waiting) for b in out.boxes]
    drawn = {b.id for b in out.boxes}
    for (asker, target), count in Counter(asked).items():
        source = f"{asker}:clarify" if xray else asker
        sink = f"{target}:recall" if xray and f"{target}:recall" in drawn else target
        if source in drawn and sink in drawn:
            label = f"asked {count}" if count > 1 else "asked"
            out.lines.append(Line(source, sink, "asked", label=label))
    if waiting or asked:
        out.legend = f"{LEGEND}; {RUN_LEGEND}"


def waits_at(team: str | None, kind: str) -> str:
    """Return the node a pause waits at: its team's, else the run's own node for its kind."""
    return team or {"governance": APPROVAL, "review": REVIEW}.get(kind, kind)


STILL = frozenset({*TERMINAL, Phase.PAUSED, "QUEUED", "INTERRUPTED"})  # no worker drives it


def running_nodes(status: str, next_nodes: Sequence[str]) -> set[str]:
    """Return the nodes a worker drives now: the run's next nodes, while one drives it.

    A node of a stage's own (``team:draft``) names its team's box too.
    """
    if status in STILL:
        return set()
    return {n.partition(":")[0] for n in next_nodes} | set(next_nodes)


def pipeline_view(pipeline: str, *, xray: bool = False) -> View:
    """Draw ``pipeline``'s graph as compiled (no run, no database)."""
    from devfactory.graph.builder import build_graph

    teams = load_teams()
    graph = build_graph(pipeline, teams).compile()
    return view(graph, teams, title=f"pipeline {pipeline}", xray=xray)


def _back_edges(edges: Sequence[tuple[str, str]]) -> set[tuple[str, str]]:
    """Return the edges that close a loop, found depth-first from ``__start__``."""
    after: dict[str, list[str]] = {}
    for source, target in edges:
        after.setdefault(source, []).append(target)
    back: set[tuple[str, str]] = set()
    done: set[str] = set()
    path: list[str] = []

    def walk(node: str) -> None:
        path.append(node)
        for nxt in after.get(node, []):
            if nxt in path:
                back.add((node, nxt))
            elif nxt not in done:
                walk(nxt)
        path.pop()
        done.add(node)

    walk("__start__")
    return back


def _stage_state(
    record: StageRecord | None, *, blocked: bool, waits: bool, runs: bool
) -> tuple[str, tuple[str, ...]]:
    """Return a stage's state and the lines that say it, the person's wait first.

    A stage that waits for a person says so (BLOCKED when its gate blocked it);
    one a worker drives reads RUNNING, then what its last round ended with; else
    its record's outcome, or NOT RUN.
    """
    done = _stage_lines(record) if record else ()
    if blocked:
        return BLOCKED, (BLOCKED, "waits for a person")
    if waits:
        return WAITING, (f"{WAITING} for a person", *done)
    if runs:
        return RUNNING, (RUNNING, *(f"last round: {line}" for line in done[:1]))
    if record is None:
        return NOT_RUN, (NOT_RUN,)
    return record.outcome.value, done


def _stage_lines(record: StageRecord) -> tuple[str, ...]:
    """Say a recorded stage's outcome and attempts, then its confidence on a line of its own."""
    first = [record.outcome.value]
    if record.attempts:
        first.append(f"{record.attempts} attempt{'s' if record.attempts != 1 else ''}")
    line = " · ".join(first)
    if record.result is None:
        return (line,)
    return line, f"confidence {record.result.confidence:.2f}"


def _paint(box: Box) -> tuple[str, str] | None:
    """Return a box's fill and border colours (None: the default)."""
    if box.waiting:
        return COLOURS[BLOCKED if box.outcome == BLOCKED else WAITING]
    if box.outcome:
        return COLOURS[box.outcome]
    return COLOURS.get(box.kind)


def _ids(boxes: Sequence[Box], prefix: str) -> dict[str, str]:
    """Give every box a drawing id made of letters, digits and underscores only."""
    ids: dict[str, str] = {}
    for box in boxes:
        base = prefix + re.sub(r"\W", "_", box.id)
        ids[box.id] = base if base not in ids.values() else f"{base}_{len(ids)}"
    return ids


def _groups(boxes: Sequence[Box], depth: int) -> list[tuple[str, list[Box]]]:
    """Split the boxes nested deeper than ``depth`` by their group at ``depth``, in order."""
    found: dict[str, list[Box]] = {}
    for box in boxes:
        if len(box.groups) > depth:
            found.setdefault(box.groups[depth], []).append(box)
    return list(found.items())


_MERMAID_ESCAPES = {"&": "#amp;", '"': "#quot;", "<": "#lt;", ">": "#gt;"}


def _mermaid_text(text: str) -> str:
    return "".join(_MERMAID_ESCAPES.get(c, c) for c in text)


def _group_id(box: Box, depth: int) -> str:
    """Name the group ``box`` sits in at ``depth`` by the path of groups down to it."""
    return re.sub(r"\W", "_", "_".join(box.groups[: depth + 1]))


def to_mermaid(drawing: View) -> str:
    """Write ``drawing`` as a Mermaid flowchart (GitHub, Studio and the chat render it)."""
    ids = _ids(drawing.boxes, "n_")
    shapes = {"terminal": ('(["', '"])'), "person": ('{{"', '"}}')}
    title = _mermaid_text(drawing.title).replace("\\", "/")
    out = ["---", f'title: "{title}"', "---", "flowchart TD", f"  %% {drawing.legend}"]

    def nest(boxes: Sequence[Box], depth: int, indent: str) -> None:
        for box in (b for b in boxes if len(b.groups) == depth):
            left, right = shapes.get(box.kind, ('["', '"]'))
            label = "<br/>".join(_mermaid_text(line) for line in box.lines)
            waits = box.waiting and box.outcome != BLOCKED
            style = (WAITING if waits else box.outcome or box.kind).lower().replace(" ", "_")
            out.append(f"{indent}{ids[box.id]}{left}{label}{right}:::{style}")
        for name, inner in _groups(boxes, depth):
            out.append(f'{indent}subgraph g_{_group_id(inner[0], depth)}["{_mermaid_text(name)}"]')
            nest(inner, depth + 1, indent + "  ")
            out.append(f"{indent}end")

    nest(drawing.boxes, 0, "  ")
    arrows = {"flow": "-->", "route": "-.->", "asks": "--o", "asked": "==>"}
    asks: list[str] = []
    asked: list[str] = []
    for n, line in enumerate(drawing.lines):
        arrow = arrows[line.kind]
        if line.label:
            arrow = f'{arrow}|"{_mermaid_text(line.label)}"|'
        out.append(f"  {ids[line.source]} {arrow} {ids[line.target]}")
        {"asks": asks, "asked": asked}.get(line.kind, []).append(str(n))
    if asks:
        out.append(f"  linkStyle {','.join(asks)} stroke:{ASKS},stroke-dasharray:3 3")
    if asked:
        out.append(f"  linkStyle {','.join(asked)} stroke:{ASKS},stroke-width:3px")
    for name, (fill, border) in COLOURS.items():
        dashed = ",stroke-dasharray:4 3" if name in ("outside", NOT_RUN) else ""
        width = {"person": ",stroke-width:2px", WAITING: ",stroke-width:4px"}.get(name, "")
        style = name.lower().replace(" ", "_")
        out.append(f"  classDef {style} fill:{fill},stroke:{border}{width}{dashed}")
    return "\n".join(out) + "\n"


def _dot_text(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def to_dot(drawing: View) -> str:
    """Write ``drawing`` in Graphviz DOT: clusters as boxes, questions dotted and orange."""
    ids = _ids(drawing.boxes, "n_")
    # one part of the legend a line, so that the legend is never the widest thing drawn
    legend = DOT_BREAK.join(_dot_text(part) for part in drawing.legend.split("; "))
    out = [
        "digraph devfactory {",
        f'  label="{_dot_text(drawing.title)}{DOT_BREAK}{legend}";',
        f"  labelloc=t; rankdir=TB; {DOT_SPACING}",
        '  fontname="Helvetica";',
        '  node [shape=box, style="rounded,filled", fillcolor="#f2f0ff", fontname="Helvetica"];',
        '  edge [fontname="Helvetica", fontsize=10];',
    ]

    def nest(boxes: Sequence[Box], depth: int, indent: str) -> None:
        for box in (b for b in boxes if len(b.groups) == depth):
            label = DOT_BREAK.join(_dot_text(line) for line in box.lines)
            # the id names the node in SVG (the console finds a stage by it)
            attrs = [f'label="{label}"', f'id="{_dot_text(node_id(box.id))}"']
            if box.kind == "person":
                attrs.append("shape=hexagon")
            elif box.kind == "terminal":
                attrs.append("shape=oval")
            paint = _paint(box)
            if paint:
                attrs.append(f'fillcolor="{paint[0]}", color="{paint[1]}"')
            if box.kind == "outside" or box.outcome == NOT_RUN:
                attrs.append('style="rounded,filled,dashed"')
            if box.outcome or box.waiting:  # the console finds a stage's state by its class
                attrs.append(f'class="{state_class(box)}"')
            if box.waiting:
                attrs.append("penwidth=4")
            elif box.outcome == RUNNING:
                attrs.append("penwidth=3")
            out.append(f"{indent}{ids[box.id]} [{', '.join(attrs)}];")
        for name, inner in _groups(boxes, depth):
            out.append(f"{indent}subgraph cluster_{_group_id(inner[0], depth)} {{")
            frame = 'style="rounded,dashed"; color="#999999";'
            out.append(f'{indent}  label="{_dot_text(name)}"; {frame}')
            nest(inner, depth + 1, indent + "  ")
            out.append(f"{indent}}}")

    nest(drawing.boxes, 0, "  ")
    styles = {
        "flow": "",
        "route": " [style=dashed]",
        # an empty label: without one, dot spends minutes placing the full
        # pipeline's unconstrained edges between clusters (0.5 s with it)
        "asks": f' [style=dotted, color="{ASKS}", arrowhead=odot, constraint=false, label=" "]',
        "asked": f' [style=bold, penwidth=3, color="{ASKS}", constraint=false]',
    }
    for line in drawing.lines:
        style, source, target = styles[line.kind], ids[line.source], ids[line.target]
        if line.label:
            style = style[:-1] + f', label="{_dot_text(line.label)}"]'
        if line.kind == "asked":
            style = style[:-1] + f', id="{_dot_text(f"asked-{line.source}-{line.target}")}"]'
        if line.back:  # written forward and drawn backward, so the flow still goes down
            style = style[:-1] + ", dir=back]" if style else " [dir=back]"
            source, target = target, source
        out.append(f"  {source} -> {target}{style};")
    out.append("}")
    return "\n".join(out) + "\n"


def state_class(box: Box) -> str:
    """Return the class a run view's box carries in SVG: ``state-`` and its state."""
    state = WAITING if box.waiting and box.outcome != BLOCKED else box.outcome
    return "state-" + state.lower().replace(" ", "-")


def node_id(box_id: str) -> str:
    """Return the id a box carries in SVG: ``node-`` and the graph's node id."""
    return f"node-{box_id}"


def _render(drawing: View, fmt: Literal["png", "svg"]) -> bytes:
    """Lay ``drawing`` out with Graphviz's ``dot`` and write it as ``fmt``."""
    dot = shutil.which("dot")
    if dot is None:
        raise RuntimeError(
            f"{fmt.upper()} output needs Graphviz's `dot` on PATH (apt-get install graphviz)"
        )
    try:
        proc = subprocess.run(
            [dot, f"-T{fmt}"],
            input=to_dot(drawing).encode(),
            capture_output=True,
            check=False,
            timeout=DOT_TIMEOUT_S,
        )
    except subprocess.TimeoutExpired as exc:
        raise RuntimeError(f"dot did not finish within {DOT_TIMEOUT_S:g} s") from exc
    if proc.returncode != 0:
        raise RuntimeError(f"dot failed: {proc.stderr.decode(errors='replace')[:500]}")
    return proc.stdout


def to_png(drawing: View) -> bytes:
    """Render ``drawing`` to PNG with Graphviz (``apt-get install graphviz``)."""
    return _render(drawing, "png")


def to_svg(drawing: View) -> str:
    """Render ``drawing`` to SVG with Graphviz: each node's ``id`` is ``node_id(box.id)``."""
    return _render(drawing, "svg").decode()
