"""A repository cloned in a child process bounded in time, CPU, memory, files and bytes in all.

A clone is git talking to a host someone else runs, and writing what that
host sends. git has no cap on what a clone writes, and a hostile server can
send a 2 GB file or nothing at all, for as long as it likes. So the clone runs
through the sandbox's launcher (``sandbox/isolation.execute``): its own cgroup
(processes, and memory in all), rlimits (CPU seconds, address space, file
size) and a wall time after which the whole group is killed. Under
bubblewrap (the ``bwrap`` sandbox mode) it also

- sees the host's system folders read-only, the run's folder, a local source
  read-only, and nothing else of the host's files; the network only when the
  source is remote (no name resolution inside: git reaches the one address
  the factory checked, ``remotes.Pin``);
- clones into ``/tmp``, a tmpfs of ``repo_max_mb``: a clone that does not fit
  fails there with ENOSPC, in memory, and only a clone that fits is copied into
  the run's folder, so at most the cap is ever written to the disk;
- runs as the sandbox's user, never as root (``sandbox/ownership.py``); what
  it copied out is handed back to the factory's user after.

In the ``unsandboxed`` mode the clone writes the run's folder directly: each
file is capped by RLIMIT_FSIZE and the total is checked after, so a clone
may pass the cap before it is refused (``docs/security.md`` says so).

Nothing here raises for a failed clone: ``run_clone`` returns a
``CloneFailure`` whose ``kind`` says which limit or which of git's answers
stopped it, and whose ``detail`` is git's own output (for the operator only:
it may quote what the remote host sent).
"""

from __future__ import annotations

import contextlib
import math
import os
import platform
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal, Protocol

from devfactory.runfiles import (
    MAX_DEPTH,
    open_folder,
    read_file,
    remove_at,
    remove_tree,
    walk,
)
from devfactory.sandbox import seccomp
from devfactory.sandbox.isolation import (
    BWRAP_PROCESSES,
    SECCOMP_FD,
    SETPRIV,
    Bind,
    Outcome,
    bwrap_argv,
    execute,
    support_etc,
)
from devfactory.sandbox.limits import Limits
from devfactory.sandbox.ownership import sandbox_ids
from devfactory.sandbox.results import judge

MiB: Final = 1 << 20
CLONE_DIR: Final = "/tmp/clone"
"""Where git clones inside the sandbox: on its size-capped ``/tmp``."""
SANDBOX_HOME: Final = "/tmp"
"""The sandbox user's home (``isolation``'s passwd), where ssh looks for ``.ssh``."""
# what git over https needs of the host's /etc beside the sandbox's own: the CA roots
_CERTIFICATES = ("/etc/ssl/certs", "/etc/pki/tls/certs")
# ssh's own default files: the host keys it trusts and the keys it offers
_SSH_FILES = ("known_hosts", "id_ed25519", "id_ecdsa", "id_rsa", "id_ed25519_sk", "id_ecdsa_sk")
_SSH_FILE_BYTES = 64 << 10
_SCRATCH = "devfactory-clones-"  # + the user's id; in it, a folder per clone: <pid>-<random>
# git clones, then the copy out; `exit` keeps git's status when it failed
_SCRIPT = 'dest=$1; shift; "$@" || exit; exec cp -a ' + CLONE_DIR + '/. "$dest"/'

# what git and curl say when a write fails; on the clone's tmpfs a write fails when it is full
_FULL = ("No space left on device", "File too large", "Failure writing output to destination")

FailureKind = Literal["size", "branch", "time", "cpu", "memory", "processes", "depth", "git"]


class RepositoryScratchError(OSError):
    """The clones' scratch folder cannot be trusted (another user made it first)."""


class CloneSettings(Protocol):
    """The settings a clone's limits are read from (``devfactory.settings.Settings.repos``).

    A protocol, not the settings class: software sits below the settings and
    never imports them.
    """

    repo_clone_cpu_s: int
    repo_clone_memory_mb: int
    repo_clone_processes: int
    repo_resolve_timeout_s: float


@dataclass(frozen=True)
class CloneLimits:
    """What one clone's child process may use, beside its wall time and its size cap.

    ``memory_mb`` is git's own; under bubblewrap the clone's tmpfs is memory
    too, so the child's memory limit is this plus the size cap.
    """

    cpu_seconds: int = 600
    memory_mb: int = 1024
    processes: int = 64
    resolve_seconds: float = 10.0
    sandboxed: bool = True

    @classmethod
    def of(cls, settings: CloneSettings, *, sandboxed: bool) -> CloneLimits:
        """Read the ``repo_clone_*`` settings; ``sandboxed``: the clone runs under bubblewrap."""
        return cls(
            cpu_seconds=settings.repo_clone_cpu_s,
            memory_mb=settings.repo_clone_memory_mb,
            processes=settings.repo_clone_processes,
            resolve_seconds=settings.repo_resolve_timeout_s,
            sandboxed=sandboxed,
        )

    def child(self, *, seconds: float, max_bytes: int) -> Limits:
        """Return the sandbox limits of the clone's child: these, its time and its size cap."""
        cap_mb = cap_in_mb(max_bytes)
        return Limits(
            cpu_seconds=self.cpu_seconds,
            memory_mb=self.memory_mb + (cap_mb if self.sandboxed else 0),
            processes=self.processes,
            wall_seconds=max(1, math.ceil(seconds)),
            file_size_mb=cap_mb + 1,  # the tmpfs is full first: ENOSPC, not SIGXFSZ
        )


@dataclass(frozen=True)
class CloneFailure:
    """Why a clone did not complete: which limit or answer stopped it, and git's own words."""

    kind: FailureKind
    detail: str


def cap_in_mb(max_bytes: int) -> int:
    """Return the size cap in whole MiB, at least one (a tmpfs is sized in them)."""
    return max(1, math.ceil(max_bytes / MiB))


def run_clone(
    git_argv: Sequence[str],
    env: Mapping[str, str],
    dest: Path,
    *,
    seconds: float,
    max_bytes: int,
    limits: CloneLimits,
    network: bool,
    reads: Sequence[Path] = (),
    ssh: bool = False,
    config: str = "",
) -> CloneFailure | None:
    """Run ``git_argv`` (a ``git ... clone ... -- SOURCE``) bounded; the clone lands in ``dest``.

    ``dest`` is an empty folder; the clone's top (its ``.git`` and work tree)
    is written straight into it. ``network``: the source is remote.
    ``reads``: host folders git must read (a local source), bound read-only.
    ``ssh``: give the clone copies of the factory user's ssh host keys and keys.
    ``config``: git configuration the clone reads as its user's own (only that
    scope may say ``safe.directory``, for a local source another user owns).
    Returns None when the clone is complete in ``dest``, or why it is not;
    what it left in ``dest`` is the caller's to remove.
    """
    child = limits.child(seconds=seconds, max_bytes=max_bytes)
    try:
        scratch = Path(tempfile.mkdtemp(prefix=f"{os.getpid()}-", dir=_scratch_parent()))
    except OSError as exc:
        return CloneFailure("git", f"the clone has no scratch folder: {exc}")
    try:
        user_config = scratch / "gitconfig"
        user_config.write_text(config)
        user_config.chmod(0o644)
        if not limits.sandboxed:
            env = {**env, "GIT_CONFIG_GLOBAL": str(user_config)}
            # git ends with the worker that runs it (bubblewrap's --die-with-parent does that
            # for a sandboxed clone), so a restarted clone never races a stray one
            dies = [SETPRIV, "--pdeathsig", "KILL", "--"] if Path(SETPRIV).exists() else []
            argv = [*dies, *git_argv, str(dest)]
            outcome = execute(argv, env=env, cwd=dest.parent, limits=child)
            return _judged(outcome, sandboxed=False, dest=dest)
        return _sandboxed(
            git_argv, env, dest, scratch, limits=child, tmp_mb=cap_in_mb(max_bytes),
            network=network, reads=reads, ssh=ssh,
        )  # fmt: skip
    finally:
        remove_tree(scratch)


def _sandboxed(
    git_argv: Sequence[str],
    env: Mapping[str, str],
    dest: Path,
    scratch: Path,
    *,
    limits: Limits,
    tmp_mb: int,
    network: bool,
    reads: Sequence[Path],
    ssh: bool,
) -> CloneFailure | None:
    """Run the clone under bubblewrap: into its /tmp of ``tmp_mb``, then copied into ``dest``."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return CloneFailure(
            "git",
            "bubblewrap was not found: install it (apt-get install bubblewrap), or set "
            "DEVFACTORY_SANDBOX=unsandboxed to clone without isolation",
        )
    ids = sandbox_ids()
    etc = support_etc(scratch / "etc", network=False)  # no resolver: git reaches the pin
    etc.update({path: Path(path) for path in _CERTIFICATES if Path(path).is_dir()})
    home = Path(SANDBOX_HOME)
    binds = [Bind(path) for path in reads] + [Bind(dest, writable=True)]
    binds.append(Bind(home / ".gitconfig", source=scratch / "gitconfig"))
    env = {**env, "HOME": SANDBOX_HOME, "GIT_CONFIG_GLOBAL": str(home / ".gitconfig")}
    if ssh and (keys := _ssh_copies(scratch / "ssh", ids)) is not None:
        binds.append(Bind(home / ".ssh", source=keys))
    fds = {}
    denial = seccomp.program()
    if denial is not None:
        program = scratch / f"no-userns-{platform.machine()}.bpf"
        program.write_bytes(denial)
        fds[SECCOMP_FD] = program
    inside = ["/bin/sh", "-c", _SCRIPT, "sh", str(dest), *git_argv, CLONE_DIR]
    wrapped = bwrap_argv(
        bwrap, inside, binds=binds, etc=etc, env=env, cwd=home, network=network,
        tmp_mb=tmp_mb, run_as=ids, seccomp=SECCOMP_FD if fds else None,
    )  # fmt: skip
    if ids is not None:
        os.chown(dest, *ids)  # the sandbox's user writes the copy
    try:
        outcome = execute(
            wrapped, env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}, cwd=Path("/"),
            limits=limits, own_processes=BWRAP_PROCESSES,
            processes_uid=ids[0] if ids else None, fds=fds,
        )  # fmt: skip
    finally:
        deep = _take_back(dest) if ids is not None else False
    failure = _judged(outcome, sandboxed=True, dest=dest)
    if failure is None and deep:
        return CloneFailure("depth", f"folders nested deeper than {MAX_DEPTH}")
    return failure


def _judged(outcome: Outcome, *, sandboxed: bool, dest: Path) -> CloneFailure | None:
    """Say why the clone's child failed (None: it ended well and left a repository)."""
    result = judge("clone", (), outcome, sandboxed=sandboxed)
    text = result.output.strip()
    if result.ok and (dest / ".git").is_dir():
        return None
    if any(full in text for full in _FULL) or result.killed == "file size":
        return CloneFailure("size", text)
    if result.timed_out or result.killed == "wall time":
        return CloneFailure("time", text)
    kinds: dict[str, FailureKind] = {"cpu time": "cpu", "memory": "memory"}
    if result.killed in kinds or result.killed == "processes":
        return CloneFailure(kinds.get(result.killed, "processes"), text)
    if "not found in upstream" in text:
        return CloneFailure("branch", text)
    return CloneFailure("git", text or result.summary())


def _take_back(dest: Path) -> bool:
    """Give what the sandbox's user wrote in ``dest`` to the factory's user; True if too deep.

    chown clears set-user-ID and set-group-ID bits. Links are changed, never
    followed. What is nested deeper than ``MAX_DEPTH`` is not entered (the
    clone is refused then).
    """
    owner = (os.geteuid(), os.getegid())
    deep = False
    fd = open_folder(dest)
    try:
        os.fchown(fd, *owner)
        for entry in walk(fd, skip=()):
            deep = deep or entry.depth > MAX_DEPTH
            with contextlib.suppress(FileNotFoundError):
                os.chown(entry.name, *owner, dir_fd=entry.folder, follow_symlinks=False)
    finally:
        os.close(fd)
    return deep


def _scratch_parent() -> Path:
    """Return this user's folder of clone scratch folders, swept of those whose process died.

    A clone's scratch folder (its /etc files, and for ssh copies of the user's
    keys) is removed when the clone ends; one whose process was killed first is
    removed here, by the next clone on the machine.
    """
    parent = Path(tempfile.gettempdir()) / f"{_SCRATCH}{os.geteuid()}"
    parent.mkdir(mode=0o700, exist_ok=True)
    fd = open_folder(parent)  # never through a link
    try:
        if os.fstat(fd).st_uid != os.geteuid():
            raise RepositoryScratchError(f"{parent} belongs to another user")
        for entry in walk(fd, skip=()):
            pid = entry.name.split("-", 1)[0]
            if entry.depth == 1 and pid.isdigit() and not Path(f"/proc/{pid}").exists():
                remove_at(entry.folder, entry.name)
    finally:
        os.close(fd)
    return parent


def _ssh_copies(folder: Path, ids: tuple[int, int] | None) -> Path | None:
    """Copy the factory user's ssh host keys and keys for the sandbox's user; None: none.

    Only ssh's default file names, only regular files (no link followed), each
    small. As root the copies belong to the sandbox's user (root's own files
    are not readable by it) and stay in the clone's private scratch folder,
    removed with it when the clone ends.
    """
    home = Path.home() / ".ssh"
    folder.mkdir(mode=0o700)
    found = False
    for name in _SSH_FILES:
        try:
            data = read_file(home, name, _SSH_FILE_BYTES)
        except OSError:  # missing, a link, not a regular file, too large
            continue
        copy = folder / name
        copy.write_bytes(data)
        copy.chmod(0o600)
        if ids is not None:
            os.chown(copy, *ids)
        found = True
    if ids is not None:
        os.chown(folder, *ids)
    return folder if found else None
