"""Langfuse tracing of runs, attached where a run is driven and never inside a node.

With ``LANGFUSE_PUBLIC_KEY`` and ``LANGFUSE_SECRET_KEY`` set (and
``LANGFUSE_BASE_URL`` for a self-hosted server), every drive of a run joins
one trace: its id is derived from the run id (``Langfuse.create_trace_id``),
so a resumed run continues the same trace, and its session id is the run id.
Langfuse's LangChain callback, given to the graph's stream, makes a span for
the graph, each stage and each of a stage's steps, and a generation for each
model call with its tokens and the model that served it; the trace is tagged
with the project and pipeline. What the run records (``RunTracer.event``)
becomes events on the trace: every move of the lifecycle, each stage's outcome
(team, attempts, confidence, usage, cost, model, sandbox checks), each time the
gate sends a stage back (with its feedback), governance, decisions,
clarifications and notices (budget warnings among them). Each stage's
confidence is also a score on the trace (name ``confidence``, the team in its
metadata), so Langfuse can chart and filter it; where a drive stops, the trace
gains an ``outcome:`` tag.

Without keys nothing is sent: ``open_tracing`` returns None. Export is
Langfuse's own background OTLP export: a server that refuses connections
costs a warning, never the run.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from devfactory.events import (
    ClarificationRouted,
    DecisionRecorded,
    Event,
    FactsExtracted,
    GovernanceAssessed,
    Notice,
    PhaseChanged,
    Recalled,
    RunCreated,
    RunError,
    RunFinished,
    RunStarted,
    StageFinished,
    StageStarted,
    TaskResultRecorded,
    UsageRecorded,
)
from devfactory.store.runs import RunRow

log = logging.getLogger(__name__)

KEYS = ("LANGFUSE_PUBLIC_KEY", "LANGFUSE_SECRET_KEY")


def tracing_configured() -> bool:
    """Say whether Langfuse keys are set (without them nothing is traced or sent)."""
    return all(os.environ.get(key) for key in KEYS)


def open_tracing() -> Any | None:
    """Return the Langfuse client the keys in the environment name, or None without keys."""
    if not tracing_configured():
        return None
    from langfuse import Langfuse

    try:
        return Langfuse()
    except Exception as exc:  # noqa: BLE001 - tracing must never stop a run
        log.warning("Langfuse is configured but could not start: %s", exc)
        return None


def trace_id_of(run_id: str) -> str:
    """Return the trace id of ``run_id``: the same for every drive of the run."""
    from langfuse import Langfuse

    return str(Langfuse.create_trace_id(seed=run_id))


def trace_url(run_id: str) -> str | None:
    """Return the link to ``run_id``'s trace (None when Langfuse is not configured).

    Langfuse serves ``/trace/<id>`` and sends it on to the project that holds it;
    ``LANGFUSE_UI_URL`` names the server as people open it (compose's
    ``LANGFUSE_URL``), else the address the factory sends to is used.
    """
    if not tracing_configured():
        return None
    base = (
        os.environ.get("LANGFUSE_UI_URL")  # where people open it, when the factory
        or os.environ.get("LANGFUSE_BASE_URL")  # sends to an address only it can reach
        or os.environ.get("LANGFUSE_HOST")
        or "https://cloud.langfuse.com"
    )
    return f"{base.rstrip('/')}/trace/{trace_id_of(run_id)}"


@dataclass
class RunTracer:
    """One run's trace: the graph's callback and config, and events for what it records."""

    client: Any  # a langfuse.Langfuse
    row: RunRow
    trace_id: str = field(init=False)

    def __post_init__(self) -> None:
        self.trace_id = trace_id_of(self.row.run_id)

    @property
    def tags(self) -> list[str]:
        """The trace's tags: its project and pipeline."""
        return [f"project:{self.row.project}", f"pipeline:{self.row.pipeline}"]

    def config(self) -> dict[str, Any]:
        """Return what joins the graph's config: Langfuse's callback, session and tags."""
        from langfuse.langchain import CallbackHandler

        # the callback finds this client by its public key (Langfuse keeps one per key)
        public_key = getattr(getattr(self.client, "_resources", None), "public_key", None)
        handler = CallbackHandler(public_key=public_key, trace_context={"trace_id": self.trace_id})
        metadata: dict[str, Any] = {
            "langfuse_session_id": self.row.run_id,
            "langfuse_tags": self.tags,
            "run_id": self.row.run_id,
            "project": self.row.project,
            "pipeline": self.row.pipeline,
        }
        if self.row.owner:
            metadata["langfuse_user_id"] = self.row.owner
        return {"callbacks": [handler], "metadata": metadata}

    def event(self, event: Event) -> None:
        """Put what the run recorded on its trace (never raises: tracing is not the run)."""
        described = describe(event)
        if described is None:
            return
        name, metadata, level = described
        try:
            self.client.create_event(
                trace_context={"trace_id": self.trace_id},
                name=name,
                metadata={**metadata, "run_id": self.row.run_id, "tags": self.tags},
                level=level,
            )
            result = event.record.result if isinstance(event, StageFinished) else None
            if isinstance(event, StageFinished) and result is not None:
                record = event.record  # a score: Langfuse charts and filters a stage's confidence
                self.client.create_score(
                    name="confidence",
                    value=result.confidence,
                    trace_id=self.trace_id,
                    data_type="NUMERIC",
                    comment=f"{record.team}: {record.outcome.value}",
                    metadata={"team": record.team, "outcome": record.outcome.value},
                )
        except Exception as exc:  # noqa: BLE001
            log.warning("run %s: Langfuse event %s not sent: %s", self.row.run_id, name, exc)

    def finish(self, status: str, reason: str) -> None:
        """Mark where this drive left the run, and hand the spans to the exporter."""
        from langfuse import propagate_attributes

        level = "ERROR" if status in ("FAILED", "REJECTED") else "DEFAULT"
        tags = [*self.tags, f"outcome:{status.lower()}"]
        try:
            with propagate_attributes(tags=tags, session_id=self.row.run_id):
                self.client.create_event(  # its trace tags join the trace's: filter by outcome
                    trace_context={"trace_id": self.trace_id},
                    name=f"run {status.lower()}",
                    metadata={
                        "run_id": self.row.run_id,
                        "status": status,
                        "reason": reason[:2000],
                        "tags": tags,
                    },
                    level=level,
                )
            self.client.flush()
        except Exception as exc:  # noqa: BLE001
            log.warning("run %s: Langfuse flush failed: %s", self.row.run_id, exc)


Described = tuple[str, dict[str, Any], str]


def describe(event: Event) -> Described | None:
    """Return the name, metadata and level of the trace event for ``event`` (None: none)."""
    return DESCRIBE[type(event)](event)


def _stage_finished(event: StageFinished) -> Described:
    record = event.record
    result = record.result
    metadata: dict[str, Any] = {
        "team": record.team,
        "outcome": record.outcome.value,
        "reason": record.reason[:2000],
        "attempts": record.attempts,
        "confidence": result.confidence if result else None,
        "model": record.model,
        "usage": record.usage.model_dump(),
        "cost_usd": record.cost_usd,
        "seconds": record.seconds,
        "gate_feedback": record.gate_feedback[:10],
        "checks": [check.model_dump(mode="json") for check in record.checks],
        "tags": [f"team:{record.team}", f"outcome:{record.outcome.value}"],
    }
    level = "DEFAULT" if record.outcome.value == "PASSED" else "WARNING"
    return f"stage {record.team}: {record.outcome.value}", metadata, level


def _stage_started(event: StageStarted) -> Described | None:
    if event.attempt <= 1:
        return None  # the stage's span says it started; only a retry is news
    because = {"team": event.team, "attempt": event.attempt, "because": event.because[:10]}
    return f"gate: {event.team} tries again (attempt {event.attempt})", because, "WARNING"


def _transition(event: PhaseChanged) -> Described:
    return (
        f"{event.from_phase} -> {event.to_phase}",
        {"actor": event.actor, "reason": event.reason},
        "DEFAULT",
    )


def _as_recorded(event: Event) -> Described:
    return event.event, event.model_dump(mode="json", exclude={"event"}), "DEFAULT"


def _notice(event: Notice) -> Described:
    return f"notice: {event.kind}", event.model_dump(mode="json", exclude={"event"}), "WARNING"


def _untraced(event: Event) -> None:
    return None


# What each kind of event becomes on the trace; _untraced: nothing.
DESCRIBE: dict[type[Event], Callable[[Any], Described | None]] = {
    StageFinished: _stage_finished,
    StageStarted: _stage_started,
    PhaseChanged: _transition,
    GovernanceAssessed: _as_recorded,
    DecisionRecorded: _as_recorded,
    ClarificationRouted: _as_recorded,
    Notice: _notice,
    RunFinished: _untraced,  # RunTracer.finish marks where the drive left the run
    RunCreated: _untraced,  # the trace itself stands for the run
    RunStarted: _untraced,
    RunError: _untraced,
    Recalled: _untraced,
    FactsExtracted: _untraced,
    TaskResultRecorded: _untraced,  # what StageFinished's event carries already
    UsageRecorded: _untraced,
}
