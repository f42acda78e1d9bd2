"""Graphs served to LangGraph Studio / ``langgraph dev`` (see ``langgraph.json``).

The LangGraph server supplies its own checkpointer and store, so these are
compiled without one. Models resolve through the configured router.
``langgraph.json`` names them by module (``devfactory.graph.studio:mvp``), not
by a path the server would resolve against the current directory, so ``langgraph
dev --config <repo>/langgraph.json`` works from any directory; the store's
embedder is ``studio_store``'s.
"""

from __future__ import annotations

from devfactory.graph.builder import build_graph

mvp = build_graph("mvp").compile(name="factory_mvp")
full = build_graph("full").compile(name="factory_full")
