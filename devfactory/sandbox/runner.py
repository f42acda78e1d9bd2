"""The sandbox that runs generated code: environments, commands, tests and smoke runs.

Generated code is untrusted. In the default mode (``bwrap``) every command
runs under bubblewrap with fresh namespaces, no network, a read-only view of
the system, the project's environment read-only and only the workspace
writable, bounded in CPU, memory, processes, file size, wall time and
output (``docs/sandbox.md`` is the threat model). Installing dependencies
runs in a sandbox too, where only the new environment and uv's cache are
writable and the only way out leads to the package index (``installer``,
``index_proxy``). ``unsandboxed`` runs the same
commands with the same limits and a cleared environment but no isolation,
and marks every result so.

Why one module: ``Sandbox`` is the one door through which generated code runs;
its commands (install, import, tests, smoke) share one protocol (the scratch
folder, the workspace lock, the disk layer, the hand-over and clean-up of what
the code wrote), and each step of it is already its own module (isolation,
launcher, untrusted, ownership, installer, junit).
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import platform
import shutil
import tempfile
import threading
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Literal, Protocol

from devfactory.runfiles import RefusedFileError, read_file, remove_tree
from devfactory.sandbox import seccomp
from devfactory.sandbox.commands import Smoke, check_modules, pytest_argv
from devfactory.sandbox.drivers.calls import RESULT_CHARS
from devfactory.sandbox.environments import Environment, validate_dependencies
from devfactory.sandbox.index_proxy import parse_networks
from devfactory.sandbox.indexes import parse_hosts
from devfactory.sandbox.installer import install_environment
from devfactory.sandbox.isolation import (
    BWRAP_PROCESSES,
    SECCOMP_FD,
    Bind,
    Layer,
    Outcome,
    bwrap_argv,
    execute,
    support_etc,
)
from devfactory.sandbox.junit import MAX_XML_BYTES, TestCase, TestReport, junit_report
from devfactory.sandbox.limits import INSTALL_SECONDS, INSTALL_SECONDS_RANGE, Limits
from devfactory.sandbox.ownership import describe, remove_traps, sandbox_ids, workspace_lock
from devfactory.sandbox.results import CommandResult, judge

__all__ = [
    "CommandResult",
    "Environment",
    "Limits",
    "Sandbox",
    "SandboxUnavailableError",
    "Smoke",
    "TestCase",
    "TestReport",
]


class SandboxSettings(Protocol):
    """The settings a sandbox is built from (``devfactory.settings.Settings.sandboxing``).

    A protocol, not the settings class: the sandbox sits below the settings,
    which hold its ``Limits``, and never imports them.
    """

    sandbox: Literal["bwrap", "unsandboxed"]
    sandbox_cache_dir: Path | None
    sandbox_limits: Limits
    sandbox_install_seconds: int
    sandbox_index_hosts: tuple[str, ...]
    sandbox_index_networks: tuple[str, ...]


DRIVERS = Path(__file__).resolve().parent / "drivers"
# the plugin every test run loads (pytest_plugin/devfactory_pytest_guard.py: a test that
# closes a standard stream fails for it, and the tests after it still run)
PYTEST_PLUGINS = Path(__file__).resolve().parent / "pytest_plugin"
PYTEST_GUARD = "devfactory_pytest_guard"
_probes: dict[str, str] = {}  # bwrap path -> why isolation fails ("" when it works)
_probe_lock = threading.Lock()


class SandboxUnavailableError(RuntimeError):
    """Isolation was asked for and does not work here; the message says how to fix it."""

    def __init__(self, why: str) -> None:
        super().__init__(
            f"The sandbox cannot isolate generated code here: {why}\n"
            "To enable it: install bubblewrap (`apt-get install bubblewrap`, or `make "
            "system-deps`). As root, the factory also needs util-linux's setpriv and the right "
            "to make namespaces (in a container: --cap-add SYS_ADMIN or a seccomp profile that "
            "allows unshare). As another user, it needs unprivileged user namespaces "
            "(`sysctl -w user.max_user_namespaces=15000`; on Debian "
            "`sysctl -w kernel.unprivileged_userns_clone=1`; on Ubuntu 24.04+ "
            "`sysctl -w kernel.apparmor_restrict_unprivileged_userns=0`).\n"
            "To run generated code WITHOUT isolation (trusted code only), set "
            "DEVFACTORY_SANDBOX=unsandboxed: every result is then recorded as not sandboxed."
        )
        self.why = why


class Sandbox:
    """Runs generated code: builds its environments, runs commands, tests and smoke runs."""

    def __init__(
        self,
        *,
        mode: str = "bwrap",
        cache_dir: Path,
        limits: Limits = Limits(),  # noqa: B008 - frozen, so one shared default is safe
        install_seconds: int = INSTALL_SECONDS,
        bwrap: str = "bwrap",
        index_hosts: Sequence[str] = (),
        index_networks: Sequence[str] = (),
    ) -> None:
        """Set the sandbox up; ``index_hosts`` and ``index_networks`` widen the install's proxy."""
        if mode not in ("bwrap", "unsandboxed"):
            raise ValueError(f"sandbox mode must be 'bwrap' or 'unsandboxed', not {mode!r}")
        low, high = INSTALL_SECONDS_RANGE
        if not low <= install_seconds <= high:
            raise ValueError(f"install_seconds must be in [{low}, {high}]")
        self.mode = mode
        self.cache_dir = Path(cache_dir).expanduser().resolve()
        self.limits = limits
        self.install_seconds = install_seconds
        self.bwrap = bwrap
        parse_hosts(index_hosts)  # a typo is an error here, not a refusal at the first install
        parse_networks(index_networks)
        self.index_hosts = tuple(index_hosts)
        self.index_networks = tuple(index_networks)

    @classmethod
    def from_settings(cls, settings: SandboxSettings, data_dir: Path) -> Sandbox:
        """Build the sandbox the settings describe (``DEVFACTORY_SANDBOX*``).

        Its cache is ``sandbox_cache_dir``, else ``sandbox`` in ``data_dir``.
        """
        return cls(
            mode=settings.sandbox,
            cache_dir=settings.sandbox_cache_dir or data_dir / "sandbox",
            limits=settings.sandbox_limits,
            install_seconds=settings.sandbox_install_seconds,
            index_hosts=settings.sandbox_index_hosts,
            index_networks=settings.sandbox_index_networks,
        )

    @property
    def sandboxed(self) -> bool:
        """Whether commands run isolated (False: the unsandboxed opt-in)."""
        return self.mode == "bwrap"

    def check(self) -> None:
        """Raise SandboxUnavailableError when isolation is asked for and fails here.

        The probe (bwrap found, a trivial command run in a full sandbox, as
        the user code runs as) runs once per bwrap path and process.
        """
        if not self.sandboxed:
            return
        with _probe_lock:
            if self.bwrap not in _probes:
                _probes[self.bwrap] = self._probe()
            why = _probes[self.bwrap]
        if why:
            raise SandboxUnavailableError(why)

    def _probe(self) -> str:
        path = shutil.which(self.bwrap)
        if path is None:
            return f"bubblewrap was not found ({self.bwrap!r} is not an executable)."
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        with self._scratch() as scratch:
            folder = scratch / "probe"
            folder.mkdir()
            layer = self._layer(scratch, [folder], Limits(disk_mb=16))
            binds = [Bind(folder, writable=True, source=layer.copy_of(folder) if layer else None)]
            argv = ["/bin/sh", "-c", f"echo sandbox-ok; echo ok > {folder}/written"]
            outcome = self._execute(
                argv, binds=binds, env={"PATH": "/usr/bin:/bin"}, cwd=Path("/"),
                limits=Limits(wall_seconds=30), stdin=None, install=False, layer=layer,
            )  # fmt: skip
            written = (folder / "written").is_file()
        if outcome.returncode != 0 or "sandbox-ok" not in outcome.output or not written:
            return f"bubblewrap failed (exit {outcome.returncode}): {outcome.output.strip()[-500:]}"
        return ""

    def environment(self, dependencies: Sequence[str]) -> Environment:
        """Return the environment with ``dependencies`` and pytest, building it when new.

        Raises ValueError for a dependency that is not a plain index
        requirement. A failed install is returned, not raised: its
        ``install`` result says why.
        """
        deps = validate_dependencies(dependencies)
        self.check()
        with self._scratch() as scratch:
            return install_environment(self, deps, scratch)

    def run(
        self,
        argv: Sequence[str],
        *,
        workspace: Path,
        env: Environment,
        limits: Limits | None = None,
        name: str = "run",
        stdin: str | None = None,
    ) -> CommandResult:
        """Run ``argv`` in ``workspace`` (the only writable folder), with ``env`` first on PATH."""
        with self._scratch() as scratch:
            return self._run_code(name, argv, workspace, env, scratch, limits=limits, stdin=stdin)

    def compile_and_import(
        self, workspace: Path, env: Environment, modules: Sequence[str]
    ) -> CommandResult:
        """Byte-compile every ``.py`` in ``workspace`` and import each dotted module name.

        One process runs ``drivers/imports.py``; its output has one line per
        failure (``pkg.mod: ValueError: boom``, then the traceback's tail).
        The workspace and its ``src/`` (when present) are on ``sys.path``.
        """
        names = check_modules(modules)
        with self._scratch() as scratch:
            report = scratch / "report"
            report.mkdir()
            summary = report / "imports.json"
            argv = ["python", "-I", "-B", str(DRIVERS / "imports.py"), str(workspace), str(summary)]
            extra = [Bind(DRIVERS), Bind(report, writable=True)]
            result = self._run_code("import", [*argv, *names], workspace, env, scratch, extra=extra)
            found = _read_json(summary, result)
        imports, errors = found.get("imports"), found.get("compile_errors")
        if isinstance(imports, dict) and isinstance(errors, list):
            result.passed = sum(1 for v in imports.values() if not v)
            result.failed = len(imports) - result.passed + len(errors)
        return result

    def call(
        self,
        workspace: Path,
        env: Environment,
        module: str,
        function: str,
        arguments: Sequence[str],
    ) -> list[str]:
        """Call ``module.function`` on each literal argument tuple; return what each gave.

        Each outcome is the result's ``repr`` or ``!ExceptionName`` (``drivers/calls.py``);
        an empty list when the module did not import or nothing could be read back.
        """
        [name] = check_modules([module])
        if not function.isidentifier():
            raise ValueError(f"not a function name: {function!r}")
        with self._scratch() as scratch:
            report = scratch / "report"
            report.mkdir()
            out = report / "calls.json"
            driver = ["python", "-I", "-B", str(DRIVERS / "calls.py"), str(workspace), str(out)]
            argv = [*driver, name, function, json.dumps(list(arguments))]
            extra = [Bind(DRIVERS), Bind(report, writable=True)]
            result = self._run_code("calls", argv, workspace, env, scratch, extra=extra)
            found = _read_json(out, result)
        outcomes = found.get("outcomes")
        if not isinstance(outcomes, list) or len(outcomes) != len(arguments):
            return []
        return [str(o)[:RESULT_CHARS] for o in outcomes]

    def run_driver(
        self,
        name: str,
        script: Path,
        args: Sequence[str],
        workspace: Path,
        env: Environment,
        *,
        beside: Environment | None = None,
    ) -> tuple[CommandResult, dict[str, object]]:
        """Run a driver script on ``workspace`` with ``env``; return how it ended, its report.

        The script (a caller's own, its folder mounted read-only, and the sandbox's own
        ``drivers/`` beside it for ``processes.py``) is called ``python -I -B
        SCRIPT WORKSPACE REPORT ARGS...`` and writes its findings as JSON to ``REPORT``
        (``{}`` when it wrote none). ``beside`` is a second environment mounted read-only
        (the script runs with ``env``'s tools and may run ``beside``'s own interpreter).
        """
        script = Path(script).resolve()
        if script.suffix != ".py" or not script.is_file():
            raise ValueError(f"no driver script {script}")
        with self._scratch() as scratch:
            folder = scratch / "report"
            folder.mkdir()
            out = folder / "report.json"
            argv = ["python", "-I", "-B", str(script), str(workspace), str(out), *args]
            extra = [Bind(script.parent), Bind(DRIVERS), Bind(folder, writable=True)]
            if beside is not None:
                if not beside.ok:
                    return CommandResult(
                        name, tuple(argv), None, 0.0, beside.install.output[-2000:],
                        sandboxed=self.sandboxed, problem="its environment did not install",
                    ), {}  # fmt: skip
                extra += [Bind(beside.path), Bind(beside.python_home())]
            result = self._run_code(name, argv, workspace, env, scratch, extra=extra)
            return result, _read_json(out, result)

    def run_tests(
        self, workspace: Path, env: Environment, command: str = "pytest"
    ) -> tuple[CommandResult, TestReport]:
        """Run the test command; return its result and the JUnit report, case by case.

        ``command`` is ``pytest [args]`` or ``python -m pytest [args]``
        (ValueError otherwise). Exit code 5 (no tests collected) is kept as
        the exit code and said in the result's ``problem``. pytest loads
        ``devfactory_pytest_guard``: a test that closes a standard stream fails
        for that, and the tests after it run as they would have.
        """
        argv = pytest_argv(command)
        with self._scratch() as scratch:
            folder = scratch / "report"
            folder.mkdir()
            junit = folder / "junit.xml"
            argv += [f"--junitxml={junit}", "-o", "junit_family=xunit1", "-p", "no:cacheprovider"]
            argv += ["-p", PYTEST_GUARD]
            extra = [Bind(folder, writable=True), Bind(PYTEST_PLUGINS)]
            result = self._run_code(
                "tests", argv, workspace, env, scratch, extra=extra,
                variables={"PYTHONPATH": str(PYTEST_PLUGINS)},
            )  # fmt: skip
            report = TestReport()
            try:
                data = read_file(folder, junit.name, MAX_XML_BYTES)
            except RefusedFileError as exc:
                if exc.errno != errno.ENOENT:  # none at all: said by the exit code and the counts
                    _add_problem(result, f"the JUnit report {junit.name} {exc.strerror}")
            else:
                report = junit_report(data, Path(workspace).resolve()) or report
        result.passed, result.failed = report.passed, report.failed + report.errors
        if result.exit_code == 5:
            _add_problem(result, "no tests collected (pytest exit 5)")
        return result, report

    def smoke(self, workspace: Path, env: Environment, smoke: Smoke) -> CommandResult:
        """Smoke-run an entry point: ``--help`` for a CLI, one GET for a web service."""
        with self._scratch() as scratch:
            if smoke.kind == "cli":
                result = self._run_code("smoke", [*smoke.argv, "--help"], workspace, env, scratch)
                if result.exit_code == 0 and not result.output.strip():
                    _add_problem(result, "printed nothing for --help")
                return result
            startup = max(1, min(smoke.startup_seconds, self.limits.wall_seconds - 15))
            driver = ["python", "-I", "-B", str(DRIVERS / "http_smoke.py"), smoke.path]
            argv = [*driver, str(startup), "--", *smoke.argv]
            extra = [Bind(DRIVERS)]
            return self._run_code("smoke", argv, workspace, env, scratch, extra=extra)

    def _run_code(
        self,
        name: str,
        argv: Sequence[str],
        workspace: Path,
        env: Environment,
        scratch: Path,
        *,
        limits: Limits | None = None,
        stdin: str | None = None,
        extra: Sequence[Bind] = (),
        variables: Mapping[str, str] | None = None,
    ) -> CommandResult:
        """Run generated code: no network, ``workspace`` writable, ``env`` read-only.

        ``variables`` are set on top of the environment's own (``Environment.variables``).
        """
        workspace = Path(workspace).resolve()
        if not workspace.is_dir():
            raise ValueError(f"workspace {workspace} is not a folder")
        if not env.ok:
            return CommandResult(
                name, tuple(argv), None, 0.0, env.install.output[-2000:],
                sandboxed=self.sandboxed, problem="its environment did not install",
            )  # fmt: skip
        values = {
            **env.variables(home="/tmp" if self.sandboxed else str(scratch)),
            **(variables or {}),
        }
        writable = [workspace, *(b.path for b in extra if b.writable)]
        layer = self._layer(scratch, writable, limits or self.limits)
        binds = [Bind(env.path), Bind(env.python_home())]
        for bind in [*extra, Bind(workspace, writable=True)]:
            copy = layer.copy_of(bind.path) if layer and bind.writable else None
            binds.append(Bind(bind.path, bind.writable, source=copy))
        git = workspace / ".git"
        if git.is_dir() and not git.is_symlink():
            binds.append(Bind(git))  # read-only: its config and hooks run when the factory commits
        with workspace_lock(self.cache_dir / "locks", workspace):
            try:
                result = self.spawn(
                    name, argv, cwd=workspace, env=values, binds=binds,
                    limits=limits or self.limits, scratch=scratch, stdin=stdin, layer=layer,
                )  # fmt: skip
            finally:  # nothing runs in the sandbox any more: clear what it left for us
                removed = [t for folder in writable for t in remove_traps(folder)]
        if layer is not None:
            _copied_back(result, layer)
        if removed:
            _add_problem(
                result, f"left what the factory must not read (removed): {describe(removed)}"
            )
        return result

    def _layer(self, scratch: Path, folders: Sequence[Path], limits: Limits) -> Layer | None:
        """Return the size-capped tmpfs for ``folders`` (None: bound directly, no disk limit).

        It needs the right to mount, which only a root factory has here; as
        another user the folders are bound as they are (``docs/sandbox.md``).
        """
        if not self.sandboxed or self.ids is None:
            return None
        directory = scratch / "layer"
        directory.mkdir(exist_ok=True)
        summary = scratch / "layer.json"
        return Layer(directory, tuple(folders), limits.disk_mb, self.ids, summary)

    @property
    def ids(self) -> tuple[int, int] | None:
        """The (uid, gid) sandboxed code runs as; None: the factory's own (never root's)."""
        return sandbox_ids() if self.sandboxed else None

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
        stdin: str | None = None,
        install: bool = False,
        layer: Layer | None = None,
        umask: int | None = None,
    ) -> CommandResult:
        """Run ``argv`` sandboxed (or bare, in the unsandboxed mode) and judge how it ended.

        ``install``: an install step (a larger /tmp, and the CA roots to check
        the index's certificates with; no network either). ``umask``: the
        command's, where what it writes is read by a user other than ours
        (None: ours).
        """
        source = None
        if stdin is not None:
            source = scratch / "stdin"
            source.write_text(stdin)
        if self.sandboxed:
            self.check()
            outcome = self._execute(
                argv, binds=binds, env=env, cwd=cwd, limits=limits, stdin=source,
                install=install, layer=layer, umask=umask,
            )  # fmt: skip
        else:
            outcome = execute(argv, env=env, cwd=cwd, limits=limits, stdin=source, umask=umask)
        return judge(name, tuple(argv), outcome, sandboxed=self.sandboxed)

    def _execute(
        self,
        argv: Sequence[str],
        *,
        binds: Sequence[Bind],
        env: dict[str, str],
        cwd: Path,
        limits: Limits,
        stdin: Path | None,
        install: bool,
        layer: Layer | None,
        umask: int | None = None,
    ) -> Outcome:
        """Run ``argv`` under bubblewrap, no user namespaces allowed where a filter exists."""
        tmp_mb = 2048 if install else max(64, limits.memory_mb // 2)
        etc = support_etc(self.cache_dir / "etc", network=install)
        denial = seccomp.program()
        fds = {}
        if denial is not None:
            fds[SECCOMP_FD] = _keep(
                self.cache_dir / "etc" / f"no-userns-{platform.machine()}.bpf", denial
            )
        wrapped = bwrap_argv(
            shutil.which(self.bwrap) or self.bwrap, argv, binds=binds, etc=etc,
            env=env, cwd=cwd, tmp_mb=tmp_mb, run_as=self.ids,
            seccomp=SECCOMP_FD if fds else None,
        )  # fmt: skip
        return execute(
            wrapped, env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}, cwd=Path("/"),
            limits=limits, stdin=stdin, own_processes=BWRAP_PROCESSES,
            processes_uid=self.ids[0] if self.ids else None, fds=fds, layer=layer, umask=umask,
        )  # fmt: skip

    @contextlib.contextmanager
    def _scratch(self) -> Iterator[Path]:
        """Yield a private host folder for one call (reports, stdin; HOME when unsandboxed)."""
        runs = self.cache_dir / "runs"
        runs.mkdir(parents=True, exist_ok=True)
        path = Path(tempfile.mkdtemp(prefix="run-", dir=runs))
        try:
            yield path
        finally:
            with contextlib.suppress(OSError):
                remove_tree(path)  # iterative: what the code left may be deep


def _read_json(path: Path, result: CommandResult, *, limit: int = 2 << 20) -> dict[str, object]:
    """Read a small JSON object the sandbox wrote ({} when absent, refused or not an object).

    A report that is there but not a regular file (a link, a FIFO) or too
    large is said in ``result``'s problem.
    """
    try:
        data = json.loads(read_file(path.parent, path.name, limit))
    except RefusedFileError as exc:
        if exc.errno != errno.ENOENT:
            _add_problem(result, f"the report {path.name} {exc.strerror}")
        return {}
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _add_problem(result: CommandResult, note: str) -> None:
    result.problem = f"{result.problem}; {note}" if result.problem else note


def _copied_back(result: CommandResult, layer: Layer) -> None:
    """Say in ``result`` what the launcher did not copy back from the layer, and why."""
    try:
        found = json.loads(read_file(layer.summary.parent, layer.summary.name, 1 << 20))
    except (RefusedFileError, ValueError):  # stopped before it copied anything back
        _add_problem(result, "what it wrote was not kept (stopped before it was copied back)")
        return
    if found.get("error"):
        _add_problem(result, str(found["error"])[:500])
    dropped = [  # the workspace's paths as they are, a report folder's under its name
        (f"{layer.folders[index].name}/{path}" if index else path, why)
        for index, path, why in found.get("dropped", [])
    ]
    if dropped:
        more = found.get("count", len(dropped)) - len(dropped)
        note = f"left what the factory must not read (not copied back): {describe(dropped)}"
        _add_problem(result, note + (f"; {more} more" if more > 0 else ""))


def _keep(path: Path, data: bytes) -> Path:
    """Write ``data`` at ``path`` unless it is there already (atomically); return ``path``."""
    if not path.is_file() or path.read_bytes() != data:
        path.parent.mkdir(parents=True, exist_ok=True)
        draft = path.with_name(f".{path.name}.{os.getpid()}")
        draft.write_bytes(data)
        draft.replace(path)
    return path
