"""The audit timeline's one line per kind of run event (``devfactory audit show``).

Apart from ``cli/audit_commands.py`` so that the command line loads the run events'
models only when a timeline is shown.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

from devfactory.events import (
    ClarificationRouted,
    DecisionRecorded,
    DraftSaved,
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
    parse_event,
)

# One line per kind of event, for the timeline; kinds in AS_STORED show their payload.
LINES: dict[type[Event], Callable[[Any], str]] = {
    PhaseChanged: lambda e: f"{e.from_phase} -> {e.to_phase}: {e.reason}"[:120],
    TaskResultRecorded: lambda e: f"{e.team} {e.outcome} ({e.attempts} attempts)",
    UsageRecorded: lambda e: f"{e.team} {e.input_tokens}/{e.output_tokens} tokens on {e.model}",
    DecisionRecorded: lambda e: f"{e.pause}: {e.action} {e.text}"[:120],
    GovernanceAssessed: lambda e: f"risk {e.risk} -> {e.action}",
    ClarificationRouted: lambda e: f"{e.asker} asked {e.target}: {e.outcome}"[:120],
    RunCreated: lambda e: f"{e.pipeline}: {e.requirement}"[:120],
}
AS_STORED: frozenset[type[Event]] = frozenset(
    {
        Notice,  # its kind and message say it best
        FactsExtracted,
        # never appended to the audit log: the driver's own, and a stage's progress
        RunStarted,
        RunFinished,
        RunError,
        StageStarted,
        StageFinished,  # kept as its task_result and usage
        Recalled,
        DraftSaved,
    }
)


def what(kind: str, payload: dict[str, Any]) -> str:
    """Say in one line what an audit event records."""
    try:
        event = parse_event({"event": kind, **payload})
    except ValidationError:  # a kind this version does not know, or an older shape
        return str(payload)[:120]
    if type(event) in AS_STORED:
        return str(payload)[:120]
    return LINES[type(event)](event)
