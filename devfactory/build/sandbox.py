"""The sandbox that runs generated code: environments, commands, tests and smoke runs.

Generated code is untrusted. In the default mode (``bwrap``) every command
runs under bubblewrap with fresh namespaces, no network, a read-only view of
the system, the project's environment read-only and only the workspace
writable, bounded in CPU, memory, processes, file size, wall time and
output (``docs/sandbox.md`` is the threat model). Installing dependencies is
the only step with network; it runs in a sandbox too, where only the new
environment and uv's cache are writable. ``unsandboxed`` runs the same
commands with the same limits and a cleared environment but no isolation,
and marks every result so.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from devfactory.build.commands import Smoke, check_modules, pytest_argv
from devfactory.build.environments import Environment, validate_dependencies
from devfactory.build.installer import install_environment
from devfactory.build.isolation import BWRAP_PROCESSES, Bind, bwrap_argv, execute, support_etc
from devfactory.build.junit import TestCase, TestReport, parse_junit
from devfactory.build.limits import Limits
from devfactory.build.ownership import (
    escaping_links,
    hand_over,
    sandbox_ids,
    take_back,
    workspace_lock,
)
from devfactory.build.results import CommandResult, judge

if TYPE_CHECKING:
    from devfactory.settings import Settings

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

DRIVERS = Path(__file__).resolve().parent / "drivers"
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
        install_seconds: int = 300,
        bwrap: str = "bwrap",
    ) -> None:
        if mode not in ("bwrap", "unsandboxed"):
            raise ValueError(f"sandbox mode must be 'bwrap' or 'unsandboxed', not {mode!r}")
        if not 10 <= install_seconds <= 86_400:
            raise ValueError("install_seconds must be in [10, 86400]")
        self.mode = mode
        self.cache_dir = Path(cache_dir).expanduser().resolve()
        self.limits = limits
        self.install_seconds = install_seconds
        self.bwrap = bwrap

    @classmethod
    def from_settings(cls, settings: Settings) -> Sandbox:
        """Build the sandbox the settings describe (``DEVFACTORY_SANDBOX*``)."""
        limits = Limits(
            cpu_seconds=settings.sandbox_cpu_seconds,
            memory_mb=settings.sandbox_memory_mb,
            processes=settings.sandbox_processes,
            wall_seconds=settings.sandbox_wall_seconds,
            output_chars=settings.sandbox_output_chars,
            file_size_mb=settings.sandbox_file_size_mb,
        )
        return cls(
            mode=settings.sandbox,
            cache_dir=settings.sandbox_cache_dir or settings.data_dir / "sandbox",
            limits=limits,
            install_seconds=settings.sandbox_install_seconds,
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
        argv = bwrap_argv(
            path,
            ["/bin/sh", "-c", "echo sandbox-ok"],
            binds=[],
            etc=support_etc(self.cache_dir / "etc", network=False),
            env={"PATH": "/usr/bin:/bin"},
            cwd=Path("/"),
            tmp_mb=16,
            run_as=self.ids,
        )
        probe = Limits(wall_seconds=30)
        outcome = execute(
            argv, env={"PATH": "/usr/bin:/bin"}, cwd=Path("/"), limits=probe,
            own_processes=BWRAP_PROCESSES, processes_uid=self.ids[0] if self.ids else None,
        )  # fmt: skip
        if outcome.returncode != 0 or "sandbox-ok" not in outcome.output:
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
            found = _read_json(summary)
        imports, errors = found.get("imports"), found.get("compile_errors")
        if isinstance(imports, dict) and isinstance(errors, list):
            result.passed = sum(1 for v in imports.values() if not v)
            result.failed = len(imports) - result.passed + len(errors)
        return result

    def run_tests(
        self, workspace: Path, env: Environment, command: str = "pytest"
    ) -> tuple[CommandResult, TestReport]:
        """Run the test command; return its result and the JUnit report, case by case.

        ``command`` is ``pytest [args]`` or ``python -m pytest [args]``
        (ValueError otherwise). Exit code 5 (no tests collected) is kept as
        the exit code and said in the result's ``problem``.
        """
        argv = pytest_argv(command)
        with self._scratch() as scratch:
            folder = scratch / "report"
            folder.mkdir()
            junit = folder / "junit.xml"
            argv += [f"--junitxml={junit}", "-o", "junit_family=xunit1", "-p", "no:cacheprovider"]
            extra = [Bind(folder, writable=True)]
            result = self._run_code("tests", argv, workspace, env, scratch, extra=extra)
            report = parse_junit(junit, Path(workspace).resolve()) or TestReport()
        result.passed, result.failed = report.passed, report.failed + report.errors
        if result.exit_code == 5:
            result.problem = "no tests collected (pytest exit 5)"
        return result, report

    def smoke(self, workspace: Path, env: Environment, smoke: Smoke) -> CommandResult:
        """Smoke-run an entry point: ``--help`` for a CLI, one GET for a web service."""
        with self._scratch() as scratch:
            if smoke.kind == "cli":
                result = self._run_code("smoke", [*smoke.argv, "--help"], workspace, env, scratch)
                if result.exit_code == 0 and not result.output.strip():
                    result.problem = "printed nothing for --help"
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
    ) -> CommandResult:
        """Run generated code: no network, ``workspace`` writable, ``env`` read-only."""
        workspace = Path(workspace).resolve()
        if not workspace.is_dir():
            raise ValueError(f"workspace {workspace} is not a folder")
        if not env.ok:
            return CommandResult(
                name, tuple(argv), None, 0.0, env.install.output[-2000:],
                sandboxed=self.sandboxed, problem="its environment did not install",
            )  # fmt: skip
        variables = env.variables(home="/tmp" if self.sandboxed else str(scratch))
        binds = [Bind(env.path), Bind(env.python_home()), *extra, Bind(workspace, writable=True)]
        git = workspace / ".git"
        if git.is_dir() and not git.is_symlink():
            binds.append(Bind(git))  # read-only: its config and hooks run when the factory commits
        ids = self.ids
        with workspace_lock(self.cache_dir / "locks", workspace):
            owners = hand_over(workspace, *ids) if ids else {}
            for bind in extra:
                if bind.writable and ids:
                    hand_over(bind.path, *ids)
            try:
                result = self.spawn(
                    name, argv, cwd=workspace, env=variables, binds=binds,
                    limits=limits or self.limits, scratch=scratch, stdin=stdin,
                )  # fmt: skip
            finally:
                if ids:
                    take_back(workspace, owners, (os.geteuid(), os.getegid()))
                links = escaping_links(workspace)
        if links:
            note = f"made links leading out of the workspace (removed): {', '.join(links[:5])}"
            result.problem = f"{result.problem}; {note}" if result.problem else note
        return result

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
        network: bool = False,
    ) -> CommandResult:
        """Run ``argv`` sandboxed (or bare, in the unsandboxed mode) and judge how it ended."""
        source = None
        if stdin is not None:
            source = scratch / "stdin"
            source.write_text(stdin)
        if self.sandboxed:
            self.check()
            tmp_mb = 2048 if network else max(64, limits.memory_mb // 2)
            etc = support_etc(self.cache_dir / "etc", network=network)
            wrapped = bwrap_argv(
                shutil.which(self.bwrap) or self.bwrap, argv, binds=binds, etc=etc,
                env=env, cwd=cwd, network=network, tmp_mb=tmp_mb, run_as=self.ids,
            )  # fmt: skip
            outer = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}
            outcome = execute(
                wrapped, env=outer, cwd=Path("/"), limits=limits, stdin=source,
                own_processes=BWRAP_PROCESSES,
                processes_uid=self.ids[0] if self.ids else None,
            )  # fmt: skip
        else:
            outcome = execute(argv, env=env, cwd=cwd, limits=limits, stdin=source)
        return judge(name, tuple(argv), outcome, sandboxed=self.sandboxed)

    @contextlib.contextmanager
    def _scratch(self) -> Iterator[Path]:
        """Yield a private host folder for one call (reports, stdin; HOME when unsandboxed)."""
        runs = self.cache_dir / "runs"
        runs.mkdir(parents=True, exist_ok=True)
        path = Path(tempfile.mkdtemp(prefix="run-", dir=runs))
        try:
            yield path
        finally:
            shutil.rmtree(path, ignore_errors=True)


def _read_json(path: Path, *, limit: int = 2 << 20) -> dict[str, object]:
    """Read a small JSON object the sandbox wrote ({} when absent, too large or not an object)."""
    try:
        if path.stat().st_size > limit:
            return {}
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}
