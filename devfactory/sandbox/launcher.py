"""Start one sandboxed command: its cgroup, its rlimits, and for code a disk of its own.

Runs as its own process (``python -I -S``) between the factory and bwrap,
or the command itself in the unsandboxed mode: no ``preexec_fn``, which is
unsafe in a threaded server. Arguments, in this order::

    cgroup=PATH... RLIMIT_X=SOFT,HARD... fd=N:PATH... [LAYER OPTIONS] -- ARGV

``cgroup``: join that group (before anything else, so all that follows is
counted). ``RLIMIT_*``: the command's rlimits. ``fd``: open PATH as
descriptor N for the command (bwrap's ``--seccomp N``).

Without layer options the launcher becomes the command (``exec``). With
them, for commands that run the code (tests, imports, smoke runs), it stays
and gives the command a disk of bounded size:

``layer=DIR size=BYTES inodes=N owner=UID:GID summary=PATH stage=HOST...``

1. it enters a mount namespace of its own and mounts a tmpfs of ``size``
   bytes and ``inodes`` files on DIR (the host never sees it; it is gone
   when the launcher ends, however it ends);
2. it copies each ``stage`` folder (the workspace, a report folder) into
   ``DIR/0``, ``DIR/1``... owned by ``owner``, the user the code runs as;
   bwrap mounts those copies where the folders are, so a full disk is ENOSPC
   in the sandbox, never on the host;
3. it runs ARGV (bwrap) with the rlimits and waits for it: when bwrap ends,
   its PID namespace has ended, so no sandboxed process is left;
4. it copies each folder back (``untrusted.mirror``: folders, regular files
   and links only, nothing nested deeper than ``MAX_DEPTH``, no set-user-ID
   bit, no permission the factory's umask takes away) and writes what it left
   out to ``summary``, then exits as bwrap did.

Killed at the wall time, it copies nothing back: the folders stay as they
were before the command.
"""

from __future__ import annotations

import os
import resource
import sys

TYPE_CHECKING = False  # not typing's: importing typing would double the launcher's start-up
if TYPE_CHECKING:
    from devfactory.sandbox.untrusted import Mirrored

_CLONE_NEWNS = 0x00020000
_MS_NOSUID, _MS_NODEV, _MS_REC, _MS_PRIVATE = 0x2, 0x4, 0x4000, 0x40000
_PR_SET_PDEATHSIG = 1
NO_ROOM = 125  # the exit status when the folders do not fit the layer


def parse(args: list[str]) -> tuple[dict[str, list[str]], list[str]]:
    """Split the arguments into options (name: values, in order) and the command."""
    split = args.index("--")
    options: dict[str, list[str]] = {}
    for item in args[:split]:
        name, _, value = item.partition("=")
        options.setdefault(name, []).append(value)
    return options, args[split + 1 :]


def join_cgroups(paths: list[str]) -> None:
    """Move this process into each cgroup (its ``cgroup.procs`` file)."""
    for path in paths:
        with open(path, "w") as handle:
            handle.write(str(os.getpid()))


def set_rlimits(options: dict[str, list[str]]) -> None:
    """Apply every ``RLIMIT_*=SOFT,HARD`` option to this process."""
    for name, values in options.items():
        if name.startswith("RLIMIT_"):
            soft, hard = values[-1].split(",")
            resource.setrlimit(getattr(resource, name), (int(soft), int(hard)))


def open_fds(specs: list[str]) -> None:
    """Open each ``N:PATH`` as descriptor N, inherited by the command."""
    for spec in specs:
        number, _, path = spec.partition(":")
        fd = os.open(path, os.O_RDONLY)
        if fd != int(number):
            os.dup2(fd, int(number))
            os.close(fd)
        os.set_inheritable(int(number), True)


def _libc(name: str, *args: object) -> None:
    """Call the C library's ``name`` (no Python wrapper in 3.11); OSError when it fails."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    if getattr(libc, name)(*args) != 0:
        number = ctypes.get_errno()
        raise OSError(number, f"{name}: {os.strerror(number)}")


def mount_layer(directory: str, size: int, inodes: int) -> None:
    """Enter a private mount namespace and mount a bounded tmpfs on ``directory``."""
    _libc("prctl", _PR_SET_PDEATHSIG, 9, 0, 0, 0)  # the factory gone: so are we
    _libc("unshare", _CLONE_NEWNS)
    _libc("mount", None, b"/", None, _MS_REC | _MS_PRIVATE, None)  # nothing leaks to the host
    data = f"size={size},nr_inodes={inodes},mode=0755".encode()
    _libc("mount", b"tmpfs", directory.encode(), b"tmpfs", _MS_NOSUID | _MS_NODEV, data)


def run(argv: list[str], options: dict[str, list[str]]) -> int:
    """Run ``argv`` with the rlimits, wait for it, return its status as a shell would."""
    pid = os.fork()
    if pid == 0:
        try:
            set_rlimits(options)
            os.execvp(argv[0], argv)
        except OSError as exc:
            sys.stderr.write(f"devfactory sandbox: cannot start {argv[0]}: {exc}\n")
        os._exit(127)
    status = os.waitpid(pid, 0)[1]
    if os.WIFSIGNALED(status):
        return 128 + os.WTERMSIG(status)
    return os.waitstatus_to_exitcode(status)


def layered(argv: list[str], options: dict[str, list[str]]) -> int:
    """Run ``argv`` with the ``stage`` folders on a bounded tmpfs; copy them back after."""
    import json

    from devfactory import runfiles

    layer, summary = options["layer"][-1], options["summary"][-1]
    uid, gid = (int(n) for n in options["owner"][-1].split(":"))
    stages = options.get("stage", [])
    mount_layer(layer, int(options["size"][-1]), int(options["inodes"][-1]))
    top = runfiles.open_folder(layer)
    try:
        for index, host in enumerate(stages):
            os.mkdir(str(index), 0o700, dir_fd=top)
            _between(host, (top, str(index)), owner=(uid, gid))
    except OSError as exc:
        why = f"the folders it may write do not fit its disk limit ({exc.strerror or exc})"
        sys.stderr.write(f"devfactory sandbox: {why}\n")
        _write(summary, json.dumps({"error": why}))
        return NO_ROOM
    status = run(argv, options)
    mask = os.umask(0o077)  # the factory's, inherited: what comes back is as private as its own
    os.umask(mask)
    dropped: list[tuple[int, str, str]] = []
    count, error = 0, ""
    for index, host in enumerate(stages):
        try:
            found = _between((top, str(index)), host, mask=mask)
        except OSError as exc:
            error = f"could not copy {host} back: {exc}"
            continue
        dropped += [(index, path, why) for path, why in found.dropped]
        count += found.count
    _write(summary, json.dumps({"dropped": dropped, "count": count, "error": error}))
    return status


def _between(
    source: str | tuple[int, str],
    target: str | tuple[int, str],
    owner: tuple[int, int] | None = None,
    mask: int = 0,
) -> Mirrored:
    """Mirror one folder into another; each is a host path or (open folder, name in it)."""
    from devfactory import runfiles
    from devfactory.sandbox import untrusted

    fds = []
    try:
        for where in (source, target):
            if isinstance(where, tuple):
                fds.append(os.open(where[1], os.O_RDONLY | os.O_DIRECTORY, dir_fd=where[0]))
            else:
                fds.append(runfiles.open_folder(where))
        found = untrusted.mirror(fds[0], fds[1], owner=owner, mask=mask)
        if owner is not None and _is_folder(fds[0], ".git"):
            os.mkdir(".git", 0o755, dir_fd=fds[1])  # where bwrap mounts the history, read-only
        return found
    finally:
        for fd in fds:
            os.close(fd)


def _is_folder(folder: int, name: str) -> bool:
    import stat

    try:
        return stat.S_ISDIR(os.stat(name, dir_fd=folder, follow_symlinks=False).st_mode)
    except FileNotFoundError:
        return False


def _write(path: str, text: str) -> None:
    fresh = f"{path}.{os.getpid()}"
    with open(fresh, "w") as handle:
        handle.write(text)
    os.replace(fresh, path)


def main(args: list[str]) -> int:
    """Start the command the arguments describe; return its exit status (or exec it)."""
    options, argv = parse(args)
    try:
        join_cgroups(options.get("cgroup", []))
        open_fds(options.get("fd", []))
        if "layer" in options:
            return layered(argv, options)
        set_rlimits(options)
        os.execvp(argv[0], argv)
    except OSError as exc:
        sys.stderr.write(f"devfactory sandbox: cannot start {argv[0]}: {exc}\n")
    return 127


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
