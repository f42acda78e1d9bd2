"""Run one command in a bubblewrap sandbox (or bare), bounded in time, resources and output.

Every command starts through a small launcher (``python -I -S``,
``launcher.py``) that enters the command's cgroup, sets its rlimits and then
runs ``bwrap`` (or, in the unsandboxed mode, the command itself): no
``preexec_fn``, which is unsafe in a threaded server. For the code's own
commands the launcher also puts the folders it may write on a size-capped
tmpfs and copies them back after (``Layer``). Paths are the same inside the sandbox as outside (each
bound folder is mounted at its own path), so tracebacks and reports name the
files the caller knows.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from devfactory.sandbox import jail, launcher
from devfactory.sandbox.limits import Limits
from devfactory.sandbox.ownership import SANDBOX_HOST_ID

SANDBOX_UID = 1000  # code's user inside a user namespace (the factory's own user outside)
SETPRIV = "/usr/bin/setpriv"  # util-linux: drops root's id inside the sandbox (see bwrap_argv)
BWRAP_PROCESSES = 2  # bwrap outside, and bwrap as pid 1 inside
_SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
# read-only, harmless pieces of the host's /etc: the loader cache, tool alternatives, time zone
_HOST_ETC = ("ld.so.cache", "alternatives", "localtime")
# what an install needs on top: the CA roots uv checks the index with (it resolves no name:
# the index proxy outside does, index_proxy.py)
_NETWORK_ETC = ("ssl/certs", "pki/tls/certs")
_IDS = (SANDBOX_UID, SANDBOX_HOST_ID)
_PASSWD = (
    "root:x:0:0:root:/root:/usr/sbin/nologin\n"
    + "".join(f"sandbox:x:{n}:{n}:sandbox:/tmp:/bin/sh\n" for n in _IDS)
    + "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"
)
_GROUP = "root:x:0:\n" + "".join(f"sandbox:x:{n}:\n" for n in _IDS) + "nogroup:x:65534:\n"
_HOSTS = "127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\n"
ETC_MODE = 0o644  # the sandbox's /etc files: read by its user (for a root factory, not ours)

SECCOMP_FD = 10  # the descriptor the launcher opens the seccomp filter on, for bwrap
# the launcher (launcher.py) runs as its own process, importing nothing but the standard library
_HOME = Path(launcher.__file__).parents[launcher.__name__.count(".")]  # where the package is
_START = (
    f"import sys; sys.path.insert(0, {str(_HOME)!r}); "
    f"from {launcher.__name__} import main; sys.exit(main(sys.argv[1:]))"
)


@dataclass(frozen=True)
class Bind:
    """A host folder or file mounted at the same path inside the sandbox.

    ``source``: what is mounted there instead of the host's own ``path`` (the
    copy of a folder on the launcher's layer).
    """

    path: Path
    writable: bool = False
    source: Path | None = None


@dataclass(frozen=True)
class Layer:
    """The size-capped tmpfs that a command's writable folders are copied to (``launcher``).

    ``folders`` are host folders copied onto it before the command and back
    after; bwrap mounts each copy (``copy_of``) at the folder's own path.
    """

    directory: Path  # the mount point (an empty folder of the factory's)
    folders: tuple[Path, ...]
    size_mb: int
    owner: tuple[int, int]  # who the copies belong to: the user the code runs as
    summary: Path  # where the launcher says what it left out when copying back

    @property
    def inodes(self) -> int:
        """How many files and folders fit (a tmpfs bounds them apart from bytes)."""
        return max(4096, self.size_mb * 256)

    def copy_of(self, folder: Path) -> Path:
        """Where ``folder``'s copy is, on the layer."""
        return self.directory / str(self.folders.index(folder))

    def options(self) -> list[str]:
        """Return the launcher's arguments for this layer."""
        uid, gid = self.owner
        args = [f"layer={self.directory}", f"size={self.size_mb << 20}", f"inodes={self.inodes}"]
        args += [f"owner={uid}:{gid}", f"summary={self.summary}"]
        return args + [f"stage={folder}" for folder in self.folders]


@dataclass
class Outcome:
    """How a command ended, before it is judged (see ``results.CommandResult``)."""

    returncode: int | None
    seconds: float
    output: str
    timed_out: bool = False
    hits: frozenset[str] = field(default_factory=frozenset)  # limits its cgroup ran into


def process_bound() -> str:
    """Say what bounds a command's process count here: ``cgroup`` or ``rlimit``.

    A writable pids cgroup (one per command) is exact. Without one,
    RLIMIT_NPROC of the user the code runs as: never root in the bwrap mode
    (root's id is swapped for ``ownership.SANDBOX_HOST_ID``), but the
    factory's own user in the unsandboxed mode, where for root it bounds
    nothing.
    """
    return "cgroup" if jail.available() else "rlimit"


def support_etc(directory: Path, *, network: bool) -> dict[str, Path]:
    """Return the files mounted under the sandbox's /etc (target: source).

    ``passwd``, ``group`` and ``hosts`` are written here, naming only the
    sandbox's users: the host's accounts stay outside. ``network`` adds what
    an install needs to check the index's certificates.
    """
    directory.mkdir(parents=True, exist_ok=True)
    files: dict[str, Path] = {}
    for name, text in (("passwd", _PASSWD), ("group", _GROUP), ("hosts", _HOSTS)):
        path = directory / name
        if not _holds(path, text, ETC_MODE):
            draft = path.with_name(f".{name}.{os.getpid()}")
            draft.write_text(text)
            draft.chmod(ETC_MODE)  # not the factory's umask: the sandbox's user reads it
            draft.replace(path)
        files[f"/etc/{name}"] = path
    for name in _HOST_ETC + (_NETWORK_ETC if network else ()):
        host = Path("/etc") / name
        if host.exists():
            files[str(host)] = host
    return files


def _holds(path: Path, text: str, mode: int) -> bool:
    """Say whether ``path`` is a file holding ``text`` with permissions ``mode``."""
    try:
        return stat.S_IMODE(path.stat().st_mode) == mode and path.read_text() == text
    except OSError:
        return False


def _system_args() -> list[str]:
    args: list[str] = []
    for name in _SYSTEM_DIRS:
        path = Path(name)
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), name]
        elif path.is_dir():
            args += ["--ro-bind", name, name]
    return args


def _folders(targets: Iterable[str], made: set[str]) -> list[str]:
    """Make the folders above mount points, each readable by all (bwrap's own are 0700)."""
    args: list[str] = []
    for target in sorted(targets):
        for parent in reversed(Path(target).parents[:-1]):  # top down, without "/"
            if str(parent) not in made and str(parent) not in _SYSTEM_DIRS:
                made.add(str(parent))
                args += ["--perms", "0755", "--dir", str(parent)]
    return args


def bwrap_argv(
    bwrap: str,
    argv: Sequence[str],
    *,
    binds: Sequence[Bind],
    etc: Mapping[str, Path],
    env: Mapping[str, str],
    cwd: Path,
    network: bool = False,
    tmp_mb: int = 256,
    run_as: tuple[int, int] | None = None,
    seccomp: int | None = None,
) -> list[str]:
    """Build the bubblewrap command line that runs ``argv`` isolated.

    New mount, pid, network, ipc, uts and cgroup namespaces; all
    capabilities dropped; the environment cleared; a new session. The root
    is an empty read-only tmpfs holding /usr and the library dirs read-only,
    the given ``etc`` files, a fresh /proc, a read-only minimal /dev, a
    size-bounded /tmp and /dev/shm, then the ``binds``. ``network`` shares
    the host's network (a remote clone's git only: an install reaches its
    index through ``index_proxy``, with no network of its own).

    Two ways to leave root's id behind. ``run_as`` None (the factory is not
    root): bwrap runs unprivileged in a new user namespace as
    ``SANDBOX_UID``, with nested user namespaces disabled. ``run_as``
    (uid, gid), for a factory running as root: bwrap runs privileged (it
    must, to reach bind sources under folders only root may enter) without a
    user namespace, since one would map the sandbox's user back to root's id,
    which the kernel still trusts in places (sysctl files); it keeps only
    CAP_SETUID and CAP_SETGID, which ``setpriv`` uses to become ``run_as``
    before the command starts, losing them in doing so (as it loses
    CAP_DAC_READ_SEARCH, kept so that bwrap may enter a workspace only
    ``run_as`` may, and CAP_SETPCAP, with which it first empties the
    bounding set). bwrap always sets no_new_privs, so no set-user-ID program
    can win anything back. ``seccomp``: the descriptor of a filter bwrap loads
    before the command starts (``seccomp.program``: no user namespaces, the
    one thing ``--disable-userns`` cannot deny without one).
    """
    args = [bwrap]
    if run_as is None:
        args += ["--unshare-all", "--unshare-user", "--disable-userns"]
        args += ["--uid", str(SANDBOX_UID), "--gid", str(SANDBOX_UID)]
        args += ["--cap-drop", "ALL"]
        if network:
            args.append("--share-net")
    else:
        args += ["--unshare-ipc", "--unshare-pid", "--unshare-uts", "--unshare-cgroup-try"]
        args += [] if network else ["--unshare-net"]
        args += ["--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
        args += ["--cap-add", "CAP_DAC_READ_SEARCH"]  # to enter a 0700 folder run_as owns
        args += ["--cap-add", "CAP_SETPCAP"]  # to empty the bounding set
        uid, gid = run_as
        drop = [SETPRIV, f"--reuid={uid}", f"--regid={gid}", "--clear-groups"]
        drop += ["--inh-caps=-all", "--bounding-set=-all"]
        argv = [*drop, "--", *argv]
    args += ["--hostname", "sandbox", "--die-with-parent", "--new-session", "--clearenv"]
    args += _system_args()
    made: set[str] = set()
    args += _folders(etc, made)
    for target, source in sorted(etc.items()):
        args += ["--ro-bind", str(source), target]
    args += ["--proc", "/proc", "--dev", "/dev"]
    args += ["--perms", "1777", "--size", str(tmp_mb << 20), "--tmpfs", "/tmp"]
    args += ["--perms", "1777", "--size", str(min(tmp_mb, 64) << 20), "--tmpfs", "/dev/shm"]
    made.add("/tmp")
    args += _folders([str(b.path) for b in binds], made)  # after /tmp: binds may be under it
    for bind in binds:
        mounted = str(bind.source or bind.path)
        args += ["--bind" if bind.writable else "--ro-bind", mounted, str(bind.path)]
    args += ["--remount-ro", "/dev", "--remount-ro", "/", "--chdir", str(cwd)]
    if seccomp is not None:
        args += ["--seccomp", str(seccomp)]
    for name, value in env.items():
        args += ["--setenv", name, value]
    return [*args, "--", *argv]


class _Tail:
    """The last bytes of an output stream, in bounded memory."""

    def __init__(self, chars: int) -> None:
        self.chars = chars
        self.keep = chars * 4  # UTF-8: at most four bytes a character
        self.buffer = bytearray()
        self.dropped = 0

    def add(self, chunk: bytes) -> None:
        self.buffer += chunk
        if len(self.buffer) > 2 * self.keep:
            cut = len(self.buffer) - self.keep
            del self.buffer[:cut]
            self.dropped += cut

    def text(self) -> str:
        text = self.buffer.decode("utf-8", errors="replace")
        if len(text) > self.chars or self.dropped:
            text = text[-self.chars :]
            return f"[... earlier output not kept; the last {len(text)} characters follow]\n{text}"
        return text


def execute(
    argv: Sequence[str],
    *,
    env: Mapping[str, str],
    cwd: Path,
    limits: Limits,
    stdin: Path | None = None,
    own_processes: int = 0,
    processes_uid: int | None = None,
    fds: Mapping[int, Path] | None = None,
    layer: Layer | None = None,
    umask: int | None = None,
) -> Outcome:
    """Run ``argv`` (already wrapped in bwrap, or bare) within ``limits``; never raises for it.

    The command gets its own session and, where possible, its own cgroup; on
    wall timeout both are killed (SIGKILL), and so is anything left behind
    when it ends. stdout and stderr are merged; only the tail is kept.
    ``own_processes`` is what the wrapper itself runs (bwrap: two), added to
    the cgroup's process limit so that the command gets all of its own.
    ``processes_uid`` is the user the command's processes will run as,
    whose count RLIMIT_NPROC bounds where no cgroup can (default: ours).
    ``fds``: files the command gets open as those descriptors. ``layer``:
    the folders it may write go through a size-capped tmpfs (the launcher
    then stays, and counts as one more process). ``umask``: the command's
    (None: ours, so what the code writes is as private as what we write).
    """
    processes = limits.processes + own_processes + (1 if layer else 0)
    cell = jail.Jail.create(processes=processes, memory_mb=limits.memory_mb)
    config = [f"cgroup={path}" for path in (cell.procs_files if cell else [])]
    user = os.geteuid() if processes_uid is None else processes_uid
    rlimits = replace(limits, processes=processes).rlimits(
        processes_of=user if cell is None and user != 0 else None
    )
    config += [f"{name}={soft},{hard}" for name, (soft, hard) in rlimits.items()]
    config += [f"fd={number}:{path}" for number, path in (fds or {}).items()]
    config += layer.options() if layer else []
    command = [sys.executable, "-I", "-S", "-c", _START, *config, "--", *argv]
    tail = _Tail(limits.output_chars)
    start = time.monotonic()
    try:
        with open(stdin, "rb") if stdin else open(os.devnull, "rb") as source:
            proc = subprocess.Popen(  # noqa: S603 - argv list, no shell
                command,
                stdin=source,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                env=dict(env),
                cwd=cwd,
                start_new_session=True,
                close_fds=True,
                umask=-1 if umask is None else umask,
            )
    except OSError as exc:
        if cell:
            cell.remove()
        return Outcome(None, time.monotonic() - start, f"could not start {argv[0]}: {exc}")
    assert proc.stdout is not None
    timed_out = _pump(proc, tail, start + limits.wall_seconds)
    seconds = time.monotonic() - start
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)  # the command, or what it left running
    if cell:
        cell.kill()
    _drain(proc, tail)
    returncode = proc.wait()
    hits = cell.hits() if cell else set()
    if cell:
        cell.remove()
    code = None if timed_out else returncode
    return Outcome(code, seconds, tail.text(), timed_out, frozenset(hits))


def _pump(proc: subprocess.Popen[bytes], tail: _Tail, deadline: float) -> bool:
    """Copy output into ``tail`` until the process ends; True when ``deadline`` came first."""
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    open_ = True
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return True
            if not open_:  # it closed its output: wait for it to end
                try:
                    proc.wait(timeout=left)
                except subprocess.TimeoutExpired:
                    return True
                return False
            if selector.select(timeout=min(0.1, left)):
                chunk = os.read(fd, 65536)
                if chunk:
                    tail.add(chunk)
                else:
                    open_ = False
            if proc.poll() is not None:
                return False  # ended; what a leftover child still writes is drained after


def _drain(proc: subprocess.Popen[bytes], tail: _Tail, *, patience: float = 1.0) -> None:
    """Read what is left in the pipe (bounded: a stray holder of it must not hang us)."""
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    deadline = time.monotonic() + patience
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        while (left := deadline - time.monotonic()) > 0:
            if not selector.select(timeout=left):
                break
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            tail.add(chunk)
    proc.stdout.close()
