"""A new run's intake: check what it was given, and build the graph's first input.

Both ways to start a run take it in the same way: ``RunDriver.start`` (driven in
the caller's process) and ``QueuedRuns.submit`` (driven by a worker).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from devfactory.control.budget import Caps
from devfactory.control.lifecycle import Phase
from devfactory.events import RunCreated
from devfactory.pipelines import load_pipeline
from devfactory.redact import redact
from devfactory.reports import checked_text, default_caps, new_run_id, writable_folder
from devfactory.settings import Settings


@dataclass(frozen=True)
class NewRun:
    """A new run's checked input: its creation event, the graph's first input, its folder."""

    created: RunCreated
    payload: dict[str, Any]
    out: Path

    @property
    def run_id(self) -> str:
        """The run's id."""
        return cast(str, self.payload["run_id"])


def new_run(
    settings: Settings,
    requirement: str,
    *,
    pipeline: str,
    project: str,
    caps: Caps | None,
    out_dir: Path | None,
    run_id: str | None,
    unattended: bool | None,
    owner: str,
    project_caps: dict[str, Any] | None = None,
) -> NewRun:
    """Check a new run's input; return its creation event, the graph's input and its folder.

    ``project_caps``: the caps an admin set for ``project`` (None: the settings'); a
    run's own ``caps`` still win over its project's run caps.
    """
    unattended = settings.unattended if unattended is None else unattended
    load_pipeline(pipeline)  # fail fast on an unknown pipeline
    requirement = redact(checked_text(requirement, "the requirement"))
    project = checked_text(project, "the project")
    run_id = run_id or new_run_id()
    out = writable_folder(out_dir or settings.run_folder(run_id))
    budget = default_caps(settings, project_caps)
    if caps is not None:
        budget["run"] = {**budget["run"], **caps.model_dump(exclude_none=True)}
    created = RunCreated(
        requirement=requirement,
        pipeline=pipeline,
        project=project,
        budget=budget,
        unattended=unattended,
    )
    payload = {
        "run_id": run_id,
        "requirement": requirement,
        "pipeline": pipeline,
        "project": project,
        "budget": budget,
        "phase": Phase.DRAFT.value,
        "unattended": unattended,
        "owner": owner,
    }
    return NewRun(created, payload, out)
