"""Graphs served to LangGraph Studio / ``langgraph dev`` (see ``langgraph.json``).

The LangGraph server supplies its own checkpointer and store, so these are
compiled without one. Models resolve through the configured router.
``langgraph.json`` names them by module (``devfactory.graph.studio:mvp``), not
by a path the server would resolve against the current directory, so ``langgraph
dev --config <repo>/langgraph.json`` works from any directory; the store's
embedder is ``studio_store``'s.

Studio's input is JSON, so its ``budget`` and ``repository`` arrive as plain
dicts; the factory's own entry points type a run's input before the graph
sees it (``factory/intake.RunRequest``), and here the graph's entry does: the
``START`` node reads its input through ``upgrade`` (the mapper LangGraph applies
to a node's input before it runs), once, so every node sees the state's models.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from langgraph.constants import START
from langgraph.graph.state import CompiledStateGraph

from devfactory.graph.builder import build_graph
from devfactory.graph.checkpoints import upgrade


def _typed(first: object) -> object:
    """Return a run's first input with models where it holds their JSON (other input as it is)."""
    return upgrade(first) if isinstance(first, Mapping) else first


def studio_graph(pipeline: str) -> CompiledStateGraph[Any, Any, Any, Any]:
    """Compile ``pipeline``'s graph for Studio: no checkpointer, its input upgraded at entry."""
    graph = build_graph(pipeline).compile(name=f"factory_{pipeline}")
    graph.nodes[START].mapper = _typed
    return graph


mvp = studio_graph("mvp")
full = studio_graph("full")
