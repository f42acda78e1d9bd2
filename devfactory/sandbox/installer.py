"""Build a dependency environment with uv, in a sandbox that reaches only the package index.

Installing runs code too: an sdist's build backend, from a package a model
chose. So the install runs under bubblewrap like everything else, with no
network of its own (a new network namespace: the host's loopback services,
abstract unix sockets and link-local addresses are not there), only the new
environment, uv's cache and a private /tmp writable, and no host secrets in
its environment. A local index (``file://``, a find-links folder) is mounted
read-only; a remote one is reached only through ``index_proxy.IndexProxy``,
which carries connections to the index hosts and nothing else, relayed to
uv by ``drivers/index_relay.py``. The environment is
built in a temporary folder beside its final place and renamed into place
once complete, so no process ever sees half of one; two processes building
the same one at once both succeed and the first rename wins.

The unsandboxed mode runs uv bare, with the host's network: it keeps none of
these promises (its results say they were not sandboxed).

The installer asks the sandbox for what it needs through ``Spawner`` (its
caches, limits, the user code runs as, and one command run), so it needs the
one door of ``runner.py`` without importing it.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Protocol

from devfactory.sandbox.environments import (
    MARKER,
    Environment,
    base_python,
    checked_prefix,
    environment_key,
)
from devfactory.sandbox.index_proxy import SOCKET_NAME, IndexProxy, parse_networks
from devfactory.sandbox.indexes import IndexSources, index_sources
from devfactory.sandbox.isolation import Bind
from devfactory.sandbox.limits import Limits
from devfactory.sandbox.ownership import hand_over, take_back
from devfactory.sandbox.results import CommandResult

# what reaches uv from the factory's environment: where the index is, and how to get there
# (sandboxed, the proxy variables stay outside: the index proxy follows them instead)
PASS_THROUGH = (
    "UV_INDEX_URL",
    "UV_EXTRA_INDEX_URL",
    "UV_DEFAULT_INDEX",
    "UV_INDEX",
    "UV_FIND_LINKS",
    "UV_INDEX_STRATEGY",
    "UV_NATIVE_TLS",
    "UV_HTTP_TIMEOUT",
    "UV_CONCURRENT_DOWNLOADS",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
    "no_proxy",
)
PROXY_VARIABLES = frozenset(n for n in PASS_THROUGH if n.lower().endswith("_proxy"))
RELAY = Path(__file__).resolve().parent / "drivers" / "index_relay.py"
RELAY_FOLDER = Path("/run/devfactory-index")
"""Where the index proxy's private folder is mounted inside the install's sandbox."""

ENVIRONMENT_UMASK = 0o022
"""What uv writes an environment under: readable by all (public packages, read by the sandbox's
user, which for a root factory is not ours; the data directory around it is the factory's alone)."""


class Spawner(Protocol):
    """What an install needs of the sandbox (``runner.Sandbox`` is one): where, how, as whom."""

    cache_dir: Path
    """The folder of the environments, uv's cache and the scratch folders."""
    limits: Limits
    """The limits every command runs under (an install raises some of them)."""
    install_seconds: int
    """The wall time an install may take, both of its steps together."""
    index_hosts: tuple[str, ...]
    """``host[:port]`` an install may reach besides its indexes' own hosts."""
    index_networks: tuple[str, ...]
    """Address ranges an install may reach though they are the host's own or private."""

    @property
    def sandboxed(self) -> bool:
        """Whether commands run isolated (False: the unsandboxed opt-in)."""
        ...

    @property
    def ids(self) -> tuple[int, int] | None:
        """The (uid, gid) sandboxed code runs as; None: the factory's own."""
        ...

    def spawn(
        self,
        name: str,
        argv: Sequence[str],
        *,
        cwd: Path,
        env: dict[str, str],
        binds: Sequence[Bind],
        limits: Limits,
        scratch: Path,
        install: bool = False,
        umask: int | None = None,
    ) -> CommandResult:
        """Run ``argv`` sandboxed (or bare, in the unsandboxed mode) and judge how it ended."""
        ...


def uv_binary() -> Path:
    """Return the pinned uv binary (the ``uv`` package), or the one on PATH."""
    try:
        from uv import find_uv_bin

        return Path(find_uv_bin()).resolve()
    except (ImportError, FileNotFoundError):
        found = shutil.which("uv")
        if found is None:
            raise RuntimeError("uv is not installed: `uv sync` installs the pinned one") from None
        return Path(found).resolve()


def install_environment(sandbox: Spawner, deps: tuple[str, ...], scratch: Path) -> Environment:
    """Return the environment for ``deps`` (validated), reusing a finished one."""
    interpreter, version = base_python()
    key = environment_key(deps, version)
    envs = sandbox.cache_dir / "envs"
    final = envs / key
    command = ("uv", "pip", "install", *deps)
    if (final / MARKER).is_file():
        final.chmod(0o755)  # read by the sandbox's user (one made before that was 0700)
        note = f"reused environment {key}"
        done = CommandResult("install", command, 0, 0.0, note, sandboxed=sandbox.sandboxed)
        return Environment(final, deps, key, done, reused=True)
    envs.mkdir(parents=True, exist_ok=True)
    _sweep(envs, sandbox.install_seconds)
    staging = Path(tempfile.mkdtemp(prefix=f".{key}-", dir=envs))
    staging.chmod(0o755)  # read by the sandbox's user, which is not ours
    try:
        result = _install(sandbox, staging, interpreter, deps, scratch)
        if result.exit_code == 0:
            meta = {"dependencies": deps, "python": version, "created": time.time()}
            (staging / MARKER).write_text(json.dumps(meta))
            try:
                staging.rename(final)
            except OSError:
                if not (final / MARKER).is_file():
                    raise  # not a lost race: something else is in the way
    finally:
        shutil.rmtree(staging, ignore_errors=True)  # gone already when renamed
    return Environment(final, deps, key, result)


def _install(
    sandbox: Spawner, staging: Path, interpreter: Path, deps: tuple[str, ...], scratch: Path
) -> CommandResult:
    """Run ``uv venv`` and ``uv pip install`` into ``staging``, within install_seconds."""
    uv = uv_binary()
    cache = sandbox.cache_dir / "uv"
    cache.mkdir(parents=True, exist_ok=True)
    home = "/tmp" if sandbox.sandboxed else str(scratch)
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": home,
        "TMPDIR": home,
        "LANG": "C.UTF-8",
        "UV_CACHE_DIR": str(cache),
        "UV_PYTHON_DOWNLOADS": "never",
        "UV_NO_CONFIG": "1",
        "UV_LINK_MODE": "copy",  # never hard links into the shared (writable) cache
        "UV_NO_PROGRESS": "1",
        "UV_COMPILE_BYTECODE": "1",  # the environment is read-only where code runs
    }
    env.update({name: os.environ[name] for name in PASS_THROUGH if os.environ.get(name)})
    command = ("uv", "pip", "install", *deps)
    try:
        sources = index_sources(env, sandbox.index_hosts) if sandbox.sandboxed else IndexSources()
    except ValueError as exc:
        why = f"the install cannot reach its index: {exc}"
        return CommandResult("install", command, None, 0.0, why, sandboxed=True, problem=why)
    if sandbox.sandboxed:  # uv's only way out is the relay; the index proxy follows these
        env = {name: value for name, value in env.items() if name not in PROXY_VARIABLES}
    binds = [Bind(uv), Bind(checked_prefix(interpreter.resolve().parent.parent))]
    binds += [Bind(folder) for folder in sources.local]
    for name in ("SSL_CERT_FILE", "SSL_CERT_DIR"):
        if name in env and Path(env[name]).exists():
            binds.append(Bind(Path(env[name]).resolve()))
    binds += [Bind(cache, writable=True), Bind(staging, writable=True)]
    if sandbox.ids:  # the cache stays the sandbox user's; the environment becomes ours after
        hand_over(cache, *sandbox.ids)
        hand_over(staging, *sandbox.ids)
    # the environment becomes ours, and code runs with it as the sandbox's user: a root
    # factory's umask (0077, private_files) would leave that user nothing it may read
    umask = ENVIRONMENT_UMASK if sandbox.ids else None
    seconds = sandbox.install_seconds
    limits = replace(
        sandbox.limits,
        cpu_seconds=min(86_400, seconds * (os.cpu_count() or 1)),
        memory_mb=max(4096, sandbox.limits.memory_mb),
        processes=max(512, sandbox.limits.processes),
        file_size_mb=max(2048, sandbox.limits.file_size_mb),
    )
    steps = (
        [str(uv), "venv", "--relocatable", "--allow-existing", "--python", str(interpreter)],
        [str(uv), "pip", "install", "--python", str(staging / "bin" / "python"), "--", *deps],
    )
    start = time.monotonic()
    outputs, result = [], None
    with _index_proxy(sandbox, sources) as proxy:
        for argv in steps:
            left = seconds - int(time.monotonic() - start)
            step_limits = replace(limits, wall_seconds=max(1, left))
            step_binds = binds
            if argv[1] == "venv":
                argv = [*argv, str(staging)]
            elif proxy is not None:  # the relay gives uv the proxy on the sandbox's loopback
                relay = [str(interpreter.resolve()), "-I", "-S", str(RELAY)]
                argv = [*relay, str(RELAY_FOLDER / SOCKET_NAME), "--", *argv]
                step_binds = [*binds, Bind(RELAY), Bind(RELAY_FOLDER, source=proxy.folder)]
            result = sandbox.spawn(
                "install", argv, cwd=staging, env=env, binds=step_binds, limits=step_limits,
                scratch=scratch, install=True, umask=umask,
            )  # fmt: skip
            outputs.append(result.output.strip())
            if not result.ok:
                break
    if proxy is not None and proxy.refusals:
        outputs.append(f"the index proxy refused: {'; '.join(proxy.refusals)}")
    assert result is not None
    if sandbox.ids:
        take_back(staging, {}, (os.geteuid(), os.getegid()))
    result.argv = command
    result.seconds = round(time.monotonic() - start, 3)
    result.output = "\n".join(o for o in outputs if o)[-sandbox.limits.output_chars :]
    return result


@contextlib.contextmanager
def _index_proxy(sandbox: Spawner, sources: IndexSources) -> Iterator[IndexProxy | None]:
    """Run the proxy to the remote indexes for one install (None: none, or not sandboxed)."""
    if not sandbox.sandboxed or not sources.remote:
        yield None
        return
    networks = parse_networks(sandbox.index_networks)
    with IndexProxy(sources.remote, networks=networks, owner=sandbox.ids) as proxy:
        yield proxy


def _sweep(envs: Path, install_seconds: int) -> None:
    """Remove staging folders that a crashed process left (older than any install can take)."""
    oldest = time.time() - 2 * install_seconds - 600
    for path in envs.glob(".py*"):
        try:
            if path.is_dir() and path.stat().st_mtime < oldest:
                shutil.rmtree(path, ignore_errors=True)
        except OSError:
            continue
