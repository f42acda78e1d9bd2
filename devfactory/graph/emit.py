"""Emit a run event from inside a graph node.

The event is kept first (``Context.record``: the runner's recorder writes it
to Postgres, the audit log and the run's folder), then streamed to whoever
drives the run (LangGraph's custom stream). Keeping it inside the node matters:
LangGraph saves a finished node's writes before the driver reads its stream,
so an event recorded only by the driver is lost when the driver dies between
the two, and the re-driven run would not run that node again. Kept here, a
failed write fails the node, whose writes are then not saved: the node runs
again and emits again (every kept event is idempotent by its key).
"""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from devfactory.events import Event


def emit(runtime: Runtime[Any], event: Event) -> None:
    """Keep ``event`` where the run records events, then hand it to whoever drives the run."""
    keep = getattr(runtime.context, "record", None)
    if keep is not None:
        keep(event)
    runtime.stream_writer(event)
