"""A new run's intake: check what it was given, and build the graph's first input.

Both ways to start a run take it in the same way: ``RunDriver.start`` (driven in
the caller's process) and ``QueuedRuns.submit`` (driven by a worker).

A run that delivers into an existing repository (``--repo``) works in a clone
of it, on the run's branch. Where the clone is made depends on who waits:

- a run driven in the caller's process (``devfactory run --repo``) gets its
  folder from ``checkout`` first, before the run is created: the local operator
  waits for the bounded clone, and is told git's own reason when it fails;
- a queued run (``POST /runs``, ``devfactory submit --repo``) is only checked
  here (``check_clone``: the source's syntax, its host against
  ``repo_allowed_hosts``, with no name resolved and nothing connected to) and
  carries a ``CloneOrder`` in its inbox; the worker that claims it clones
  (``clone_into_run``) before the first step, so no request ever waits on git.

Either way ``repository_state`` then gives the graph the repository's map
(``repos/repomap.py``) from the clone's delivery record.

What a person asks for is one ``StartRequest``, made where their input arrives
(the CLI, the API, the chat, a bench or a test) and passed down whole:
``Factory.start`` and ``Factory.submit``, then ``RunDriver.start`` or
``QueuedRuns.submit``, then ``new_run``, which checks it. What the graph is asked
is one ``RunRequest``, made here from it for every way a run starts. A queued
run's request waits in its inbox as its JSON dump and is read back once, where a
worker drives it (``queueing.QueuedRuns.drive_claimed``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from devfactory.contracts import Delivery, Repository
from devfactory.control.budget import Caps
from devfactory.events import RunCreated
from devfactory.factory.reports import (
    checked_name,
    checked_text,
    default_caps,
    new_run_id,
    writable_folder,
)
from devfactory.graph.state import RunInput
from devfactory.pipelines import load_pipeline
from devfactory.redact import redact
from devfactory.repos.cloning import CloneLimits
from devfactory.repos.local_source import inside_roots, resolved_source
from devfactory.repos.remotes import HostPolicy
from devfactory.repos.repomap import map_repository
from devfactory.repos.repository import (
    RepositoryError,
    base_files,
    branch_of,
    check_destination,
    check_ref,
    check_remote,
    check_source,
    clone_for_run,
    delivery_of,
    empty_folder,
    local_path_of,
    shown_source,
)
from devfactory.settings import Settings
from devfactory.store.runs_table import RunInputError

MAX_PATHS = 5000  # the existing paths a run's state keeps (what the teams are told exists)


@dataclass(frozen=True)
class StartRequest:
    """What a person asks for a new run, as it arrives; checked by ``new_run``, not here.

    Attributes:
        requirement: what to build, as given.
        pipeline: the pipeline to run (``mvp``, ``lean``, ``full``).
        project: the project it belongs to.
        caps: its own budget caps (None: the project's, else the settings').
        out_dir: its folder (None: the data directory's ``runs/<run-id>``).
        run_id: its id (None: a new one).
        owner: who starts it: what it retains is theirs.
        unattended: its pauses answered by the policy's rules (None: the setting).
        repo: an existing repository to deliver into, a path or a URL (None: none).
        base: that repository's branch to start from (None: its HEAD branch).

    """

    requirement: str
    pipeline: str = "mvp"
    project: str = "default"
    caps: Caps | None = None
    out_dir: Path | None = None
    run_id: str | None = None
    owner: str = ""
    unattended: bool | None = None
    repo: str | None = None
    base: str | None = None


class CloneOrder(BaseModel):
    """What a queued run's worker clones before its first step: the source and its base branch.

    It waits in the run's inbox (``clone``) as its JSON dump; the source as given,
    credentials included (git needs them), as the clone's own ``.git/config`` keeps them.
    """

    model_config = ConfigDict(frozen=True)

    source: str
    base: str | None = None
    confined: bool = False  # a local path taken over the API: held to repo_local_roots again


class RunRequest(BaseModel):
    """What a new run is asked: the graph's first input, as a queued run's inbox keeps it.

    Attributes:
        run_id: the run.
        requirement: what it is to build (checked and redacted).
        pipeline: the pipeline it runs.
        project: the project it belongs to.
        owner: who started it: what it retains is theirs, and it recalls only their memories.
        budget: its caps, by scope ("run", "project").
        unattended: its pauses are answered by the policy's rules.
        repository: the repository it delivers into (None: a new folder of its own).

    Keys an earlier version's inbox held beside these (its first ``phase``) are ignored.

    """

    model_config = ConfigDict(frozen=True)

    run_id: str
    requirement: str
    pipeline: str
    project: str = "default"
    owner: str = ""
    budget: dict[str, Caps]
    unattended: bool = False
    repository: Repository | None = None

    def first_input(self) -> RunInput:
        """Return the graph's first input: these fields, the models as they are."""
        first = RunInput(
            run_id=self.run_id,
            requirement=self.requirement,
            pipeline=self.pipeline,
            project=self.project,
            owner=self.owner,
            budget=dict(self.budget),
            unattended=self.unattended,
        )
        if self.repository is not None:
            first["repository"] = self.repository
        return first


@dataclass(frozen=True)
class NewRun:
    """A new run's checked input: its creation event, what it is asked, its folder."""

    created: RunCreated
    request: RunRequest
    out: Path

    @property
    def run_id(self) -> str:
        """The run's id."""
        return self.request.run_id

    def columns(self) -> tuple[str, str, str, str, str, str]:
        """Return the new row's id, requirement, pipeline, folder, project and owner.

        In the order ``RunStore.create`` and ``RunQueue.submit`` take them.
        """
        request = self.request
        return (
            self.run_id,
            self.created.requirement,
            request.pipeline,
            str(self.out),
            request.project,
            request.owner,
        )


def new_run(
    settings: Settings,
    asked: StartRequest,
    *,
    project_caps: dict[str, Any] | None = None,
    clone: CloneOrder | None = None,
) -> NewRun:
    """Check a new run's input; return its creation event, the graph's input and its folder.

    ``project_caps``: the caps an admin set for its project (None: the settings'); a
    run's own ``caps`` still win over its project's run caps. ``clone``: the
    repository a worker clones into the run's folder later (it must be empty);
    the creation event says where it comes from and which branch the run gets.
    ``asked.repo`` and ``asked.base`` are the caller's to act on first (``checkout``,
    ``check_clone``): the run's folder is then the clone, or ``clone`` says what to clone.
    """
    unattended = settings.runs.unattended if asked.unattended is None else asked.unattended
    pipeline, caps, owner = asked.pipeline, asked.caps, asked.owner
    load_pipeline(pipeline)  # fail fast on an unknown pipeline
    requirement = redact(checked_text(asked.requirement, "the requirement"))
    project = checked_name(asked.project, "the project")
    run_id = asked.run_id or new_run_id()
    out = writable_folder(asked.out_dir or settings.storage.run_folder(run_id))
    if clone is not None:
        try:
            check_destination(out)
        except RepositoryError as exc:
            raise RunInputError(str(exc)) from None
    budget = {
        scope: Caps.model_validate(scoped)
        for scope, scoped in default_caps(settings, project_caps).items()
    }
    if caps is not None:
        budget["run"] = budget["run"].model_copy(update=caps.model_dump(exclude_none=True))
    created = RunCreated(
        requirement=requirement,
        pipeline=pipeline,
        project=project,
        budget={scope: scoped.model_dump() for scope, scoped in budget.items()},
        unattended=unattended,
    )
    request = RunRequest(
        run_id=run_id,
        requirement=requirement,
        pipeline=pipeline,
        project=project,
        owner=owner,
        budget=budget,
        unattended=unattended,
    )
    delivery = delivery_of(out, run_id)
    if delivery is not None:
        repository = repository_state(settings, delivery, out)
        request = request.model_copy(update={"repository": repository})
        where = ("source", "base", "base_commit", "branch")
        created = created.model_copy(
            update={"repository": {key: str(getattr(delivery, key)) for key in where}}
        )
    elif clone is not None:  # its base commit is known once a worker has cloned it
        ordered = {"source": shown_source(clone.source), "branch": branch_of(run_id)}
        created = created.model_copy(update={"repository": ordered | {"base": clone.base or ""}})
    return NewRun(created, request, out)


def check_clone(
    settings: Settings, repo: str, base: str | None, *, confined: bool = False
) -> CloneOrder:
    """Check a repository a worker is to clone for a queued run; return the order.

    Nothing is connected to and no host name is resolved: the source's syntax,
    a URL's scheme and host against ``repo_allowed_hosts``, a path's folder,
    and the base branch's name. A path is kept with its links resolved: the
    worker opens that path, in which no link may then appear. ``confined``: a
    path taken over the API, which must be under ``repo_local_roots`` here, at
    the clone and at delivery. Raises ``RunInputError``, a client's mistake.
    """
    try:
        source = check_source(repo)
        base = check_ref(base) if base is not None else None
        path = local_path_of(source)  # a path, or a file:// URL
        if path is None:
            check_remote(source, HostPolicy.parse(settings.repos.repo_allowed_hosts))
        elif not path.is_dir():
            raise RepositoryError(f"no repository at {source!r}: not a folder")
        else:
            path = resolved_source(path)
            if confined and not inside_roots(path, settings.repos.repo_local_roots):
                raise RepositoryError(
                    "a repository path is taken over the API only under the repo_local_roots "
                    "setting"
                )
            source = str(path)
    except RepositoryError as exc:
        raise RunInputError(str(exc)) from None
    return CloneOrder(source=source, base=base, confined=confined and path is not None)


def clone_into_run(settings: Settings, order: CloneOrder, run_id: str, out: Path) -> Delivery:
    """Clone a queued run's repository into its folder, for the worker that claimed it.

    The folder is emptied first: what a worker killed mid-clone left there is
    gone before the clone starts again. Raises ``RepositoryError`` (its message
    safe for whoever sees the run, git's own words in its ``detail``).
    """
    empty_folder(out)
    return bounded_clone(settings, order.source, order.base, run_id, out, confined=order.confined)


def bounded_clone(
    settings: Settings,
    source: str,
    base: str | None,
    run_id: str,
    out: Path,
    *,
    confined: bool = False,
) -> Delivery:
    """Clone ``source`` into ``out`` within the settings' hosts, roots, size, time and limits."""
    return clone_for_run(
        source,
        base,
        run_id,
        out,
        timeout=settings.repos.repo_git_timeout_s,
        max_bytes=settings.repos.repo_max_mb * 2**20,
        hosts=HostPolicy.parse(settings.repos.repo_allowed_hosts),
        limits=CloneLimits.of(settings.repos, sandboxed=settings.sandboxing.sandbox == "bwrap"),
        roots=settings.repos.repo_local_roots if confined else None,
        data_dir=settings.storage.data_dir,
    )


def checkout(
    settings: Settings,
    repo: str,
    base: str | None,
    *,
    run_id: str | None,
    out_dir: Path | None,
) -> tuple[str, Path]:
    """Clone ``repo`` for a new run on its branch ``devfactory/<run-id>``; return its id and folder.

    The clone is the worker's bounded one (``clone_for_run``), waited for here:
    this is the local operator's own process, never a request's. Raises
    ``RunInputError`` (an exit code in the CLI) for a source or base git cannot
    use, with git's reason, credentials removed.
    """
    try:
        source = check_source(repo)
        base = check_ref(base) if base is not None else None
    except RepositoryError as exc:
        raise RunInputError(str(exc)) from None
    if (path := local_path_of(source)) is not None and path.is_dir():
        source = str(resolved_source(path))  # its links resolved once; none may appear later
    run_id = run_id or new_run_id()
    out = (out_dir or settings.storage.run_folder(run_id)).expanduser().resolve()
    try:
        bounded_clone(settings, source, base, run_id, out)
    except RepositoryError as exc:
        told = exc.told()
        raise RunInputError(f"cannot deliver into {shown_source(repo)!r}: {told}"[:2000]) from None
    except OSError as exc:
        raise RunInputError(f"cannot deliver into {shown_source(repo)!r}: {exc}"[:2000]) from None
    return run_id, out


def repository_state(settings: Settings, delivery: Delivery, out: Path) -> Repository:
    """Return what the graph keeps of the repository: where, its base, its map, its paths."""
    texts, left = base_files(
        out,
        delivery.base_commit,
        max_bytes=settings.repos.repo_read_bytes,
        timeout=settings.repos.repo_git_timeout_s,
    )
    paths = sorted([*texts, *left])
    mapped = map_repository(paths, texts, max_paths=settings.repos.repo_map_files)
    return Repository(
        **delivery.model_dump(),
        folder=str(out),
        map=mapped.render(settings.repos.repo_map_chars),
        tests=list(mapped.tests),
        paths=paths[:MAX_PATHS],
    )
