"""An existing repository a run delivers into: its checked source, a clone on a branch, push, merge.

A run given ``--repo PATH_OR_URL [--base BRANCH]`` works in its own folder, as
every run does; here that folder is a clone of the repository (``git clone
--no-hardlinks`` for a path), switched to a new branch ``devfactory/<run-id>``
from the base branch (by default the repository's HEAD branch). The run's
commits (one per passed stage, by its team) go on that branch only; the
source's base branch and its checked-out working tree are never written.

At the end the branch is pushed back to the source as ``devfactory/<run-id>``
(``push_branch``), like a merge request; merging it into the base branch is a
person's decision (the "merge" pause), and ``merge_into_base`` then
fast-forwards the base branch only when it has not moved since the run started
(a compare-and-swap on the ref) and is not checked out in the source.

Every git call runs without system or user configuration, hooks, prompts for
credentials (``GIT_TERMINAL_PROMPT=0``, ssh in batch mode), with only the
transport it needs (file for a path; https, http or ssh for a URL), and under a
timeout. A source that looks like an option, or names another transport
(``ext::``, ``git://``), is refused; a URL's credentials are never recorded
(``shown_source``). A remote's host must be one the ``repo_allowed_hosts``
setting lists, and git is held to the address the factory checked, for the
clone and for every push and fetch back (``remotes.py``). The clone itself runs
in a bounded child process (``cloning.py``). What the clone is about (its base
branch and commit, its branch, the source as shown) is kept beside the
workspace mark in the clone's ``.git`` (``DELIVERY``), so every part of the
factory that reads the run's folder finds it there.

Why one module: checking where a repository is, cloning it onto the run's
branch, reading its base tree and pushing or merging the branch back are one
concept (the run's link to the repository it delivers into) and share one
git environment and one error type.
"""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from urllib.parse import unquote, urlsplit

from devfactory.contracts import Delivery, Repository, check_relative_path
from devfactory.redact import redact
from devfactory.repos.cloning import CloneFailure, CloneLimits, run_clone
from devfactory.repos.git import GIT_OPTIONS, GitError, clean_env, read_git, run_git
from devfactory.repos.git_credentials import credential_env, keep, without_userinfo
from devfactory.repos.local_source import (
    LocalSource,
    SourceRefusedError,
    opened_source,
)
from devfactory.repos.remotes import HostPolicy, Pin, Remote, RemoteRefusedError, remote_of
from devfactory.repos.workspace import DELIVERY, FACTORY, MARK
from devfactory.runfiles import remove_tree

log = logging.getLogger(__name__)

BRANCH_PREFIX = "devfactory/"
MAX_SOURCE_CHARS = 2000
_URL = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://", re.ASCII)
_SCP = re.compile(r"^(?:[^@/\s]+@)?[A-Za-z0-9.-]+:(?!//)", re.ASCII)  # user@host:path
_CREDENTIALS = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)[^/@\s]*@")
_REF_BAD = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]|\.\.|@\{|//|/\.|\.lock(?:/|$)")
_SCHEMES = frozenset({"file", "ssh", "http", "https"})
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069]")


class RepositoryError(ValueError):
    """A repository, its base branch or a git call on it cannot serve the run (said safely).

    Its message is safe for whoever may see the run: it never quotes what a
    remote host sent. ``detail`` is git's own account (credentials removed, one
    line), which may quote the host: for the factory's operator (the worker's log,
    the CLI's user), never for an API caller.
    """

    def __init__(self, message: str, *, detail: str = "") -> None:
        super().__init__(message)
        self.detail = detail

    def told(self) -> str:
        """Return the message with git's account, for the local operator (the CLI)."""
        return f"{self}: {self.detail}" if self.detail else str(self)


@dataclass(frozen=True)
class GitOutcome:
    """What a push or a merge did: whether it happened, and a line that says what or why not."""

    ok: bool
    message: str


def is_url(source: str) -> bool:
    """Say whether ``source`` is a URL (``scheme://`` or ``user@host:path``) rather than a path."""
    return bool(_URL.match(source)) or (bool(_SCP.match(source)) and not Path(source).exists())


def local_path_of(source: str) -> Path | None:
    """Return the folder on this machine that ``source`` names (a path or ``file://``), or None."""
    if source.lower().startswith("file://"):
        return Path(unquote(urlsplit(source).path))
    return None if is_url(source) else Path(source).expanduser()


def shown_source(source: str) -> str:
    """Return ``source`` as it may be recorded: a URL's user and password removed, redacted."""
    return redact(_CREDENTIALS.sub(lambda m: m.group("scheme") + "[REDACTED]@", source))


def _safe(text: str, source: str = "") -> str:
    """Return git's output as it may be shown: one line, no credentials, no controls, bounded."""
    line = " ".join(_CONTROLS.sub(" ", text).split())
    if source:
        line = line.replace(source, shown_source(source))
    return shown_source(line)[:600] or "no reason given"


def check_source(text: str) -> str:
    """Return a repository's source as given, or raise ``RepositoryError`` saying what is wrong.

    A path or a URL git can clone: never empty, never option-like (``-...``),
    no control characters, no transport other than file, ssh, http and https
    (``ext::`` runs a command; ``git://`` is neither authenticated nor encrypted).
    """
    source = text.strip()
    if not source:
        raise RepositoryError("the repository is empty: give a path or a URL")
    if len(source) > MAX_SOURCE_CHARS:
        raise RepositoryError(f"the repository is longer than {MAX_SOURCE_CHARS} characters")
    if source.startswith("-"):
        raise RepositoryError("the repository must not start with '-' (it would read as an option)")
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in source):
        raise RepositoryError("the repository has control characters")
    if "::" in source.split("/", 1)[0]:
        raise RepositoryError("the repository names a transport helper (<helper>::); refused")
    found = _URL.match(source)
    if found and found.group("scheme").lower() not in _SCHEMES:
        scheme = found.group("scheme")
        raise RepositoryError(
            f"the repository's scheme {scheme!r} is not file, ssh or http(s)"
            + (" (git:// is neither authenticated nor encrypted)" if scheme == "git" else "")
        )
    return source


UNREACHABLE = "its host could not be reached, did not answer as a git server or refused it"
"""Why a remote repository was not reached, in the same words whatever the cause: a name
that does not resolve, resolves to an address the policy refuses, a closed port, a server
that is not git. Words that differ would tell the caller what an internal name resolves to."""


def remote_of_checked(source: str, hosts: HostPolicy | None) -> Remote:
    """Return the remote ``source`` names if ``hosts`` lists its host (no name resolved)."""
    try:
        return (hosts or HostPolicy()).check_host(remote_of(source))
    except RemoteRefusedError as exc:
        raise RepositoryError(f"the repository is refused: {exc}") from None


def _pinned(remote: Remote, hosts: HostPolicy | None, resolve_seconds: float) -> Pin:
    """Resolve a listed remote's host and hold git to its checked address.

    What the name resolves to, or that it resolves to nothing, is the
    operator's to read (the detail), never the caller's: the refusal reads as
    every unreachable host does (``UNREACHABLE``).
    """
    try:
        return (hosts or HostPolicy()).pin(remote, timeout=resolve_seconds)
    except RemoteRefusedError as exc:
        said = f"git could not clone {shown_source(remote.url)} ({UNREACHABLE}, or the clone "
        raise RepositoryError(said + "passed a limit)", detail=str(exc)) from None


def check_remote(source: str, hosts: HostPolicy) -> str:
    """Return a remote source as git will be given it, if ``hosts`` lists its host.

    No name is resolved and nothing is connected to: a request may call it.
    Raises ``RepositoryError`` saying which rule refused it.
    """
    return remote_of_checked(check_source(source), hosts).url


def check_ref(name: str, what: str = "the base branch") -> str:
    r"""Return a branch name git accepts, or raise ``RepositoryError`` (``git check-ref-format``).

    Refused: empty, option-like, ``@``, control characters and spaces, ``~^:?*[\\``,
    ``..``, ``@{``, ``//``, a part starting with ``.``, ending in ``.lock``, ``/`` or ``.``.
    """
    ref = name.strip()
    if not ref:
        raise RepositoryError(f"{what} is empty")
    if len(ref) > 200:
        raise RepositoryError(f"{what} is longer than 200 characters")
    if ref.startswith("-"):
        raise RepositoryError(f"{what} must not start with '-' (it would read as an option)")
    if ref == "@" or ref.startswith(("/", ".")) or ref.endswith(("/", ".")):
        raise RepositoryError(f"{what} {ref!r} is not a branch name")
    if _REF_BAD.search(ref) or ref.endswith(".lock"):
        raise RepositoryError(f"{what} {ref!r} is not a branch name git accepts")
    if ref.startswith("refs/"):
        raise RepositoryError(f"{what} is a branch's short name, not a ref ({ref!r})")
    return ref


def branch_of(run_id: str) -> str:
    """Return the run's branch: ``devfactory/<run-id>``."""
    return check_ref(BRANCH_PREFIX + run_id, "the run's branch")


def _env(pin: Pin | None = None) -> dict[str, str]:
    """Return git's environment: nothing of the user's, no prompt, only the transport it needs.

    Without ``pin`` only local repositories (``file``) can be reached; with one,
    only its scheme, and ssh goes to its checked address.
    """
    name, email = FACTORY.split(" <", 1)
    return clean_env(
        HOME=os.environ.get("HOME", "/nonexistent"),  # ssh reads its known hosts there
        GIT_ASKPASS="true",  # never ask anyone for a password: an empty answer fails
        SSH_ASKPASS="true",
        GIT_SSH_COMMAND=pin.ssh_command() if pin else "ssh -F /dev/null -o BatchMode=yes",
        GIT_SSH_VARIANT="ssh",
        GIT_ALLOW_PROTOCOL=pin.remote.scheme if pin else "file",
        GIT_PROTOCOL_FROM_USER="0",
        GIT_COMMITTER_NAME=name,
        GIT_COMMITTER_EMAIL=email.rstrip(">"),
        GIT_AUTHOR_NAME=name,
        GIT_AUTHOR_EMAIL=email.rstrip(">"),
    )


def git(
    args: Sequence[str],
    *,
    cwd: Path,
    timeout: float,
    ok: tuple[int, ...] = (0,),
    source: str = "",
    stdin: str | None = None,
    pin: Pin | None = None,
    more_env: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run one git command in ``cwd`` in the controlled environment; fail as ``RepositoryError``.

    ``pin``: the command reaches that remote, at its checked address only.
    ``more_env``: added to git's environment (the run's credentials, ``git_credentials``).
    """
    pinned = pin.git_options() if pin else []
    env = _env(pin) | dict(more_env or {})
    try:
        return run_git(args, cwd=cwd, env=env, timeout=timeout, options=pinned, stdin=stdin, ok=ok)
    except GitError as exc:
        raise _failed(exc, source, pin) from None


def _failed(exc: GitError, source: str = "", pin: Pin | None = None) -> RepositoryError:
    """Word a failed git call as ``RepositoryError``, git's own reason made safe to show."""
    if exc.done is None:
        return RepositoryError(str(exc))
    why = _safe(exc.done.stderr or exc.done.stdout, source)
    if pin is not None:  # its words may quote the remote host: for the operator only
        return RepositoryError(f"{exc} at {pin.remote.host}", detail=why)
    return RepositoryError(f"{exc}: {why}")


def folder_bytes(root: Path, limit: int) -> int:
    """Return the bytes under ``root`` (no link followed), stopping once past ``limit``."""
    total = 0
    for folder, dirs, files in os.walk(root, followlinks=False):
        for name in files:
            try:
                total += os.lstat(os.path.join(folder, name)).st_size
            except OSError:
                continue
            if total > limit:
                return total
        dirs[:] = [d for d in dirs if not os.path.islink(os.path.join(folder, d))]
    return total


def open_local(path: Path, *, roots: Sequence[Path] | None, identity: str = "") -> LocalSource:
    """Check the local repository at ``path`` as it is opened (``local_source``); say what it is.

    Raises ``RepositoryError`` with the check that refused it.
    """
    try:
        with opened_source(path, roots=roots, identity=identity) as (_, found):
            return found
    except SourceRefusedError as exc:
        raise RepositoryError(str(exc)) from None
    except OSError as exc:
        raise RepositoryError(f"the repository at {path} cannot be opened: {exc.strerror}") from exc


def clone_for_run(
    source: str,
    base: str | None,
    run_id: str,
    dest: Path,
    *,
    timeout: float,
    max_bytes: int,
    hosts: HostPolicy | None = None,
    limits: CloneLimits | None = None,
    roots: Sequence[Path] | None = None,
    data_dir: Path | None = None,
) -> Delivery:
    """Clone ``source`` into ``dest`` on a new branch ``devfactory/<run-id>`` from ``base``.

    ``dest`` must be missing or empty; it is left empty (or removed, when this
    made it) when anything fails, so a refused repository leaves nothing behind.
    ``base`` None takes the repository's HEAD branch. A URL's host must be one
    ``hosts`` lists (None: none is), and git reaches only the address checked
    here. The clone runs bounded by ``limits`` (``cloning.py``), for at most
    ``timeout`` seconds, and writes at most ``max_bytes``. A local source is
    checked as it is opened (``local_source``: no link on its way, under
    ``roots`` unless None) and again after the clone: a folder swapped
    meanwhile is refused, and what was cloned from it removed. A URL's user and
    password never stay in the clone's ``.git/config``: they are kept in
    ``data_dir`` for the push back (``git_credentials``; none given: dropped). Raises
    ``RepositoryError`` with the reason (a refused host, an unknown base, a
    clone past a limit, no commits); git's own words are its ``detail``.
    """
    source = check_source(source)
    base = check_ref(base) if base is not None else None
    branch = branch_of(run_id)
    limits = limits or CloneLimits()
    path = local_path_of(source)  # a path, or a file:// URL
    local = path is not None
    pin: Pin | None = None
    opened: LocalSource | None = None
    if path is not None:
        opened = open_local(path, roots=roots)
        origin = str(opened.path)
    else:
        pin = _pinned(remote_of_checked(source, hosts), hosts, limits.resolve_seconds)
        origin = pin.remote.url
    dest = Path(dest)
    check_destination(dest)
    made = not dest.exists()
    try:
        dest.mkdir(mode=0o700, parents=True, exist_ok=True)
        failure = _clone(
            origin, base, dest, pin=pin, timeout=timeout, max_bytes=max_bytes, limits=limits
        )
        if failure is None and folder_bytes(dest, max_bytes) > max_bytes:
            failure = CloneFailure("size", "")  # the unsandboxed mode's check, after the clone
        if failure is not None:
            raise _refusal(
                failure, origin, base, remote=pin is not None, timeout=timeout, max_bytes=max_bytes
            )
        if opened is not None:  # the folder cloned is the folder checked, or nothing is kept
            open_local(opened.path, roots=roots, identity=opened.identity)
        clean, userinfo = without_userinfo(origin)
        if userinfo:  # the run's folder keeps no credential; the data directory keeps it apart
            git(["remote", "set-url", "origin", clean], cwd=dest, timeout=timeout)
            if data_dir is not None:
                keep(data_dir, run_id, userinfo)
        head = git(["symbolic-ref", "--quiet", "--short", "HEAD"], cwd=dest, timeout=timeout)
        base = base or check_ref(head.stdout.strip())
        commit = git(
            ["rev-parse", "--verify", "--quiet", "HEAD^{commit}"],
            cwd=dest,
            timeout=timeout,
            ok=(0, 1),
        ).stdout.strip()
        if not commit:
            raise RepositoryError(f"the base branch {base!r} has no commits to start from")
        git(["switch", "--quiet", "-c", branch], cwd=dest, timeout=timeout)
        delivery = Delivery(
            run_id=run_id,
            source=shown_source(origin),
            local=local,
            base=base,
            base_commit=commit,
            branch=branch,
            confined=opened is not None and roots is not None,
            identity=opened.identity if opened is not None else "",
        )
        git_dir = dest / ".git"
        (git_dir / MARK).write_text("made by devfactory for the run in this folder\n")
        (git_dir / DELIVERY).write_text(json.dumps(delivery.model_dump(), indent=1) + "\n")
        return delivery
    except BaseException:
        remove_tree(dest)  # iterative: a hostile tree may be thousands of folders deep
        if not made:
            dest.mkdir()
        raise


def check_destination(dest: Path) -> None:
    """Refuse (``RepositoryError``) a clone's folder that is there and is not an empty folder."""
    if dest.exists() and (dest.is_symlink() or not dest.is_dir() or any(dest.iterdir())):
        raise RepositoryError(f"the run's folder {dest} is not empty: a clone needs an empty one")


def empty_folder(folder: Path) -> None:
    """Leave ``folder`` empty (made anew, so no link in it is ever followed)."""
    remove_tree(folder)
    folder.mkdir(parents=True)


def _clone(
    origin: str,
    base: str | None,
    dest: Path,
    *,
    pin: Pin | None,
    timeout: float,
    max_bytes: int,
    limits: CloneLimits,
) -> CloneFailure | None:
    """Run the bounded clone of ``origin`` into the empty ``dest`` (``cloning.run_clone``)."""
    args = ["git", *GIT_OPTIONS, *(pin.git_options() if pin else [])]
    args += ["clone", "--quiet", "--template=", "--no-recurse-submodules"]
    args += ["--no-hardlinks"] if pin is None else []
    args += ["--branch", base] if base is not None else []
    # a local source may belong to another user than the one who clones it
    trusted = "".join(f"[safe]\n\tdirectory = {p}\n" for p in (origin, f"{origin}/.git"))
    return run_clone(
        [*args, "--", origin],
        _env(pin) | ({"PATH": "/usr/bin:/bin"} if limits.sandboxed else {}),
        dest,
        seconds=timeout,
        max_bytes=max_bytes,
        limits=limits,
        network=pin is not None,
        reads=[Path(origin)] if pin is None else [],
        ssh=pin is not None and pin.remote.scheme == "ssh",
        config=trusted if pin is None else "",
    )


def _refusal(
    failure: CloneFailure,
    origin: str,
    base: str | None,
    *,
    remote: bool,
    timeout: float,
    max_bytes: int,
) -> RepositoryError:
    """Say why a clone failed in words safe for whoever sees the run; git's own as the detail.

    Whatever a remote host did (refused the connection, kept it open and silent,
    answered with something that is not git, asked for a password) reads the
    same: a caller cannot tell an open port from a closed one by the words, and
    never reads a byte the host sent.
    """
    detail = _safe(failure.detail, origin) if failure.detail else ""
    if failure.kind == "size":
        message = f"the repository takes more than {max_bytes // 2**20} MiB (repo_max_mb)"
    elif failure.kind == "branch" and base is not None:
        message = f"the repository has no branch {base!r} (the base branch)"
    elif failure.kind == "depth":
        message = "the repository nests folders deeper than the factory takes"
    else:
        limit = {"time": f"took longer than {timeout:g} s", "cpu": "used up its CPU time",
                 "memory": "ran out of memory", "processes": "ran too many processes"}  # fmt: skip
        if failure.kind in limit:
            detail = f"the clone {limit[failure.kind]}; {detail}".rstrip("; ")
        why = UNREACHABLE if remote else "it is not a repository git can read"
        message = f"git could not clone {shown_source(origin)} ({why}, or the clone passed a limit)"
    return RepositoryError(message, detail=detail)


def delivery_of(folder: Path, run_id: str | None = None) -> Delivery | None:
    """Return what the run in ``folder`` delivers into (None: it delivers into no repository).

    With ``run_id``, a record made for another run (a reused folder) is not taken.
    """
    record = Path(folder) / ".git" / DELIVERY
    try:
        if record.is_symlink() or not record.is_file() or record.stat().st_size > 10_000:
            return None
        doc = json.loads(record.read_text(encoding="utf-8"))
        found = Delivery(**{k: doc[k] for k in Delivery.model_fields if k in doc})
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return found if run_id is None or found.run_id == run_id else None


def base_files(
    folder: Path, commit: str, *, max_bytes: int, timeout: float
) -> tuple[dict[str, str], list[str]]:
    """Return the text files of ``commit`` in the clone at ``folder``, and the paths left out.

    Links, submodules, binary files, paths a run may not write and files past
    ``max_bytes`` in all are left out (and listed), so a layout of them is
    always bounded and safe to write without following anything.
    """
    listed = git(["ls-tree", "-r", "-z", "--long", commit], cwd=folder, timeout=timeout).stdout
    wanted: list[tuple[str, str]] = []
    left: list[str] = []
    budget = max_bytes
    for entry in filter(None, listed.split("\0")):
        meta, _, path = entry.partition("\t")
        mode, kind, sha, size = (meta.split() + ["", "", "", ""])[:4]
        try:
            check_relative_path(path)
        except ValueError:
            left.append(path)
            continue
        if kind != "blob" or mode == "120000" or not size.isdigit() or int(size) > budget:
            left.append(path)
            continue
        budget -= int(size)
        wanted.append((path, sha))
    files: dict[str, str] = {}
    batch = _cat_blobs([sha for _, sha in wanted], folder, timeout)
    for path, sha in wanted:
        try:
            text = batch.get(sha, b"\0").decode("utf-8")
        except UnicodeDecodeError:
            text = "\0"
        if "\0" in text:  # binary, or not read
            left.append(path)
            continue
        files[path] = text
    return files, left


def _cat_blobs(shas: Sequence[str], folder: Path, timeout: float) -> dict[str, bytes]:
    """Read blobs by sha with one ``git cat-file --batch``; return their bytes by sha."""
    if not shas:
        return {}
    try:
        out = read_git(
            ["cat-file", "--batch"],
            cwd=folder,
            env=_env(),
            timeout=timeout,
            stdin="".join(f"{sha}\n" for sha in shas).encode(),
        )
    except GitError as exc:
        raise RepositoryError(f"git cat-file could not read the base tree: {exc}") from None
    found, at = {}, 0
    while at < len(out):
        end = out.find(b"\n", at)
        if end < 0:
            break
        head = out[at:end].split()
        if len(head) != 3 or not head[2].isdigit():  # "<sha> missing"
            at = end + 1
            continue
        size = int(head[2])
        found[head[0].decode()] = out[end + 1 : end + 1 + size]
        at = end + 1 + size + 1
    return found


@lru_cache(maxsize=2)
def _base_layout(folder: str, commit: str, max_bytes: int, timeout: float) -> Mapping[str, str]:
    """Return the base tree's text files (``base_files``), read once per process and commit."""
    files, _ = base_files(Path(folder), commit, max_bytes=max_bytes, timeout=timeout)
    return MappingProxyType(files)


def repository_files(
    repository: Repository | None, *, max_bytes: int, timeout: float
) -> Mapping[str, str]:
    """Return the base tree's text files of a run's ``repository`` state (none without one).

    A clone that is gone or unreadable gives none (the old tests then cannot run,
    and their check says so).
    """
    if not repository:
        return {}
    try:
        folder = str(Path(repository.folder))
        return _base_layout(folder, repository.base_commit, max_bytes, timeout)
    except (RepositoryError, OSError):
        return {}


def base_text(folder: Path, commit: str, path: str, *, limit: int, timeout: float) -> str | None:
    """Return one file's text at ``commit`` (``limit`` characters at most); None: not text."""
    try:
        check_relative_path(path)
        done = git(["show", f"{commit}:{path}"], cwd=folder, timeout=timeout, ok=(0, 128))
    except (RepositoryError, ValueError):
        return None
    if done.returncode != 0 or "\0" in done.stdout:
        return None
    return done.stdout[:limit]


def changed_files(folder: Path, delivery: Delivery, *, timeout: float) -> list[str]:
    """Return ``A path``/``M path``/``D path`` lines: the branch's changes against its base."""
    args = ["diff", "--name-status", "--no-renames", "-z", delivery.base_commit, "HEAD", "--"]
    out = git(args, cwd=folder, timeout=timeout).stdout.split("\0")
    return [f"{status} {path}" for status, path in zip(out[0::2], out[1::2], strict=False) if path]


def origin_pin(
    folder: Path,
    delivery: Delivery,
    *,
    timeout: float,
    hosts: HostPolicy | None,
    resolve_seconds: float = 10.0,
) -> Pin | None:
    """Check the clone's remote origin again and hold git to it (None: a local source).

    The host is checked against ``hosts`` as the clone's was, and resolved
    anew: an address that changed since the clone is checked before any push.
    """
    if delivery.local:
        return None
    url = git(["remote", "get-url", "origin"], cwd=folder, timeout=timeout).stdout.strip()
    return _pinned(remote_of_checked(url, hosts), hosts, resolve_seconds)


# git's options where it works in a local source: beside GIT_OPTIONS (no hook, no
# fsmonitor), nothing its configuration names may run or reach further
_RECEIVING = (
    "-c", "core.alternateRefsCommand=true",  # a command run on the alternates' refs: none
    "-c", "fetch.recurseSubmodules=false",
    "-c", "submodule.recurse=false",
    "-c", "fetch.writeCommitGraph=false",
    "-c", "fetch.prune=false",
    "-c", "fetch.pruneTags=false",
    "-c", "receive.autogc=false",
)  # fmt: skip
# fetch's own flags: only the refspecs given, nothing else written, nothing run after
_FETCH = (
    "fetch", "--quiet", "--no-tags", "--no-write-fetch-head", "--no-recurse-submodules",
    "--no-auto-gc", "--no-auto-maintenance", "--no-prune", "--upload-pack=git-upload-pack",
)  # fmt: skip


def _origin_path(folder: Path, timeout: float) -> Path:
    """Return the local source the clone at ``folder`` came from (its origin)."""
    url = git(["remote", "get-url", "origin"], cwd=folder, timeout=timeout).stdout.strip()
    path = local_path_of(url)
    if path is None or not path.is_absolute():
        raise RepositoryError("the run's clone does not name a local repository as its origin")
    return path


def _in_source(
    source: LocalSource, fd: int, args: Sequence[str], *, timeout: float, ok: tuple[int, ...] = (0,)
) -> subprocess.CompletedProcess[str]:
    """Run git in the local source open as ``fd`` (its git folder), running none of its code.

    git works in the folder that was checked (``/proc/self/fd/N``), with every
    hook, the fsmonitor and the other commands its configuration may name
    switched off on git's own command line, which outranks the repository's
    configuration; the repository may belong to another user (``safe.directory``
    names it alone).
    """
    trusted = [f"safe.directory={p}" for p in {source.path, source.git_dir}]
    options = [*_RECEIVING, *(o for t in trusted for o in ("-c", t))]
    try:
        return run_git(
            args,
            cwd=Path(f"/proc/self/fd/{fd}"),
            env=_env() | {"GIT_DIR": "."},
            timeout=timeout,
            options=options,
            ok=ok,
            pass_fds=(fd,),
        )
    except GitError as exc:
        raise _failed(exc) from None


def _fetch_into_source(
    folder: Path, delivery: Delivery, *, timeout: float, roots: Sequence[Path] | None
) -> None:
    """Bring the run's branch into its local source by fetching it there; no hook runs.

    A push would start ``git-receive-pack`` in the source, which runs the
    source's hooks (``pre-receive``, ``update``, ``post-receive``, ...) with no
    way for the pushing side to switch them off. A fetch in the source, hooks
    off on its command line, writes the same objects and the same ref. The
    source is opened as it was checked at the clone (``local_source``): no
    link, under ``roots`` for a confined one, the same folder.
    """
    ref = f"refs/heads/{delivery.branch}"
    path = _origin_path(folder, timeout)
    try:
        held = roots if delivery.confined else None
        mine = git(["rev-parse", "--verify", ref], cwd=folder, timeout=timeout).stdout.strip()
        with opened_source(path, roots=held, identity=delivery.identity) as (fd, source):
            here = str(Path(folder).resolve() / ".git")
            _in_source(source, fd, [*_FETCH, "--", here, f"{ref}:{ref}"], timeout=timeout)
            # what arrived is the run's branch (no url.*.insteadOf of the source's led elsewhere)
            read = ["rev-parse", "--verify", "--quiet", ref]
            there = _in_source(source, fd, read, timeout=timeout, ok=(0, 1)).stdout.strip()
            if there != mine:
                if there:  # take back the ref the fetch wrote, only if it is still that one
                    drop = ["update-ref", "-d", ref, there]
                    _in_source(source, fd, drop, timeout=timeout, ok=(0, 1))
                raise RepositoryError(f"the source's {delivery.branch} is not the run's branch")
    except SourceRefusedError as exc:
        raise RepositoryError(str(exc)) from None
    except OSError as exc:
        raise RepositoryError(f"the repository at {path} cannot be opened: {exc.strerror}") from exc


def _credentials(data_dir: Path | None, delivery: Delivery) -> dict[str, str]:
    """Return git's environment for the run's kept credentials (none: nothing to add)."""
    if data_dir is None:
        return {}
    try:
        return credential_env(data_dir, delivery.run_id)
    except ValueError as exc:
        raise RepositoryError(f"the run's kept credentials cannot be given to git: {exc}") from None


def push_branch(
    folder: Path,
    delivery: Delivery,
    *,
    timeout: float,
    hosts: HostPolicy | None = None,
    resolve_seconds: float = 10.0,
    pin: Pin | None = None,
    roots: Sequence[Path] | None = None,
    data_dir: Path | None = None,
) -> GitOutcome:
    """Send the run's branch to the source as ``devfactory/<run-id>``; a failure is said.

    The base branch is never written here; the run's branch only grows (one
    commit a passed stage), so it is a fast-forward of the source's copy.
    A local source fetches it (``_fetch_into_source``: none of its hooks run);
    a remote one is pushed to, at the address ``hosts`` allows
    (``origin_pin``), or at ``pin`` when the caller checked it already.
    ``roots``: the ``repo_local_roots`` a confined local source is held to.
    ``data_dir``: where the run's credentials for a remote are kept, if any.
    """
    ref = f"refs/heads/{delivery.branch}"
    try:
        if delivery.local:
            _fetch_into_source(folder, delivery, timeout=timeout, roots=roots)
        else:
            pin = pin or origin_pin(
                folder, delivery, timeout=timeout, hosts=hosts, resolve_seconds=resolve_seconds
            )
            push = ["push", "--quiet", "--porcelain", "origin", f"{ref}:{ref}"]
            answers = _credentials(data_dir, delivery)
            git(push, cwd=folder, timeout=timeout, pin=pin, more_env=answers)
    except RepositoryError as exc:
        if exc.detail:
            log.warning("the branch %s was not pushed: %s", delivery.branch, exc.told())
        return GitOutcome(False, f"the branch {delivery.branch} was not pushed to "
                          f"{delivery.source}: {exc}")  # fmt: skip
    return GitOutcome(True, f"the branch {delivery.branch} is in {delivery.source}, for review")


def _checked_out_in(source: LocalSource, fd: int, branch: str, *, timeout: float) -> bool:
    """Say whether ``branch`` is checked out in a working tree of the source open as ``fd``."""
    listed = _in_source(source, fd, ["worktree", "list", "--porcelain", "-z"], timeout=timeout)
    entries = listed.stdout.split("\0")
    heads = {e.removeprefix("branch ") for e in entries if e.startswith("branch ")}
    if source.git_dir != source.path:  # not bare: the HEAD of its own working tree too
        head = ["symbolic-ref", "--quiet", "HEAD"]
        heads.add(_in_source(source, fd, head, timeout=timeout, ok=(0, 1)).stdout.strip())
    return f"refs/heads/{branch}" in heads


def _merge_local(
    folder: Path, delivery: Delivery, *, timeout: float, roots: Sequence[Path] | None, hand: str
) -> GitOutcome:
    """Fast-forward a local source's base branch to the run's branch, running none of its code.

    The run's branch is in the source already (``push_branch``). The base
    moves only when it is checked out in no working tree of the source and is
    still at the commit the run started from: ``git update-ref NEW OLD`` is a
    compare-and-swap, made in the source with its hooks off.
    """
    base_ref, branch_ref = f"refs/heads/{delivery.base}", f"refs/heads/{delivery.branch}"
    path = _origin_path(folder, timeout)
    held = roots if delivery.confined else None
    try:
        with opened_source(path, roots=held, identity=delivery.identity) as (fd, source):
            if _checked_out_in(source, fd, delivery.base, timeout=timeout):
                return GitOutcome(
                    False,
                    f"{delivery.base} is checked out in {delivery.source}: not merged; {hand}",
                )
            read = ["rev-parse", "--verify", "--quiet"]
            now = _in_source(source, fd, [*read, base_ref], timeout=timeout, ok=(0, 1))
            head = _in_source(source, fd, [*read, branch_ref], timeout=timeout).stdout.strip()
            judged = _base_moved(delivery, now.stdout.strip(), head)
            if judged is not None:
                return judged
            ancestor = ["merge-base", "--is-ancestor", delivery.base_commit, head]
            if _in_source(source, fd, ancestor, timeout=timeout, ok=(0, 1)).returncode != 0:
                return GitOutcome(
                    False, f"{delivery.branch} does not grow from {delivery.base}: not merged"
                )
            message = f"devfactory: fast-forward {delivery.base} to {delivery.branch}"
            update = ["update-ref", "-m", message, base_ref, head, delivery.base_commit]
            _in_source(source, fd, update, timeout=timeout)
    except (SourceRefusedError, RepositoryError) as exc:
        return GitOutcome(False, f"not merged: {exc}; {hand}")
    except OSError as exc:
        return GitOutcome(False, f"not merged: the repository cannot be opened: {exc.strerror}")
    return _merged(delivery)


def _merged(delivery: Delivery) -> GitOutcome:
    """Say that the base branch was fast-forwarded to the run's branch."""
    return GitOutcome(True, f"{delivery.branch} merged into {delivery.base} (fast-forward)")


def _base_moved(delivery: Delivery, now: str, head: str) -> GitOutcome | None:
    """Say why the base branch, now at ``now``, is not fast-forwarded to ``head`` (None: it is)."""
    if now == head:  # a resumed merge that was done already
        return _merged(delivery)
    if now == delivery.base_commit:
        return None
    return GitOutcome(
        False,
        f"{delivery.base} moved since the run started ({delivery.base_commit[:12]} -> "
        f"{now[:12] or 'gone'}): not merged; the branch {delivery.branch} stays for review",
    )


def merge_into_base(
    folder: Path,
    delivery: Delivery,
    *,
    timeout: float,
    hosts: HostPolicy | None = None,
    resolve_seconds: float = 10.0,
    roots: Sequence[Path] | None = None,
    data_dir: Path | None = None,
) -> GitOutcome:
    """Fast-forward the source's base branch to the run's branch, when that is safe.

    It is pushed only when the base branch is still at the commit the run
    started from (``--force-with-lease`` makes that a compare-and-swap on the
    ref) and, for a local source, when the base branch is not checked out in a
    working tree there (pushing would change a checked-out branch under someone's
    files). Otherwise the branch stays for review and the reason is said. A
    remote source is reached as ``push_branch`` reaches it, at one checked address;
    a local one is written as ``push_branch`` writes it, none of its hooks run
    (``_merge_local``).
    """
    hand = (
        f"the branch {delivery.branch} is ready to merge by hand "
        f"(git merge --ff-only {delivery.branch} on {delivery.base})"
    )
    if delivery.local:
        pushed = push_branch(folder, delivery, timeout=timeout, roots=roots)
        if not pushed.ok:
            return pushed
        return _merge_local(folder, delivery, timeout=timeout, roots=roots, hand=hand)
    try:
        pin = origin_pin(
            folder, delivery, timeout=timeout, hosts=hosts, resolve_seconds=resolve_seconds
        )
    except RepositoryError as exc:
        return GitOutcome(False, f"the branch {delivery.branch} was not pushed: {exc}")
    pushed = push_branch(folder, delivery, timeout=timeout, pin=pin, data_dir=data_dir)
    if not pushed.ok:
        return pushed
    try:
        answers = _credentials(data_dir, delivery)
        return _merge_remote(folder, delivery, timeout=timeout, pin=pin, answers=answers)
    except RepositoryError as exc:
        if exc.detail:
            log.warning("%s was not merged: %s", delivery.branch, exc.told())
        return GitOutcome(False, f"not merged: {exc}; {hand}")


def _merge_remote(
    folder: Path, delivery: Delivery, *, timeout: float, pin: Pin | None, answers: dict[str, str]
) -> GitOutcome:
    """Fast-forward a remote's base branch with a compare-and-swap push (``merge_into_base``)."""
    ref = f"refs/heads/{delivery.base}"
    listed = git(
        ["ls-remote", "origin", ref], cwd=folder, timeout=timeout, pin=pin, more_env=answers
    )
    now = (listed.stdout.split() or [""])[0]
    head = git(["rev-parse", f"refs/heads/{delivery.branch}"], cwd=folder, timeout=timeout)
    judged = _base_moved(delivery, now, head.stdout.strip())
    if judged is not None:
        return judged
    lease = f"--force-with-lease={ref}:{delivery.base_commit}"
    refspec = f"refs/heads/{delivery.branch}:{ref}"
    push = ["push", "--quiet", "--porcelain", lease, "origin", refspec]
    git(push, cwd=folder, timeout=timeout, pin=pin, more_env=answers)
    return _merged(delivery)
