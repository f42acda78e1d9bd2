"""Operations.

Override controls and the incidents that trip them (``factory/switchboard.py``).

``Settings.operations`` (``settings/__init__.py``): each field is given by its flat name,
``DEVFACTORY_<NAME>``, as every setting is.
"""

from __future__ import annotations

from pydantic import Field

from devfactory.settings.concern import Concern


class OperationsSettings(Concern):
    """Operations."""

    # OPERATIONS: override controls and incidents (factory/switchboard.py).
    operations_cache_s: float = Field(default=0.5, ge=0.0, le=1.0)
    """How long a process reuses what it read of the operator's controls (the emergency stop,
    paused teams and projects, thresholds) at a step boundary."""
    incidents_enabled: bool = True
    """Open incidents (and pause the project) when a trigger fires."""
    incident_spend_multiple: float = Field(default=5.0, ge=1.5, le=100.0)
    """A stage spending more than this times the median of its team's recent stages in the
    project (cost, or tokens where nothing is priced) is a budget spike."""
    incident_latency_multiple: float = Field(default=5.0, ge=1.5, le=100.0)
    """Model seconds per call over this times the team's median in the project is anomalous."""
    incident_cost_multiple: float = Field(default=5.0, ge=1.5, le=100.0)
    """Model cost per call over this times the team's median in the project is anomalous."""
    incident_failing_runs: int = Field(default=3, ge=1, le=50)
    """Runs of a project in a row whose final tests failed that open an incident."""
    incident_window: int = Field(default=20, ge=3, le=500)
    """How many of a team's recent stages in a project the medians are taken over."""
    incident_min_samples: int = Field(default=5, ge=2, le=500)
    """Stages a team must have finished in a project before its spend, latency or cost compared
    with their median can open an incident."""
    incident_min_calls: int = Field(default=5, ge=1, le=1000)
    """Model calls a stage must have made before its seconds or cost per call can open an
    incident: one slow call, or a model warming up, never does."""
    incident_baseline_calls: int = Field(default=20, ge=1, le=100_000)
    """Model calls a team's recent stages in a project must have made, in all, before their
    median per call is the baseline that latency and cost are compared with."""
    incident_last_actions: int = Field(default=10, ge=1, le=100)
    """Audit events an incident record quotes."""
