"""Emit a run event from inside a graph node (LangGraph's custom stream)."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from devfactory.events import Event


def emit(runtime: Runtime[Any], event: Event) -> None:
    """Hand ``event`` to whoever drives the run (the runner records it, then shows it)."""
    runtime.stream_writer(event)
