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

Without keys nothing is sent: ``open_tracing`` returns None. With keys it
first asks the server's health endpoint, once, with a short timeout: a server
that refuses connections, or accepts them and never answers, costs that one
warning and at most the timeout, and the process traces nothing. Past the
probe, export is Langfuse's own background OTLP export with a short timeout,
and the exporter's complaints about a server that went away are one line per
``QUIET_S``, not one per batch and retry.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

import httpx

from devfactory import events
from devfactory.redact import shown_url
from devfactory.store.runs_table import RunRow

log = logging.getLogger(__name__)

KEYS = ("LANGFUSE_PUBLIC_KEY", "LANGFUSE_SECRET_KEY")
EXPORT_TIMEOUT_S: Final = 2
"""Seconds one export to Langfuse may take (``LANGFUSE_TIMEOUT`` overrides it)."""
QUIET_S: Final = 600.0
"""After one line from Langfuse's exporter about a failed export, the next such within this
many seconds is dropped."""
# Where the exporter's complaints come from: Langfuse's own, and OpenTelemetry's export.
EXPORT_LOGGERS: Final = (
    "langfuse",
    "opentelemetry.exporter.otlp.proto.http.trace_exporter",
    "opentelemetry.sdk.trace.export",
    "opentelemetry.sdk._shared_internal",
)


def tracing_configured() -> bool:
    """Say whether Langfuse keys are set (without them nothing is traced or sent)."""
    return all(os.environ.get(key) for key in KEYS)


def server_url() -> str:
    """Return the Langfuse server the factory sends to (as the Langfuse client picks it)."""
    return (
        os.environ.get("LANGFUSE_BASE_URL")
        or os.environ.get("LANGFUSE_HOST")
        or "https://cloud.langfuse.com"
    ).rstrip("/")


def open_tracing(probe_timeout_s: float = 1.5) -> Any | None:
    """Return the Langfuse client the keys in the environment name; None without keys.

    None too, after one warning, when the server does not answer its health
    endpoint within ``probe_timeout_s``: a dead or silent Langfuse costs the
    probe, never the runs.
    """
    if not tracing_configured():
        return None
    server = server_url()
    problem = _unreachable(server, probe_timeout_s)
    if problem:
        log.warning("Langfuse at %s %s: runs of this process are not traced", server, problem)
        return None
    from langfuse import Langfuse

    _quiet_exporter()
    try:
        return Langfuse(timeout=int(os.environ.get("LANGFUSE_TIMEOUT") or EXPORT_TIMEOUT_S))
    except Exception as exc:  # noqa: BLE001 - tracing must never stop a run
        log.warning("Langfuse is configured but could not start: %s", exc)
        return None


def _unreachable(server: str, timeout_s: float) -> str:
    """Say why ``server`` is not a Langfuse that answers ("" when it answers in time)."""
    try:
        response = httpx.get(f"{server}/api/public/health", timeout=timeout_s)
    except httpx.TimeoutException:
        return f"did not answer within {timeout_s:g} s"
    except (httpx.HTTPError, ValueError) as exc:  # refused, no such host, a bad URL
        return f"cannot be reached ({type(exc).__name__}: {exc})"
    if response.status_code in (502, 503, 504):  # a proxy in front of a Langfuse that is down
        return f"answered {response.status_code}"
    return ""


class _Quiet(logging.Filter):
    """Let one warning or error through per ``QUIET_S``, from all the exporter's loggers."""

    def __init__(self) -> None:
        super().__init__()
        self.last = float("-inf")

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True
        now = time.monotonic()
        if now - self.last < QUIET_S:
            return False
        self.last = now
        record.exc_info = record.exc_text = None  # one line: the retries' tracebacks say no more
        return True


_QUIET = _Quiet()


def _quiet_exporter() -> None:
    """Put ``_QUIET`` on the exporter's loggers (once per process)."""
    for name in EXPORT_LOGGERS:
        logger = logging.getLogger(name)
        if _QUIET not in logger.filters:
            logger.addFilter(_QUIET)


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
    # where people open it, when the factory sends to an address only it can reach
    base = os.environ.get("LANGFUSE_UI_URL") or server_url()
    return shown_url(  # a link people see: never its credentials
        f"{base.rstrip('/')}/trace/{trace_id_of(run_id)}"
    )


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

    def event(self, event: events.Event) -> None:
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
            if isinstance(event, events.StageFinished) and event.record.result is not None:
                record, result = event.record, event.record.result
                self.client.create_score(  # Langfuse charts and filters a stage's confidence
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


def describe(event: events.Event) -> Described | None:
    """Return the name, metadata and level of the trace event for ``event`` (None: none)."""
    return DESCRIBE[type(event)](event)


def _stage_finished(event: events.StageFinished) -> Described:
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


def _stage_started(event: events.StageStarted) -> Described | None:
    if event.attempt <= 1:
        return None  # the stage's span says it started; only a retry is news
    because = {"team": event.team, "attempt": event.attempt, "because": event.because[:10]}
    return f"gate: {event.team} tries again (attempt {event.attempt})", because, "WARNING"


def _transition(event: events.PhaseChanged) -> Described:
    return (
        f"{event.from_phase} -> {event.to_phase}",
        {"actor": event.actor, "reason": event.reason},
        "DEFAULT",
    )


def _as_recorded(event: events.Event) -> Described:
    return event.event, event.model_dump(mode="json", exclude={"event"}), "DEFAULT"


def _notice(event: events.Notice) -> Described:
    return f"notice: {event.kind}", event.model_dump(mode="json", exclude={"event"}), "WARNING"


def _untraced(event: events.Event) -> None:
    return None


# What each kind of event becomes on the trace; _untraced: nothing.
DESCRIBE: dict[type[events.Event], Callable[[Any], Described | None]] = {
    events.StageFinished: _stage_finished,
    events.StageStarted: _stage_started,
    events.PhaseChanged: _transition,
    events.GovernanceAssessed: _as_recorded,
    events.DecisionRecorded: _as_recorded,
    events.ClarificationRouted: _as_recorded,
    events.Notice: _notice,
    events.RunFinished: _untraced,  # RunTracer.finish marks where the drive left the run
    events.RunCreated: _untraced,  # the trace itself stands for the run
    events.RunStarted: _untraced,
    events.RunError: _untraced,
    events.Recalled: _untraced,
    events.DraftSaved: _untraced,  # the stage's span ends with its files
    events.FactsExtracted: _untraced,
    events.TaskResultRecorded: _untraced,  # what StageFinished's event carries already
    events.UsageRecorded: _untraced,
}
