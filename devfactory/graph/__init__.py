"""The run graph: state, stage factory, gate, builder."""

from devfactory.graph.builder import build_graph

__all__ = ["build_graph"]
