"""Draw a pipeline graph: Mermaid text, or PNG through Graphviz's ``dot``."""

from __future__ import annotations

import shutil
import subprocess
from typing import Any


def graph_mermaid(graph: Any, *, xray: bool = False) -> str:
    """Return the compiled graph as Mermaid (the same picture Studio shows)."""
    return str(graph.get_graph(xray=xray).draw_mermaid())


def graph_dot(graph: Any, *, xray: bool = False) -> str:
    """Return the compiled graph in Graphviz DOT."""
    drawable = graph.get_graph(xray=xray)
    lines = ["digraph devfactory {", "  rankdir=TB;", '  node [shape=box, style="rounded"];']
    for node in drawable.nodes.values():
        lines.append(f'  "{node.id}" [label="{node.name}"];')
    for edge in drawable.edges:
        style = ' [style="dashed"]' if edge.conditional else ""
        lines.append(f'  "{edge.source}" -> "{edge.target}"{style};')
    lines.append("}")
    return "\n".join(lines) + "\n"


def graph_png(graph: Any, *, xray: bool = False) -> bytes:
    """Render the graph to PNG with Graphviz (``apt-get install graphviz``)."""
    dot = shutil.which("dot")
    if dot is None:
        raise RuntimeError("PNG output needs Graphviz's `dot` on PATH (apt-get install graphviz)")
    proc = subprocess.run(
        [dot, "-Tpng"], input=graph_dot(graph, xray=xray).encode(), capture_output=True, check=False
    )
    if proc.returncode != 0:
        raise RuntimeError(f"dot failed: {proc.stderr.decode(errors='replace')[:500]}")
    return proc.stdout
