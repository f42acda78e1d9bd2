"""A run delivered into an existing repository.

What may be read of it, cloned and from which hosts, within what limits.

``Settings.repos`` (``settings/__init__.py``): each field is given by its flat name,
``DEVFACTORY_<NAME>``, as every setting is.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator

from devfactory.repos.remotes import MAX_ENTRIES as MAX_HOST_ENTRIES
from devfactory.repos.remotes import HostPolicy
from devfactory.settings.concern import Concern


class RepositorySettings(Concern):
    """A run delivered into an existing repository."""

    # REPOSITORY: a run delivered into an existing repository on a branch
    # (`devfactory run --repo PATH_OR_URL [--base BRANCH]`, repos/repository.py).
    repo_git_timeout_s: float = Field(default=300.0, ge=5.0, le=3600.0)
    """Seconds one clone, fetch or push of a run's repository may take."""
    repo_max_mb: int = Field(default=500, ge=1, le=20_000)
    """The largest clone a run takes, in MiB on disk (a larger one is removed and the run
    refused)."""
    repo_map_files: int = Field(default=300, ge=10, le=5000)
    """Paths of the repository's tree the plan is shown (the rest are counted)."""
    repo_map_chars: int = Field(default=6000, ge=500, le=100_000)
    """Characters of the repository map (tree, public names, tests) in a prompt."""
    repo_file_chars: int = Field(default=12_000, ge=200, le=200_000)
    """Characters of an existing file a team that modifies it is shown."""
    repo_local_roots: tuple[Path, ...] = Field(default=(), max_length=50)
    """Folders on the API's machine under which a repository path is taken over the API (none:
    the API takes only URLs; the CLI takes any path its user can read)."""
    repo_read_bytes: int = Field(default=20_000_000, ge=10_000, le=1_000_000_000)
    """Bytes of the base branch's text files read to lay out the old tests' workspace (files past
    it are left out, and the check says so)."""
    repo_allowed_hosts: tuple[str, ...] = Field(default=(), max_length=MAX_HOST_ENTRIES)
    """The hosts a run's repository may be cloned from and pushed to: names (github.com),
    patterns (*.example.com; * for any name) and, to reach a loopback, link-local, private or
    reserved address at all, that address or its CIDR (127.0.0.1, 10.0.0.0/8). Empty: no remote
    host (repos/remotes.py)."""
    repo_resolve_timeout_s: float = Field(default=10.0, ge=0.5, le=120.0)
    """Seconds a worker waits for a repository's host name to resolve."""
    repo_clone_cpu_s: int = Field(default=600, ge=10, le=86_400)
    """CPU seconds each process of a clone may use."""
    repo_clone_memory_mb: int = Field(default=1024, ge=256, le=16_384)
    """Memory a clone's git may use, in MiB (its repo_max_mb tmpfs comes on top)."""
    repo_clone_processes: int = Field(default=64, ge=8, le=1024)
    """Processes and threads a clone may run at once."""
    repo_max_clones: int = Field(default=2, ge=1, le=64)
    """Clones at once across every worker; a worker that finds none free hands the run back to
    the queue for repo_clone_retry_s."""
    repo_clone_retry_s: float = Field(default=5.0, ge=0.5, le=600.0)
    """How long a run that found every clone slot taken waits in the queue."""

    @field_validator("repo_allowed_hosts")
    @classmethod
    def _hosts(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        HostPolicy.parse(value)  # a typo is an error at start-up, not a refusal later
        return tuple(entry.strip().lower() for entry in value)
