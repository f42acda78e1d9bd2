"""Graphs served to LangGraph Studio / ``langgraph dev`` (see ``langgraph.json``).

The LangGraph server supplies its own checkpointer and store, so these are
compiled without one. Models resolve through the configured router. The
server's store indexes what is put in it with ``embed``: the factory's own
embedded MiniLM (384 dimensions, no server), so Studio's store searches by
meaning offline, as the factory's memory does.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from devfactory.graph.builder import build_graph
from devfactory.models.embeddings import MiniLMEmbedder

mvp = build_graph("mvp").compile(name="factory_mvp")
full = build_graph("full").compile(name="factory_full")


@lru_cache(maxsize=1)
def _embedder() -> MiniLMEmbedder:
    return MiniLMEmbedder()


def embed(texts: Sequence[str]) -> list[list[float]]:
    """Embed texts for the server's store index (``store.index.embed``)."""
    return _embedder().embed(list(texts))
