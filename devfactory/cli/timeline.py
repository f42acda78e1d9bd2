"""The audit timeline's one line per kind of run event (``devfactory audit show``).

Apart from ``cli/audit_commands.py`` so that the command line loads the run events'
models only when a timeline is shown.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

from devfactory import events

# One line per kind of event, for the timeline; kinds in AS_STORED show their payload.
LINES: dict[type[events.Event], Callable[[Any], str]] = {
    events.PhaseChanged: lambda e: f"{e.from_phase} -> {e.to_phase}: {e.reason}"[:120],
    events.TaskResultRecorded: lambda e: f"{e.team} {e.outcome} ({e.attempts} attempts)",
    events.UsageRecorded: lambda e: (
        f"{e.team} {e.input_tokens}/{e.output_tokens} tokens on {e.model}"
    ),
    events.DecisionRecorded: lambda e: f"{e.pause}: {e.action} {e.text}"[:120],
    events.GovernanceAssessed: lambda e: f"risk {e.risk} -> {e.action}",
    events.ClarificationRouted: lambda e: f"{e.asker} asked {e.target}: {e.outcome}"[:120],
    events.RunCreated: lambda e: f"{e.pipeline}: {e.requirement}"[:120],
}
AS_STORED: frozenset[type[events.Event]] = frozenset(
    {
        events.Notice,  # its kind and message say it best
        events.FactsExtracted,
        # never appended to the audit log: the driver's own, and a stage's progress
        events.RunStarted,
        events.RunFinished,
        events.RunError,
        events.StageStarted,
        events.StageFinished,  # kept as its task_result and usage
        events.Recalled,
        events.DraftSaved,
    }
)


def what(kind: str, payload: dict[str, Any]) -> str:
    """Say in one line what an audit event records."""
    try:
        event = events.parse_event({"event": kind, **payload})
    except ValidationError:  # a kind this version does not know, or an older shape
        return str(payload)[:120]
    if type(event) in AS_STORED:
        return str(payload)[:120]
    return LINES[type(event)](event)
