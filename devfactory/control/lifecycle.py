"""The run lifecycle as an explicit state machine.

``DRAFT -> GOVERNANCE_ANALYSIS -> (REJECTED | APPROVED) -> PLANNING -> IN_PROGRESS
-> VALIDATING -> AWAITING_REVIEW -> (COMPLETED | IN_PROGRESS on revise)``, with
``VALIDATING -> IN_PROGRESS`` when the built software's failures go back to
their teams (a bounded fix round), plus
``PAUSED`` while a person is asked something, ``FAILED`` from any working
phase, and ``CANCELLED`` from any phase that has not ended (a person asked it
to stop). A paused run may only go back to the phase it paused in (or be
cancelled, or fail when a worker gives up on it).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field


class Phase(StrEnum):
    """Where a run is in its lifecycle."""

    DRAFT = "DRAFT"
    GOVERNANCE_ANALYSIS = "GOVERNANCE_ANALYSIS"
    REJECTED = "REJECTED"
    APPROVED = "APPROVED"
    PLANNING = "PLANNING"
    IN_PROGRESS = "IN_PROGRESS"
    VALIDATING = "VALIDATING"
    AWAITING_REVIEW = "AWAITING_REVIEW"
    COMPLETED = "COMPLETED"
    PAUSED = "PAUSED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"


TERMINAL = frozenset({Phase.COMPLETED, Phase.REJECTED, Phase.FAILED, Phase.CANCELLED})

_NEXT: dict[Phase, frozenset[Phase]] = {
    Phase.DRAFT: frozenset({Phase.GOVERNANCE_ANALYSIS, Phase.FAILED}),
    # a modified requirement is analysed again: the self-loop is a real transition
    Phase.GOVERNANCE_ANALYSIS: frozenset(
        {Phase.GOVERNANCE_ANALYSIS, Phase.APPROVED, Phase.REJECTED, Phase.PAUSED, Phase.FAILED}
    ),
    Phase.APPROVED: frozenset({Phase.PLANNING, Phase.FAILED}),
    Phase.PLANNING: frozenset({Phase.IN_PROGRESS, Phase.FAILED}),
    Phase.IN_PROGRESS: frozenset({Phase.VALIDATING, Phase.PAUSED, Phase.FAILED}),
    Phase.VALIDATING: frozenset({Phase.AWAITING_REVIEW, Phase.IN_PROGRESS, Phase.FAILED}),
    Phase.AWAITING_REVIEW: frozenset(
        {Phase.COMPLETED, Phase.IN_PROGRESS, Phase.PAUSED, Phase.FAILED}
    ),
    Phase.PAUSED: frozenset(),  # back to the phase it paused in; see ``check``
    **{ended: frozenset() for ended in TERMINAL},
}
for _working in set(Phase) - TERMINAL - {Phase.PAUSED}:  # a person may cancel any of them
    _NEXT[_working] |= {Phase.CANCELLED}


class IllegalTransitionError(RuntimeError):
    """A transition the lifecycle does not allow was attempted."""


def check(current: Phase | str, target: Phase | str, *, paused_from: Phase | str | None = None):
    """Raise ``IllegalTransitionError`` unless ``current -> target`` is allowed.

    Args:
        current: the run's phase now.
        target: the phase it should move to.
        paused_from: for a PAUSED run, the phase it paused in (the only way back).

    """
    current, target = Phase(current), Phase(target)
    if current is Phase.PAUSED:
        if target in (Phase.CANCELLED, Phase.FAILED):
            return  # cancelled by a person, or given up on (its pause expired into a failure)
        if paused_from is not None and target is Phase(paused_from):
            return
        raise IllegalTransitionError(
            f"a PAUSED run may only return to the phase it paused in "
            f"({paused_from or 'unknown'}), not {target}"
        )
    if target not in _NEXT[current]:
        allowed = ", ".join(sorted(_NEXT[current])) or "nothing (terminal)"
        raise IllegalTransitionError(
            f"illegal transition {current} -> {target}; allowed: {allowed}"
        )


def allowed_from(current: Phase | str) -> frozenset[Phase]:
    """Return the phases ``current`` may move to (PAUSED: see ``check``)."""
    return _NEXT[Phase(current)]


class Transition(BaseModel):
    """One recorded move of a run between phases: who or what caused it, when, why."""

    seq: int = 0
    from_phase: Phase
    to_phase: Phase
    actor: str = Field(min_length=1, max_length=120)
    reason: str = Field(default="", max_length=2000)
    at: datetime | None = None
