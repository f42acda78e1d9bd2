"""The operator's controls as read at one moment: what they stop, hold and change.

``Overrides`` is what the driver and the graph consult at each step and each
attempt: the emergency stop, the teams and projects on hold, the confidence
thresholds an admin set per team. Only an admin may change them
(``check_admin``); the rules that read them are here, the rows are
``store/controls.py``'s.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Final, Literal

ADMIN: Final = "admin"
"""The one role that may stop the factory, hold teams and projects, and change thresholds."""

OPERATIONS: Final = "policy:operations"
"""Who answers a hold when its team is resumed (a rule of the factory, never a person)."""

HoldKind = Literal["stop", "team", "project"]


class OperationsRefusedError(PermissionError):
    """A role other than admin asked to change the operator's controls."""


class UnknownTeamError(ValueError):
    """No team has that slug."""


class OperationInputError(ValueError):
    """An operation asked with a value it cannot take (a threshold past 0..1, no reason)."""


@dataclass(frozen=True)
class Hold:
    """One control that holds: who set it, why, when (and the incident that did)."""

    kind: HoldKind
    target: str
    by: str
    reason: str
    at: datetime
    incident: int | None = None

    def describe(self) -> str:
        """Say in one line what holds and who set it."""
        what = {"stop": "the emergency stop", "team": "team", "project": "project"}[self.kind]
        name = f" {self.target}" if self.target else ""
        why = f": {self.reason}" if self.reason else ""
        return f"{what}{name} held by {self.by}{why}"


@dataclass(frozen=True)
class Overrides:
    """Everything the operator holds or changed, as read at one moment."""

    stop: Hold | None = None
    teams: dict[str, Hold] = field(default_factory=dict)
    projects: dict[str, Hold] = field(default_factory=dict)
    thresholds: dict[str, float] = field(default_factory=dict)

    def halt(self, project: str) -> str:
        """Say why a run of ``project`` must not take its next step ("" to go on)."""
        if self.stop is not None:
            return self.stop.describe()
        held = self.projects.get(project)
        return held.describe() if held is not None else ""

    def threshold(self, team: str, default: float) -> float:
        """Return ``team``'s confidence threshold: the admin's override, else ``default``."""
        return self.thresholds.get(team, default)


def check_admin(role: str, what: str) -> None:
    """Raise ``OperationsRefusedError`` unless ``role`` is admin."""
    if role != ADMIN:
        raise OperationsRefusedError(f"role {role!r} may not {what}; it needs {ADMIN}")


def check_threshold(value: float) -> float:
    """Return ``value`` if it is a confidence threshold (0..1), else raise OperationInputError."""
    if not 0.0 <= value <= 1.0 or value != value:
        raise OperationInputError(f"a confidence threshold is between 0 and 1, not {value!r}")
    return value
