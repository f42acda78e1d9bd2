"""One llama.cpp server per host and model file, shared by every process that needs it.

The first process that calls the embedded model starts llama.cpp's own
``llama-server`` through a small detached supervisor; every later process (the
CLI, each worker, the chat, a whole test session) finds it through a state file
and reuses it, so the weights are read once and several sequences decode in one
batch. Everything lives in a host-wide folder keyed by the model file
(``<tmp>/devfactory-llama-<uid>/<key>``, 0700), shared across data directories:

- ``lock``: an ``fcntl`` lock held while a server is found, started or stopped;
- ``state.json`` (0600): the supervisor's pid, the server's pid, its unix
  socket, its API key and its slots, written by the supervisor once it is up,
  with what makes each pid that process (its start time and its executable);
- ``leases/<pid>``: one file per process using the server;
- ``server.sock``: where the server listens (a unix socket in a 0700 folder,
  so no other user can reach it, and no port can be taken by someone else),
  and ``server.log``: what it printed.

The supervisor (``python -m devfactory.models.server_supervisor``) stops the
server once no live process holds a lease for ``embedded_server_grace_s``, or
once it decoded nothing for ``embedded_server_idle_timeout_s``. A server that
died is started again by the next call (``recover``), which is retried once.

A running server is reused whatever slots or context the caller's settings
ask for: the state file says what it has.

The kernel reuses pids, and a state file can outlive its server (a host that
slept, a supervisor killed with SIGKILL), so a pid it names is signalled only
while it is still that process: started when the state file says (``/proc``'s
start time, which no later process with the pid can have) and running the
executable it recorded. A pid that is another process now makes the file
stale: it is removed, logged, and nothing is signalled. The check is made on a
pidfd opened first and the signal sent through it, so a pid reused between
the check and the signal is never hit.

Why one module: finding, starting, leasing and restarting a server are one
protocol over one folder and one lock; the supervisor's side of it (its own
process) is ``server_supervisor.py``.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import hashlib
import json
import logging
import os
import secrets
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Final, Literal

import httpx

from devfactory.models.packaged import SMALL, PackagedModel
from devfactory.models.server_build import converter_at, installed_at

if TYPE_CHECKING:  # the supervisor imports this module: it starts fast without the settings
    from devfactory.settings import Settings

SUPERVISOR_MODULE: Final = "devfactory.models.server_supervisor"
"""The module run (``python -m``) as the server's detached supervisor."""
KEY_ENV: Final = "LLAMA_API_KEY"
"""llama-server reads its API key from this variable: never on the command line, which
``ps`` shows to every user."""
STOP_WAIT_S: Final = 10.0
"""How long a stopped server may take to exit before it is killed."""
POLL_S: Final = 0.2
"""How often a start is checked on (and the supervisor's step)."""
_DELETED: Final = " (deleted)"
"""What ``/proc/<pid>/exe`` ends with once the file it ran was replaced (``make setup`` again)."""

log = logging.getLogger(__name__)


class ServerError(RuntimeError):
    """The local model server could not be started or reached."""


def server_binary(settings: Settings) -> Path:
    """Return where ``llama-server`` is: the setting, else where ``make setup`` installs it."""
    if settings.serving.embedded_server_binary is not None:
        return settings.serving.embedded_server_binary
    return installed_at()


def server_built(settings: Settings) -> bool:
    """Say whether ``llama-server`` is built here (``make setup`` builds it)."""
    binary = server_binary(settings)
    return binary.is_file() and os.access(binary, os.X_OK)


def embedded_available(settings: Settings, model: PackagedModel = SMALL) -> bool:
    """Say whether ``model`` can be served here: ``llama-server`` built, every slice installed.

    ``make setup`` keeps the grammar converter beside the server's sources: with
    it missing, no structured answer could be asked for.
    """
    return server_built(settings) and converter_at().is_file() and model.installed()


def default_threads(requested: int) -> int:
    """Pick llama.cpp threads: the requested number, else one per core up to four."""
    if requested > 0:
        return requested
    return max(1, min(4, os.cpu_count() or 1))


@dataclass(frozen=True)
class ServerPlan:
    """How to start the server for one model file, and how long each wait may be."""

    binary: Path
    model: Path
    slots: int
    ctx_per_slot: int
    threads: int
    start_timeout_s: float
    idle_timeout_s: float
    grace_s: float
    draft: Path | None = None
    draft_max: int = 0
    draft_min: int = 0

    @classmethod
    def from_settings(
        cls, settings: Settings, model: Path, threads: int, draft: Path | None = None
    ) -> ServerPlan:
        """Return the plan ``settings`` give for serving ``model`` with ``threads``.

        ``draft``: a smaller model with the same tokenizer that proposes up to
        ``embedded_draft_max`` tokens for ``model`` to check in one batch
        (speculative decoding); None: ``model`` decodes alone.
        """
        return cls(
            binary=server_binary(settings),
            model=model,
            slots=settings.serving.embedded_server_slots,
            ctx_per_slot=settings.serving.embedded_ctx,
            threads=threads,
            start_timeout_s=settings.serving.embedded_server_start_timeout_s,
            idle_timeout_s=settings.serving.embedded_server_idle_timeout_s,
            grace_s=settings.serving.embedded_server_grace_s,
            draft=draft,
            draft_max=settings.serving.embedded_draft_max if draft else 0,
            draft_min=settings.serving.embedded_draft_min if draft else 0,
        )

    def command(self, socket: Path) -> list[str]:
        """Return llama-server's command line: ``slots`` sequences batched, each with a context."""
        return [
            str(self.binary),
            "--model", str(self.model),
            "--alias", self.model.stem,
            "--host", str(socket),
            "--parallel", str(self.slots),
            "--ctx-size", str(self.ctx_per_slot * self.slots),
            "--threads", str(self.threads),
            "--threads-batch", str(self.threads),
            "--cont-batching",
            "--metrics",
            "--slots",
            "--no-webui",
            *self._drafting(),
        ]  # fmt: skip

    def _drafting(self) -> list[str]:
        """Return llama-server's speculative options: the draft model, its bounds, its threads."""
        if self.draft is None:
            return []
        return [
            "--spec-type", "draft-simple",
            "--model-draft", str(self.draft),
            "--spec-draft-n-max", str(self.draft_max),
            "--spec-draft-n-min", str(self.draft_min),
            "--threads-draft", str(self.threads),
        ]  # fmt: skip


@dataclass(frozen=True)
class Endpoint:
    """A running server, as its supervisor wrote it in ``state.json``."""

    socket: str
    key: str
    pid: int  # the server's
    supervisor: int
    slots: int
    model: str
    started: float  # time.time() when it was launched
    # what makes each pid that process (``ProcessIdentity``); 0 and "" in a file from before: stale
    server_ticks: int = 0
    server_exe: str = ""  # the binary run, then (once it answered) what it runs as
    supervisor_ticks: int = 0
    supervisor_exe: str = ""

    @property
    def address(self) -> str:
        """Where it listens, as shown to people (never the key)."""
        return f"unix:{self.socket}"

    @property
    def server_process(self) -> ProcessIdentity:
        """The server's process, as recorded."""
        return ProcessIdentity(self.pid, self.server_ticks, self.server_exe)

    @property
    def supervisor_process(self) -> ProcessIdentity:
        """The supervisor's process, as recorded."""
        return ProcessIdentity(self.supervisor, self.supervisor_ticks, self.supervisor_exe)

    def server_runs(self) -> bool:
        """Say whether the server this names still runs (its pid not reused by another)."""
        return self.server_process.now() == "it"


Found = Literal["it", "gone", "other"]
"""What a recorded pid is now: that process, no process, or another process."""


@dataclass(frozen=True)
class ProcessIdentity:
    """One process as recorded when it started: its pid, start time and executable.

    A pid alone names whichever process has it now; the start time
    (``/proc/<pid>/stat`` field 22, clock ticks since boot) is fixed when the
    process is made and kept through ``exec``, so no later process with the
    same pid shares it, and the executable says it still runs what was started.
    """

    pid: int
    ticks: int
    exe: str

    @classmethod
    def of(cls, pid: int) -> ProcessIdentity | None:
        """Return ``pid`` as it is now (None: it is gone, or not this user's to read)."""
        ticks, exe = start_ticks(pid), executable(pid)
        return None if ticks is None or exe is None else cls(pid, ticks, exe)

    def now(self) -> Found:
        """Say whether the pid is still this process, no process, or another process."""
        if self.pid <= 0 or not alive(self.pid):
            return "gone"
        found = ProcessIdentity.of(self.pid)
        if found is None:  # exited meanwhile, or another user's process
            return "gone" if not alive(self.pid) else "other"
        if self.ticks <= 0 or not self.exe or found != self:
            return "other"
        return "it"

    def stop(self, wait_s: float = STOP_WAIT_S) -> Found:
        """Stop the process if it is still this one: SIGTERM, then SIGKILL after ``wait_s``.

        The pid is opened as a pidfd before it is checked, and signalled through
        it: a pid reused after the check is not the process the pidfd holds, so
        the signal cannot reach it. Return what the pid was (only ``"it"`` was
        signalled).
        """
        try:
            handle = os.pidfd_open(self.pid)
        except ProcessLookupError:
            return "gone"
        except OSError:  # no pidfds here (an old kernel): check, then signal by pid
            found = self.now()
            if found == "it":
                terminate(self.pid, wait_s)
            return found
        try:
            found = self.now()
            if found == "it":
                _stop_through(handle, wait_s)
            return found
        finally:
            os.close(handle)


def start_ticks(pid: int) -> int | None:
    """Return when process ``pid`` started, in clock ticks since boot (None: it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return int(fields[19])  # field 22; the fields after the name start at field 3
    except (OSError, IndexError, ValueError):
        return None


def executable(pid: int) -> str | None:
    """Return the file process ``pid`` runs (None: it is gone, a zombie, or not ours)."""
    try:
        exe = os.readlink(f"/proc/{pid}/exe")
    except OSError:
        return None
    return exe.removesuffix(_DELETED)  # the same program, its file since replaced


def _stop_through(handle: int, wait_s: float) -> None:
    """Stop the process of pidfd ``handle``: SIGTERM, then SIGKILL if it outlives ``wait_s``."""
    with contextlib.suppress(ProcessLookupError):
        signal.pidfd_send_signal(handle, signal.SIGTERM)
        waiting = select.poll()
        waiting.register(handle, select.POLLIN)  # readable once the process has exited
        if not waiting.poll(int(wait_s * 1000)):
            signal.pidfd_send_signal(handle, signal.SIGKILL)
            waiting.poll(int(STOP_WAIT_S * 1000))


def state_root() -> Path:
    """Return this user's host-wide folder of servers (0700, refused if someone else owns it)."""
    root = Path(tempfile.gettempdir()) / f"devfactory-llama-{os.getuid()}"
    root.mkdir(mode=0o700, exist_ok=True)
    _own(root)
    return root


def _own(folder: Path) -> None:
    info = folder.lstat()
    if folder.is_symlink() or info.st_uid != os.getuid():
        raise ServerError(f"{folder} is not a folder of this user's: refusing to use it")
    if info.st_mode & 0o077:
        folder.chmod(0o700)


def state_folder(model: Path, size: int | None = None, draft: Path | None = None) -> Path:
    """Return the folder of ``model``'s server: one per model file name and size (and draft).

    Every data directory holds its own copy of the same verified weights, so the
    file's name and size (not its path) say which server serves it; ``size``
    names it without reading the file (which may not be joined yet). A model
    served with a draft is another server than the model alone.
    """
    size = model.stat().st_size if size is None else size
    drafted = f"+{draft.name}" if draft is not None else ""
    key = hashlib.sha256(f"{model.name}:{size}{drafted}".encode()).hexdigest()[:16]
    folder = state_root() / key
    folder.mkdir(mode=0o700, exist_ok=True)
    _own(folder)
    (folder / "leases").mkdir(mode=0o700, exist_ok=True)
    return folder


def alive(pid: int) -> bool:
    """Say whether process ``pid`` runs (a zombie, dead but not reaped, does not)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    with contextlib.suppress(OSError, IndexError):
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    return True


def read_state(folder: Path) -> Endpoint | None:
    """Return the server ``folder``'s state file names, or None when there is none."""
    try:
        return Endpoint(**json.loads((folder / "state.json").read_text()))
    except (OSError, ValueError, TypeError):
        return None


def write_state(folder: Path, endpoint: Endpoint) -> None:
    """Write ``endpoint`` to ``folder``'s state file (0600), atomically."""
    partial = folder / f"state.json.{os.getpid()}"
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(asdict(endpoint), out)
    partial.replace(folder / "state.json")


def clear_state(folder: Path, pid: int) -> None:
    """Remove ``folder``'s state file if it still names server ``pid``."""
    found = read_state(folder)
    if found is not None and found.pid == pid:
        (folder / "state.json").unlink(missing_ok=True)


@contextlib.contextmanager
def locked(folder: Path, timeout_s: float) -> Iterator[None]:
    """Hold ``folder``'s lock, waiting at most ``timeout_s`` for it.

    Raises:
        ServerError: another process held it all that time.

    """
    deadline = time.monotonic() + timeout_s
    with (folder / "lock").open("a") as handle:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise ServerError(
                        f"the model server's lock {folder / 'lock'} was held for "
                        f"{timeout_s:g} s (embedded_server_start_timeout_s)"
                    ) from None
                time.sleep(POLL_S)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def live_leases(folder: Path) -> list[int]:
    """Return the pids holding a lease, removing the leases of processes that are gone."""
    pids = []
    for lease in (folder / "leases").iterdir():
        if lease.name.isdigit() and alive(int(lease.name)):
            pids.append(int(lease.name))
        else:
            lease.unlink(missing_ok=True)
    return pids


def take_lease(folder: Path) -> None:
    """Say that this process uses the server (its supervisor watches the pid)."""
    (folder / "leases" / str(os.getpid())).touch(mode=0o600)


def drop_lease(folder: Path) -> None:
    """Say that this process no longer uses the server."""
    (folder / "leases" / str(os.getpid())).unlink(missing_ok=True)


def healthy(endpoint: Endpoint, timeout_s: float = 2.0) -> bool:
    """Say whether the server at ``endpoint`` answers ``/health`` with its model loaded."""
    transport = httpx.HTTPTransport(uds=endpoint.socket)
    try:
        with httpx.Client(transport=transport, timeout=timeout_s) as client:
            return client.get("http://llama-server/health").status_code == 200
    except httpx.HTTPError:
        return False


def stop_recorded(folder: Path, found: Endpoint) -> None:
    """Stop the supervisor and the server ``found`` names, then remove ``folder``'s state file.

    Each pid is signalled only while it is still the process recorded (the
    supervisor first: it stops its server itself). A pid that is another
    process now says the file is stale: it is logged and left alone.
    """
    for what, process in (
        ("supervisor", found.supervisor_process),
        ("server", found.server_process),
    ):
        if process.stop() == "other":
            log.warning(
                "the model server's state file %s is stale: its %s's pid %d is another "
                "process now, which was not signalled; the file is removed",
                folder / "state.json",
                what,
                process.pid,
            )
    clear_state(folder, found.pid)


def log_tail(folder: Path, chars: int = 1500, name: str = "server.log") -> str:
    """Return the end of the server's log (what it said before it failed)."""
    try:
        return (folder / name).read_text(errors="replace")[-chars:]
    except OSError:
        return ""


def terminate(pid: int, wait_s: float = STOP_WAIT_S) -> None:
    """Stop process ``pid``: SIGTERM, then SIGKILL if it outlives ``wait_s``.

    Only for a pid just checked (``ProcessIdentity.stop``): a pid read from a file may
    be another process's by now.
    """
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + wait_s
        while alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if alive(pid):
            os.kill(pid, signal.SIGKILL)


class LocalServer:
    """A process's handle on the shared server of one model file.

    ``ensure`` returns the running server, starting it if none runs, and holds
    this process's lease; ``recover`` is called after a request found the server
    gone, and starts another. Safe to share between threads.
    """

    def __init__(self, plan: ServerPlan) -> None:
        self.plan = plan
        self.folder = state_folder(plan.model, draft=plan.draft)
        self._known: Endpoint | None = None
        self._leased = 0  # the pid whose lease was taken
        self._lock = threading.Lock()
        atexit.register(drop_lease, self.folder)  # its supervisor need not wait to see us gone

    def running(self) -> Endpoint | None:
        """Return the server if one runs and answers; start nothing, lease nothing."""
        found = read_state(self.folder)
        if found is None or not found.server_runs() or not healthy(found):
            return None
        return found

    def process(self) -> int | None:
        """Return the pid of the server's process while it lives (busy or not); start nothing."""
        found = read_state(self.folder)
        return found.pid if found is not None and found.server_runs() else None

    def ensure(self) -> Endpoint:
        """Return the running server, starting it when none runs (bounded by the start timeout).

        Raises:
            ServerError: the server did not answer within ``embedded_server_start_timeout_s``.

        """
        with self._lock:
            known = self._known
            if known is not None and known.server_runs() and self._leased == os.getpid():
                return known  # a forked child holds no lease of its own yet: it takes one
            self._known = self._find_or_start()
            return self._known

    def recover(self, failed: Endpoint) -> Endpoint:
        """Return a running server after a request to ``failed`` could not be made or finished.

        Another thread or process may have restarted it already; a server that
        still answers ``/health`` is kept (the request failed, not the server);
        otherwise the dead or unanswering server is stopped and another started.
        """
        with self._lock:
            known = self._known
            if known is not None and known != failed and known.server_runs():
                return known
            self._known = None
            self._known = self._find_or_start()
            return self._known

    def stop(self) -> None:
        """Stop the server and its supervisor now (whoever else uses it starts another)."""
        with self._lock, locked(self.folder, self.plan.start_timeout_s):
            found = read_state(self.folder)
            if found is not None:
                stop_recorded(self.folder, found)
            self._known = None

    def _find_or_start(self) -> Endpoint:
        with locked(self.folder, self.plan.start_timeout_s):
            take_lease(self.folder)  # under the lock: the supervisor stops nothing now leased
            self._leased = os.getpid()
            found = read_state(self.folder)
            if found is not None and found.server_runs() and healthy(found):
                return found  # a request may fail on a healthy server: never stop it then
            if found is not None:
                stop_recorded(self.folder, found)
            return self._start()

    def _start(self) -> Endpoint:
        """Start a supervisor that starts the server; wait for it to answer (lock held)."""
        socket = self.folder / "server.sock"
        socket.unlink(missing_ok=True)
        key = secrets.token_urlsafe(32)
        plan = {
            "command": self.plan.command(socket),
            "socket": str(socket),
            "slots": self.plan.slots,
            "model": self.plan.model.stem,
            "idle_timeout_s": self.plan.idle_timeout_s,
            "grace_s": self.plan.grace_s,
        }
        plan_file = self.folder / "plan.json"
        fd = os.open(plan_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            json.dump(plan, out)
        deadline = time.monotonic() + self.plan.start_timeout_s
        with (self.folder / "supervisor.log").open("wb") as log:
            launcher = subprocess.Popen(
                [sys.executable, "-m", SUPERVISOR_MODULE, str(self.folder)],
                env={**os.environ, KEY_ENV: key},
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,  # a Ctrl-C of this process never reaches the server
            )
        exited = seen = False
        while time.monotonic() < deadline:
            if launcher.poll() not in (None, 0):
                said = log_tail(self.folder, name="supervisor.log")
                raise ServerError(f"the model server's supervisor failed:\n{said}")
            found = read_state(self.folder)
            if found is None and seen:
                exited = True  # its supervisor cleared the state: the server exited
                break
            if found is not None and found.key == key:
                seen = True
                if not alive(found.pid):
                    exited = True
                    break
                if healthy(found):
                    launcher.wait()  # it returned as soon as it forked the supervisor
                    return self._confirmed(found)
            time.sleep(POLL_S)
        plan_file.unlink(missing_ok=True)  # a supervisor forked from now on starts nothing
        if launcher.poll() is None:
            launcher.kill()  # still starting: it never forked a supervisor
        launcher.wait()
        found = read_state(self.folder)
        if found is not None and found.key == key:
            stop_recorded(self.folder, found)
        why = (
            "the model server exited as it started"
            if exited
            else f"the model server did not answer within {self.plan.start_timeout_s:g} s "
            "(embedded_server_start_timeout_s)"
        )
        raise ServerError(f"{why}; its log ends:\n{log_tail(self.folder)}")

    def _confirmed(self, found: Endpoint) -> Endpoint:
        """Record what the server that just answered runs as (lock held); return it so.

        The supervisor recorded the binary it ran; a wrapper script named as
        that binary has since exec'd its interpreter. The pid is still the
        process the supervisor started (the start time it recorded says so),
        so what it runs now is what a later stop checks.
        """
        now = ProcessIdentity.of(found.pid)
        if now is None or now.ticks != found.server_ticks or now.exe == found.server_exe:
            return found
        confirmed = replace(found, server_exe=now.exe)
        if read_state(self.folder) == found:
            write_state(self.folder, confirmed)
        return confirmed


@dataclass(frozen=True)
class ServerStatus:
    """What ``devfactory models`` shows of the shared server (never its key)."""

    built: bool
    binary: str
    running: bool = False
    address: str = ""
    pid: int = 0
    slots: int = 0
    busy: int = 0
    decode_tps: float | None = None  # the server's average per sequence, tokens/s
    prompt_tps: float | None = None

    def line(self) -> str:
        """Say in one line where the server is and how it does."""
        if not self.built:
            return f"not built ({self.binary} is missing): each process loads the weights itself"
        if not self.running:
            return "not running (the first call of the embedded model starts it)"
        speed = "no tokens decoded yet"
        if self.decode_tps is not None:
            speed = f"decoding {self.decode_tps:.1f} tokens/s per sequence"
            if self.prompt_tps is not None:
                speed += f", prompts {self.prompt_tps:.0f} tokens/s"
        return f"{self.address} · pid {self.pid} · slots {self.busy}/{self.slots} busy · {speed}"


def gauges(text: str) -> dict[str, float]:
    """Return each sample of llama-server's Prometheus text by name.

    The ``# HELP`` and ``# TYPE`` lines before each sample, and a line whose
    value is not a number, are passed over: read as samples, they once lost every
    speed the status shows.
    """
    found: dict[str, float] = {}
    for line in text.splitlines():
        name, _, value = line.partition(" ")
        if name and not name.startswith("#"):
            with contextlib.suppress(ValueError):
                found[name] = float(value)
    return found


def server_status(
    settings: Settings, model: Path, size: int, draft: Path | None = None
) -> ServerStatus:
    """Return the shared server of ``model`` (with ``draft``) as it is now; start nothing."""
    binary = server_binary(settings)
    if not server_built(settings):
        return ServerStatus(built=False, binary=str(binary))
    found = read_state(state_folder(model, size, draft))
    if found is None or not found.server_runs() or not healthy(found):
        return ServerStatus(built=True, binary=str(binary))
    transport = httpx.HTTPTransport(uds=found.socket)
    headers = {"Authorization": f"Bearer {found.key}"}
    busy, measured = 0, {}
    with contextlib.suppress(httpx.HTTPError, ValueError, TypeError, KeyError):
        with httpx.Client(transport=transport, headers=headers, timeout=2.0) as client:
            slots = client.get("http://llama-server/slots").json()
            busy = sum(1 for slot in slots if slot.get("is_processing"))
            measured = gauges(client.get("http://llama-server/metrics").text)
    decode = measured.get("llamacpp:predicted_tokens_seconds")
    prompt = measured.get("llamacpp:prompt_tokens_seconds")
    return ServerStatus(
        built=True,
        binary=str(binary),
        running=True,
        address=found.address,
        pid=found.pid,
        slots=found.slots,
        busy=busy,
        decode_tps=decode or None,
        prompt_tps=prompt or None,
    )


_SERVERS: dict[ServerPlan, LocalServer] = {}
_SERVERS_LOCK = threading.Lock()


def local_server(plan: ServerPlan) -> LocalServer:
    """Return this process's one handle on the server of ``plan``."""
    with _SERVERS_LOCK:
        if plan not in _SERVERS:
            _SERVERS[plan] = LocalServer(plan)
        return _SERVERS[plan]
