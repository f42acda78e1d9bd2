"""A new run's intake: check what it was given, and build the graph's first input.

Both ways to start a run take it in the same way: ``RunDriver.start`` (driven in
the caller's process) and ``QueuedRuns.submit`` (driven by a worker).

A run that delivers into an existing repository (``--repo``) gets its folder
from ``checkout`` first: a clone on the run's branch, made before the run is
created, so that a bad source or an unknown base branch is refused before
anything runs. ``new_run`` then finds the clone's delivery record in the folder
and gives the graph the repository's map (``software/repomap.py``).
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
from devfactory.software.repomap import map_repository
from devfactory.software.repository import (
    Delivery,
    RepositoryError,
    base_files,
    check_ref,
    check_source,
    clone_for_run,
    delivery_of,
    shown_source,
)
from devfactory.store.runs import RunInputError

MAX_PATHS = 5000  # the existing paths a run's state keeps (what the teams are told exists)


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
    delivery = delivery_of(out, run_id)
    if delivery is not None:
        payload["repository"] = repository_state(settings, delivery, out)
        where = ("source", "base", "base_commit", "branch")
        created = created.model_copy(
            update={"repository": {key: str(getattr(delivery, key)) for key in where}}
        )
    return NewRun(created, payload, out)


def checkout(
    settings: Settings,
    repo: str,
    base: str | None,
    *,
    run_id: str | None,
    out_dir: Path | None,
) -> tuple[str, Path]:
    """Clone ``repo`` for a new run on its branch ``devfactory/<run-id>``; return its id and folder.

    Raises ``RunInputError`` (a client's mistake: 4xx in the API, an exit code in
    the CLI) for a source or base git cannot use, with git's reason, credentials removed.
    """
    try:
        source = check_source(repo)
        base = check_ref(base) if base is not None else None
    except RepositoryError as exc:
        raise RunInputError(str(exc)) from None
    run_id = run_id or new_run_id()
    out = (out_dir or settings.run_folder(run_id)).expanduser().resolve()
    try:
        clone_for_run(
            source,
            base,
            run_id,
            out,
            timeout=settings.repo_git_timeout_s,
            max_bytes=settings.repo_max_mb * 2**20,
        )
    except (RepositoryError, OSError) as exc:
        raise RunInputError(f"cannot deliver into {shown_source(repo)!r}: {exc}"[:2000]) from None
    return run_id, out


def repository_state(settings: Settings, delivery: Delivery, out: Path) -> dict[str, Any]:
    """Return what the graph keeps of the repository: where, its base, its map, its paths."""
    texts, left = base_files(
        out,
        delivery.base_commit,
        max_bytes=settings.repo_read_bytes,
        timeout=settings.repo_git_timeout_s,
    )
    paths = sorted([*texts, *left])
    mapped = map_repository(paths, texts, max_paths=settings.repo_map_files)
    return {
        **delivery.to_state(),
        "folder": str(out),
        "map": mapped.render(settings.repo_map_chars),
        "tests": list(mapped.tests),
        "paths": paths[:MAX_PATHS],
    }
