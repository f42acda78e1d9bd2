"""Graphs served to LangGraph Studio / ``langgraph dev`` (see ``langgraph.json``).

The LangGraph server supplies its own checkpointer and store, so these are
compiled without one. Models resolve through the configured router.
"""

from devfactory.graph.builder import build_graph

mvp = build_graph("mvp").compile(name="factory_mvp")
full = build_graph("full").compile(name="factory_full")
