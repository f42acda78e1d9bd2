"""What one sandboxed command may use, and the rlimits that say so to the kernel.

``Limits`` is the one definition of each limit's default and bounds: the
settings hold it as ``sandbox_limits`` (each limit also read by its flat name,
``sandbox_cpu_seconds`` or ``DEVFACTORY_SANDBOX_CPU_SECONDS``), and the
sandbox derives its own commands' limits from it with ``dataclasses.replace``,
which validates them again.
"""

from __future__ import annotations

import os
import resource
from pathlib import Path
from typing import Final

from pydantic import ConfigDict, Field
from pydantic.dataclasses import dataclass

OPEN_FILES = 1024
INSTALL_SECONDS: Final = 300
"""The default wall time of building one dependency environment (``sandbox_install_seconds``)."""
INSTALL_SECONDS_RANGE: Final = (10, 3600)
"""The lowest and highest ``install_seconds`` accepted."""


@dataclass(frozen=True, config=ConfigDict(extra="forbid", use_attribute_docstrings=True))
class Limits:
    """Bounds of one sandboxed command: each limit's default and accepted range.

    ``cpu_seconds``, ``memory_mb`` (address space) and ``file_size_mb`` bound
    each process; ``processes`` bounds the processes and threads alive at once,
    ``wall_seconds`` the whole command, ``output_chars`` the output kept (the tail).
    ``disk_mb`` bounds what the code's commands may keep in the folders they
    write (workspace and reports together, on a tmpfs: it counts as memory
    too); it applies where the factory is root (see ``launcher``).

    Every limit has a floor and a ceiling, so a typo never turns one off. The
    ceilings of ``cpu_seconds`` and ``processes`` leave room for what the
    sandbox derives from them: an install step's CPU is its wall time times the
    cores (up to a day), and a command's process count adds the wrapper's own.
    """

    cpu_seconds: int = Field(default=60, ge=1, le=86_400)
    """CPU per process."""
    memory_mb: int = Field(default=1024, ge=64, le=65_536)
    """Address space per process, and in all."""
    processes: int = Field(default=64, ge=4, le=100_000)
    """Processes and threads a command may run at once."""
    wall_seconds: int = Field(default=120, ge=1, le=3600)
    """Wall time of one command before it is killed."""
    output_chars: int = Field(default=20_000, ge=1000, le=1_000_000)
    """Output kept per command (the tail)."""
    file_size_mb: int = Field(default=64, ge=1, le=65_536)
    """The largest file a command may write."""
    disk_mb: int = Field(default=256, ge=16, le=65_536)
    """What a command may keep in the workspace and its reports, in all (a tmpfs, counted as
    memory too; enforced when the factory runs as root)."""

    def rlimits(self, *, processes_of: int | None = None) -> dict[str, tuple[int, int]]:
        """Return the rlimits (name: (soft, hard)) every process of the command starts with.

        The CPU limit's soft value sends SIGXCPU, the hard one SIGKILL two
        seconds later. ``processes_of`` (a user id) sets RLIMIT_NPROC, which
        the kernel only enforces for a user other than root, and counts
        against every process that user already runs: so it is raised by
        that count.
        """
        limits = {
            "RLIMIT_CPU": (self.cpu_seconds, self.cpu_seconds + 2),
            "RLIMIT_AS": (self.memory_mb << 20, self.memory_mb << 20),
            "RLIMIT_FSIZE": (self.file_size_mb << 20, self.file_size_mb << 20),
            "RLIMIT_NOFILE": (OPEN_FILES, OPEN_FILES),
            "RLIMIT_CORE": (0, 0),
        }
        if processes_of is not None:
            allowed = self.processes + tasks_of(processes_of)
            hard = resource.getrlimit(resource.RLIMIT_NPROC)[1]
            if hard != resource.RLIM_INFINITY:
                allowed = min(allowed, hard)
            limits["RLIMIT_NPROC"] = (allowed, allowed)
        return limits


def tasks_of(uid: int) -> int:
    """Count the threads that ``uid`` runs now (what RLIMIT_NPROC counts)."""
    count = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if entry.stat().st_uid == uid:
                count += len(os.listdir(entry / "task"))
        except OSError:
            continue  # it ended meanwhile
    return count
