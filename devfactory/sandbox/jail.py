"""A cgroup per sandboxed command: the bound on its processes that root cannot escape.

RLIMIT_NPROC is not enforced for root in the initial user namespace, and a
user namespace does not change that (the sandbox's user maps back to root).
A cgroup's ``pids.max`` counts every process and thread in the group,
whoever owns it and whichever namespace it is in, so a fork bomb stops at
the limit. The same group caps the memory of all its processes together
(``memory.max`` / ``memory.limit_in_bytes``), which rlimits, being per
process, cannot. Both cgroup v2 and v1 (separate ``pids`` and ``memory``
hierarchies) are handled; a machine where neither is writable gets no jail
and the sandbox falls back to RLIMIT_NPROC (see ``isolation.process_bound``).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import time
from functools import lru_cache
from pathlib import Path

PREFIX = "devfactory-sbx"


@lru_cache(maxsize=1)
def _parents() -> tuple[tuple[str, Path], ...]:
    """Return (kind, directory) of the cgroups this process is in: v2, or v1 pids and memory."""
    own: dict[str, str] = {}
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        for name in controllers.split(",") if controllers else ["v2"]:
            own[name] = path
    found: dict[str, Path] = {}
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        left, _, right = line.partition(" - ")
        parts, tail = left.split(), right.split()
        root, mount, fstype = parts[3], parts[4], tail[0]
        options = set(tail[2].split(",")) if len(tail) > 2 else set()
        kinds = ["v2"] if fstype == "cgroup2" else sorted(options & {"pids", "memory"})
        if fstype not in ("cgroup", "cgroup2"):
            continue
        base = root.rstrip("/")
        for kind in kinds:
            mine = own.get(kind)
            if mine is None or kind in found or not (mine + "/").startswith(base + "/"):
                continue
            found[kind] = Path(mount) / mine[len(base) :].lstrip("/")
    if "pids" in found:  # v1 controllers win over a (usually empty) hybrid v2 tree
        found.pop("v2", None)
    return tuple(sorted(found.items()))


def _write(path: Path, value: str) -> bool:
    try:
        path.write_text(value)
    except OSError:
        return False
    return True


def _counter(path: Path, key: str) -> int:
    """Return the value of ``key`` in a flat-keyed cgroup file (0 when absent)."""
    try:
        text = path.read_text()
    except OSError:
        return 0
    for line in text.splitlines():
        name, _, value = line.partition(" ")
        if name == key and value.strip().isdigit():
            return int(value)
    return 0


class Jail:
    """One cgroup (v2) or a pair (v1 pids + memory) holding one command's processes."""

    def __init__(self, dirs: dict[str, Path]) -> None:
        self.dirs = dirs

    @classmethod
    def create(cls, *, processes: int, memory_mb: int) -> Jail | None:
        """Make the group with its limits; None when no pids controller is writable here."""
        name = f"{PREFIX}-{os.getpid()}-{secrets.token_hex(4)}"
        dirs: dict[str, Path] = {}
        for kind, parent in _parents():
            _sweep(parent)
            child = parent / name
            try:
                child.mkdir()
            except OSError:
                continue
            dirs[kind] = child
        jail = cls(dirs)
        pids = dirs.get("pids") or dirs.get("v2")
        if pids is None or not _write(pids / "pids.max", str(processes)):
            jail.remove()
            return None
        memory = str(memory_mb << 20)
        if "v2" in dirs:
            _write(dirs["v2"] / "memory.max", memory)
            _write(dirs["v2"] / "memory.swap.max", "0")
        if "memory" in dirs and _write(dirs["memory"] / "memory.limit_in_bytes", memory):
            _write(dirs["memory"] / "memory.memsw.limit_in_bytes", memory)
        return jail

    @property
    def procs_files(self) -> list[str]:
        """The ``cgroup.procs`` files a process writes its pid to, to enter the jail."""
        return [str(d / "cgroup.procs") for d in self.dirs.values()]

    def hits(self) -> set[str]:
        """Return the limits the group's processes ran into: ``processes``, ``memory``."""
        found = set()
        pids = self.dirs.get("pids") or self.dirs.get("v2")
        if pids is not None and _counter(pids / "pids.events", "max") > 0:
            found.add("processes")
        if "v2" in self.dirs and _counter(self.dirs["v2"] / "memory.events", "oom_kill") > 0:
            found.add("memory")
        if "memory" in self.dirs and _counter(
            self.dirs["memory"] / "memory.oom_control", "oom_kill"
        ):
            found.add("memory")
        return found

    def kill(self, *, patience: float = 2.0) -> None:
        """SIGKILL every process in the group, until it is empty or ``patience`` runs out."""
        deadline = time.monotonic() + patience
        for directory in self.dirs.values():
            _write(directory / "cgroup.kill", "1")  # cgroup v2 (Linux 5.14+): all at once
        while time.monotonic() < deadline:
            alive = [pid for d in self.dirs.values() for pid in _pids(d)]
            if not alive:
                return
            for pid in alive:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.02)

    def remove(self, *, patience: float = 2.0) -> None:
        """Remove the group (waits briefly for killed processes to be reaped)."""
        deadline = time.monotonic() + patience
        for directory in self.dirs.values():
            while True:
                try:
                    directory.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        break  # left for _sweep once its creator has gone
                    time.sleep(0.02)


def _pids(directory: Path) -> list[int]:
    try:
        return [int(p) for p in (directory / "cgroup.procs").read_text().split()]
    except OSError:
        return []


def _sweep(parent: Path) -> None:
    """Remove empty groups left by sandbox processes that died before cleaning up."""
    try:
        stale = [p for p in parent.iterdir() if p.name.startswith(PREFIX + "-")]
    except OSError:
        return
    for path in stale:
        pid = path.name.split("-")[2]
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            with contextlib.suppress(OSError):
                path.rmdir()


@lru_cache(maxsize=1)
def available() -> bool:
    """Whether a jail with a process limit can be made here (tried once)."""
    jail = Jail.create(processes=8, memory_mb=64)
    if jail is None:
        return False
    jail.remove()
    return True
