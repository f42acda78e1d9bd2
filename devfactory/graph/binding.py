"""Give a top-level node its fixed setup, and call it the way LangGraph calls nodes.

Nodes are top-level functions ``node(state, runtime, setup)``: the run's
(``control.RunSetup``) or a team's (``stage.StageSetup``) setup is made once
when the graph is built and bound here.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Protocol, TypeVar

from langgraph.runtime import Runtime

from devfactory.graph.context import Context

S = TypeVar("S")
S_contra = TypeVar("S_contra", contravariant=True)
T = TypeVar("T")
R = TypeVar("R")
R_co = TypeVar("R_co", covariant=True)


class BoundNode(Protocol[S_contra, R_co]):
    """A node as LangGraph calls it: the state, and the runtime by keyword."""

    def __call__(self, state: S_contra, *, runtime: Runtime[Context]) -> R_co: ...  # noqa: D102


def bind(node: Callable[[S, Runtime[Context], T], R], setup: T) -> BoundNode[S, R]:
    """Give ``node`` its ``setup``, keeping its name, docstring and routes.

    LangGraph reads the routes a node may take from its ``Command[Literal[...]]``
    return annotation, which ``functools.wraps`` carries over, so the drawn
    graph is the graph that runs.
    """

    @functools.wraps(node)
    def bound(state: S, *, runtime: Runtime[Context]) -> R:
        return node(state, runtime, setup)

    return bound
