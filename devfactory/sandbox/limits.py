"""What one sandboxed command may use, and the rlimits that say so to the kernel."""

from __future__ import annotations

import os
import resource
from dataclasses import dataclass, fields
from pathlib import Path

# (lowest, highest) accepted for each limit: a typo must not turn a limit off
_BOUNDS = {
    "cpu_seconds": (1, 86_400),
    "memory_mb": (32, 1_048_576),
    "processes": (4, 100_000),
    "wall_seconds": (1, 86_400),
    "output_chars": (100, 10_000_000),
    "file_size_mb": (1, 1_048_576),
    "disk_mb": (16, 1_048_576),
}
OPEN_FILES = 1024


@dataclass(frozen=True)
class Limits:
    """Bounds of one sandboxed command (defaults match ``Settings``).

    ``cpu_seconds``, ``memory_mb`` (address space) and ``file_size_mb`` bound
    each process; ``processes`` bounds the processes and threads alive at once,
    ``wall_seconds`` the whole command, ``output_chars`` the output kept (the tail).
    ``disk_mb`` bounds what the code's commands may keep in the folders they
    write (workspace and reports together, on a tmpfs: it counts as memory
    too); it applies where the factory is root (see ``launcher``).
    """

    cpu_seconds: int = 60
    memory_mb: int = 1024
    processes: int = 64
    wall_seconds: int = 120
    output_chars: int = 20_000
    file_size_mb: int = 64
    disk_mb: int = 256

    def __post_init__(self) -> None:
        for item in fields(self):
            value = getattr(self, item.name)
            low, high = _BOUNDS[item.name]
            if not isinstance(value, int) or not low <= value <= high:
                raise ValueError(f"Limits.{item.name} must be an integer in [{low}, {high}]")

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
