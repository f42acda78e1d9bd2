"""What governs a run.

The policy file, clarifications and hops, people and review, governance
rounds, budgets, deadlines and how a stopped run ends.

``Settings.runs`` (``settings/__init__.py``): each field is given by its flat name,
``DEVFACTORY_<NAME>``, as every setting is.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from devfactory.control.ceilings import MAX_RUN_DEADLINE_S
from devfactory.settings.concern import Concern


class RunControlSettings(Concern):
    """What governs a run."""

    run_lease_seconds: float = Field(default=60.0, ge=5.0, le=3600.0)
    """How long a run's driver holds it without renewing (renewed every third)."""
    pause_expiry_s: float = Field(default=0, ge=0, le=365 * 86400)
    """Seconds a pause may wait for a person where its approval rule gives no deadline_s; past it
    the request is EXPIRED and the watchdog answers it by the rule's on_expiry (by default the
    policy's unattended rule), recorded as policy:expiry (0: such pauses never expire). A rule
    set to wait, a hold, and a governance approval nobody pre-approved, still wait."""
    max_run_crashes: int = Field(default=3, ge=0, le=20)
    """Drives of one run that may die before the watchdog fails it with the reason."""

    # Control plane: policy, clarification broker, people, review.
    policy_file: Path | None = None
    """Governance rules: risk actions, approval rules, roles per pause, risk patterns (default:
    the packaged policy.yaml)."""
    max_clarifications: int = Field(default=2, ge=0, le=10)
    """Questions one objective may route to other teams."""
    max_hops: int = Field(default=2, ge=1, le=5)
    """Depth of a clarification chain (A asks B asks C)."""
    max_human_retries: int = Field(default=2, ge=0, le=10)
    """Times a person may send a BLOCKED stage back."""
    max_review_rounds: int = Field(default=2, ge=0, le=10)
    """Times a person may send the result back for changes."""
    max_governance_rounds: int = Field(default=3, ge=1, le=10)
    """Times a requirement may be modified and re-assessed."""
    operator: str | None = None
    """Who answers pauses from this CLI (default: the OS user)."""
    operator_role: str = Field(default="approver", min_length=1)
    """The role the CLI operator answers as."""
    review_required: bool = True
    """Pause for a person's final review before COMPLETED."""
    unattended: bool = False
    """Start runs unattended (batch workers): the policy's unattended rules answer every pause; a
    governance approval waits unless the project is pre-approved."""

    # Budgets (None: no cap). Tokens count for every model; cost follows the price table.
    budget_run_tokens: int | None = Field(default=2_000_000, ge=1)
    """Tokens one run may spend (`--budget-tokens`)."""
    budget_run_cost_usd: float | None = Field(default=5.0, gt=0)
    """USD one run may spend (`--budget-cost`)."""
    budget_run_seconds: float | None = Field(default=None, gt=0)
    """Model seconds one run may spend."""
    budget_project_tokens: int | None = Field(default=None, ge=1)
    """Tokens all runs of a project may spend (`--project`)."""
    budget_project_cost_usd: float | None = Field(default=None, gt=0)
    """USD all runs of a project may spend."""
    budget_project_seconds: float | None = Field(default=None, gt=0)
    """Model seconds all runs of a project may spend."""
    budget_warn_at: float = Field(default=0.9, gt=0, lt=1)
    """Fraction of a cap that pauses for an override."""
    run_deadline_s: int = Field(default=0, ge=0, le=MAX_RUN_DEADLINE_S)
    """Wall-clock seconds one drive of a run may take (0: no time cap). Past it the run stops
    itself at the next step boundary, FAILED like a run out of budget, with its tokens and its
    best version so far in run.json and SUMMARY.md; the build loop draws no more candidates and
    every stage's budget check stops it."""
    stop_grace_s: float = Field(default=15.0, ge=1.0, le=600.0)
    """Seconds `devfactory run` and `resume` wait, after a SIGTERM asked the run to stop at its
    next step boundary, before they end it at once (as a second signal does), its files written
    from its last saved step; either way the run stays resumable."""
