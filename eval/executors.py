"""Where the evaluation runs code: the factory's sandbox, or this interpreter for references.

``SandboxExecutor`` wraps ``devfactory.sandbox.runner`` (install the dependencies,
compile and import the modules, run pytest), the same isolation the factory's
own checks use. ``LocalExecutor`` runs pytest in a subprocess of this
interpreter with no isolation: only the reference self-test may use it, since
the references are our own code.
"""

from __future__ import annotations

import importlib.metadata
import os
import shlex
import signal
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from xml.etree import ElementTree

from packaging.requirements import InvalidRequirement, Requirement

IMPORT_TIMEOUT_S = 120
# Compile every Python file of the project, then import the named modules.
_IMPORT_SCRIPT = """\
import importlib, pathlib, sys
bad = 0
for path in sorted(pathlib.Path('.').rglob('*.py')):
    if any(part.startswith('.') or part == '__pycache__' for part in path.parts):
        continue
    try:
        compile(path.read_bytes(), str(path), 'exec')
    except (SyntaxError, ValueError) as exc:
        print(f'{path}: {type(exc).__name__}: {exc}'); bad += 1
for name in sys.argv[1:]:
    try:
        importlib.import_module(name)
    except BaseException as exc:
        print(f'{name}: {type(exc).__name__}: {exc}'); bad += 1
sys.exit(1 if bad else 0)
"""


class ExecutorUnavailableError(RuntimeError):
    """No executor can run code for this evaluation; the message says what to do."""


@dataclass(frozen=True)
class Check:
    """How one step went: whether it passed, a one-line summary, and test counts."""

    ok: bool
    summary: str = ""
    passed: int = 0
    failed: int = 0
    errors: int = 0

    @property
    def total(self) -> int:
        """Tests that ran (passed, failed or in error)."""
        return self.passed + self.failed + self.errors


class Executor(Protocol):
    """Installs dependencies, imports modules and runs pytest for the evaluation."""

    name: str

    def environment(self, dependencies: Sequence[str]) -> tuple[Any, Check]:
        """Return an environment with ``dependencies`` installed, and how installing went."""
        ...

    def imports(self, workspace: Path, env: Any, modules: Sequence[str]) -> Check:
        """Compile the workspace's files and import ``modules``."""
        ...

    def tests(self, workspace: Path, env: Any, command: str, timeout: int) -> Check:
        """Run the pytest ``command`` in ``workspace``."""
        ...


def one_line(text: object, limit: int = 240, *, first: bool = False) -> str:
    """Return the last (or ``first``) non-empty line of ``text``, at most ``limit`` long."""
    lines = [line.strip() for line in str(text).splitlines() if line.strip()]
    line = (lines[0] if first else lines[-1]) if lines else ""
    return line if len(line) <= limit else line[: limit - 3] + "..."


# --- the factory's sandbox ---------------------------------------------------------------


class SandboxExecutor:
    """Run the evaluation's commands in ``devfactory.sandbox.runner``."""

    def __init__(self, sandbox: Any, name: str = "sandbox") -> None:
        self.sandbox = sandbox
        self.name = name

    def environment(self, dependencies: Sequence[str]) -> tuple[Any, Check]:
        """Build (or reuse) the sandbox's environment for ``dependencies``."""
        try:
            env = self.sandbox.environment(list(dependencies))
        except Exception as exc:  # noqa: BLE001 - a failed install is a result, not a crash
            return None, Check(False, f"install failed: {one_line(exc)}")
        install = getattr(env, "install", None)
        if install is not None and install.exit_code != 0:
            return env, Check(False, f"install failed: {one_line(install.output)}")
        return env, Check(True, "installed")

    def imports(self, workspace: Path, env: Any, modules: Sequence[str]) -> Check:
        """Compile and import ``modules`` in the sandbox."""
        try:
            result = self.sandbox.compile_and_import(workspace, env, list(modules))
        except Exception as exc:  # noqa: BLE001
            return Check(False, f"sandbox error: {one_line(exc)}")
        if result.exit_code == 0:
            return Check(True, "imported")
        # one line per problem, then a counts line: say the first problem
        problems = [
            line
            for line in result.output.splitlines()
            if line.strip() and not line.startswith((" ", "ok ", "compiled "))
        ]
        return Check(
            False, f"import failed: {one_line(problems[0] if problems else result.output)}"
        )

    def tests(self, workspace: Path, env: Any, command: str, timeout: int) -> Check:
        """Run ``command`` in the sandbox (its own wall-time limit applies)."""
        try:
            result, report = self.sandbox.run_tests(workspace, env, command)
        except Exception as exc:  # noqa: BLE001
            return Check(False, f"sandbox error: {one_line(exc)}")
        passed, failed, errors = report.passed, report.failed, report.errors
        summary = f"{passed} passed, {failed} failed, {errors} errors"
        bad = next((c for c in report.cases if c.outcome in ("failed", "error")), None)
        if bad is not None:
            summary += f"; first: {bad.name}: {one_line(bad.message, 160, first=True)}"
        if result.exit_code is None:
            summary += " (killed: time limit)"
        elif not passed + failed + errors and result.exit_code != 0:
            summary = f"no tests ran (exit {result.exit_code}): {one_line(result.output)}"
        ok = result.exit_code == 0 and not failed and not errors
        return Check(ok, summary, passed, failed, errors)


def sandbox_executor(settings: Any = None) -> SandboxExecutor:
    """Return the factory's sandbox as an executor.

    Raises:
        ExecutorUnavailableError: if ``devfactory.sandbox.runner`` is missing or
            reports that it cannot isolate code on this machine.

    """
    try:
        from devfactory.sandbox.runner import Sandbox
    except ImportError as exc:
        raise ExecutorUnavailableError(
            f"devfactory.sandbox.runner cannot be imported ({exc}); the evaluation runs "
            "generated code only in the factory's sandbox"
        ) from None
    from devfactory.settings import get_settings

    settings = settings or get_settings()
    try:
        sandbox = Sandbox.from_settings(settings.sandboxing, settings.storage.data_dir)
        check = getattr(sandbox, "check", None)
        if check is not None:
            check()
    except Exception as exc:  # noqa: BLE001 - SandboxUnavailableError and kin
        raise ExecutorUnavailableError(f"the sandbox does not work here: {exc}") from None
    return SandboxExecutor(sandbox, f"sandbox ({settings.sandboxing.sandbox})")


# --- this interpreter, for the reference self-test ---------------------------------------


def run_command(
    argv: Sequence[str], *, cwd: Path, env: dict[str, str], timeout: float
) -> tuple[int | None, str]:
    """Run ``argv``; return its exit code (None when killed at ``timeout``) and output."""
    proc = subprocess.Popen(  # noqa: S603 - argv built here, no shell
        list(argv),
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
        errors="replace",
        start_new_session=True,
    )
    try:
        output, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # the tests' own subprocesses too
        output, _ = proc.communicate()
        return None, output
    return proc.returncode, output


def _junit(path: Path) -> ElementTree.Element | None:
    try:
        return ElementTree.parse(path).getroot()  # noqa: S314 - pytest wrote it just now
    except (OSError, ElementTree.ParseError):
        return None


def junit_first_problem(path: Path) -> str:
    """Return ``test: message`` of the first failed or erroring test of a JUnit report."""
    root = _junit(path)
    for case in root.iter("testcase") if root is not None else ():
        for problem in (*case.iter("failure"), *case.iter("error")):
            return (
                f"{case.get('name', '?')}: {one_line(problem.get('message', ''), 160, first=True)}"
            )
    return ""


def junit_counts(path: Path) -> tuple[int, int, int] | None:
    """Return (passed, failed, errors) from a pytest JUnit XML report, or None."""
    root = _junit(path)
    if root is None:
        return None
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    passed = failed = errors = 0
    for suite in suites:
        tests, failures, errs, skipped = (
            int(suite.get(key, "0")) for key in ("tests", "failures", "errors", "skipped")
        )
        passed += tests - failures - errs - skipped
        failed += failures
        errors += errs
    return passed, failed, errors


def pytest_argv(command: str, python: str) -> list[str] | None:
    """Turn a plan's ``pytest ...`` command into argv for ``python`` (None if not pytest)."""
    argv = shlex.split(command)
    if argv[:1] == ["pytest"]:
        return [python, "-m", "pytest", *argv[1:]]
    if len(argv) >= 3 and argv[0] in ("python", "python3") and argv[1:3] == ["-m", "pytest"]:
        return [python, *argv[1:]]
    return None


class LocalExecutor:
    """Run pytest with this interpreter, unisolated (the reference self-test only)."""

    name = "local (this interpreter, no isolation)"

    def __init__(self, python: str = sys.executable) -> None:
        self.python = python

    def _env(self, workspace: Path) -> dict[str, str]:
        paths = os.pathsep.join([str(workspace), str(workspace / "src")])
        # the plugins of this virtualenv (hypothesis, playwright, ...) are not the project's
        quiet = {"PYTHONDONTWRITEBYTECODE": "1", "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
        return {**os.environ, "PYTHONPATH": paths, **quiet}

    def environment(self, dependencies: Sequence[str]) -> tuple[Any, Check]:
        """Check that this interpreter already has ``dependencies`` (nothing is installed)."""
        missing = []
        for dep in dict.fromkeys(dependencies):
            try:
                req = Requirement(dep)
                version = importlib.metadata.version(req.name)
            except InvalidRequirement:
                missing.append(f"{dep} (not PEP 508)")
                continue
            except importlib.metadata.PackageNotFoundError:
                missing.append(dep)
                continue
            if req.specifier and not req.specifier.contains(version, prereleases=True):
                missing.append(f"{dep} (have {version})")
        if missing:
            return self.python, Check(False, f"not installed here: {', '.join(missing)}")
        return self.python, Check(True, "already installed")

    def imports(self, workspace: Path, env: Any, modules: Sequence[str]) -> Check:
        """Compile every file and import ``modules`` in a subprocess."""
        code, output = run_command(
            [self.python, "-c", _IMPORT_SCRIPT, *modules],
            cwd=workspace,
            env=self._env(workspace),
            timeout=IMPORT_TIMEOUT_S,
        )
        if code == 0:
            return Check(True, "imported")
        return Check(False, f"import failed: {one_line(output) or f'exit {code}'}")

    def tests(self, workspace: Path, env: Any, command: str, timeout: int) -> Check:
        """Run the pytest ``command`` in a subprocess; read the counts from JUnit XML."""
        argv = pytest_argv(command, self.python)
        if argv is None:
            return Check(False, f"not a pytest command: {command!r}")
        with tempfile.TemporaryDirectory(prefix="eval-junit-") as tmp:
            junit = Path(tmp) / "junit.xml"
            code, output = run_command(
                [*argv, f"--junitxml={junit}", "-p", "no:cacheprovider"],
                cwd=workspace,
                env=self._env(workspace),
                timeout=timeout,
            )
            counts, first = junit_counts(junit), junit_first_problem(junit)
        if counts is None:
            why = f"killed after {timeout} s" if code is None else f"exit {code}"
            return Check(False, f"no tests ran ({why}): {one_line(output)}")
        passed, failed, errors = counts
        summary = f"{passed} passed, {failed} failed, {errors} errors"
        if first:
            summary += f"; first: {first}"
        if code is None:
            summary += f" (killed after {timeout} s)"
        return Check(code == 0 and not failed and not errors, summary, passed, failed, errors)


def choose_executor(wanted: str, *, reference: bool) -> Executor:
    """Return the executor for ``wanted`` (auto, sandbox or local).

    ``auto`` prefers the sandbox and falls back to the local one for the
    reference self-test only.

    Raises:
        ExecutorUnavailableError: if the executor asked for cannot be used.

    """
    if wanted == "local":
        if not reference:
            raise ExecutorUnavailableError(
                "--executor local runs code without isolation: only --reference may use it"
            )
        return LocalExecutor()
    try:
        return sandbox_executor()
    except ExecutorUnavailableError:
        if wanted == "auto" and reference:
            return LocalExecutor()
        raise
