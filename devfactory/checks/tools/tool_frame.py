"""The frame every tool check fits: the ``Tool`` it runs, what it judges, and the runner.

A tool check has a ``name`` (what ``team.yaml`` lists under ``tool_checks``), the
``tool`` it runs (a distribution ``uv.lock`` pins, so its version is known and the
same on every machine), a ``promise`` (what the team is told its files must meet),
``judges(path)`` (which of the team's files it looks at) and ``run``, which runs the
tool in the sandbox on those files and returns a ``ToolReport``: the command's
record and the findings, each about one file. ``DriverCheck`` writes that ``run``
once for the checks that run one driver and read its report; a check that writes its
own runs its driver with ``reported`` and records it with ``ran`` (``not_reported``:
the tool did not report; ``not_run``: nothing to run on). ``run_tool_checks`` lays a
stage's files out in a fresh folder and runs each check that judges any of them.

Why one module: the frame is one contract, what a tool check is and how one is run;
the protocol, the driver base, the report helpers and the runners are each read
against the others, and every tool check imports them from this one place.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from devfactory.checks import Check
from devfactory.checks.code.framework import Problem
from devfactory.contracts import CheckRun
from devfactory.runfiles import remove_tree, write_file

DRIVERS = Path(__file__).resolve().parent / "drivers"
"""The scripts the checks run in the sandbox (``drivers/__init__.py``)."""

if TYPE_CHECKING:
    from devfactory.sandbox.environments import Environment
    from devfactory.sandbox.results import CommandResult
    from devfactory.sandbox.runner import Sandbox
    from devfactory.settings import Settings


@dataclass(frozen=True)
class Tool:
    """A tool a check runs: the distribution that ``uv.lock`` pins."""

    distribution: str

    def version(self) -> str | None:
        """Return the installed version (None: not installed)."""
        try:
            return version(self.distribution)
        except PackageNotFoundError:
            return None

    def label(self) -> str:
        """Return the tool and its version, as a check's record names them."""
        return f"{self.distribution} {self.version() or '(not installed)'}"


@dataclass(frozen=True)
class Finding:
    """One thing a tool found in one file."""

    path: str
    text: str


@dataclass(frozen=True)
class ToolReport:
    """What one tool check did: the commands it ran and what it found."""

    runs: list[CheckRun] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)


@dataclass(frozen=True)
class ToolContext:
    """Where a tool check runs and what it may look at besides the files it judges.

    Attributes:
        sandbox: where the tool runs.
        env: the factory's own environment (the tools), mounted read-only there.
        workspace: the folder every file is laid out in.
        files: every file laid out, by path (passed stages' and the team's drafts).
        planned: the build plan's files, written by now or still to come.
        dependencies: the build plan's dependencies (requirement strings).
        settings: the run's settings, for a check that a policy in them decides.
        criteria: each acceptance criterion's status from the tests that ran ("AC-1" ->
            passed, failed or not covered; build checks only, once the tests ran).
        tests: the build plan's test files (where a missing test is asked for).
        code: the build plan's code files (what a check of the tests mutates).
        roles: each planned file's role in the build plan (``FileRole``'s values).
        serve: how to serve the software on a port (``{port}`` in it), when it is a web app.
        code_checks: what the code checks ran on the built software (build checks only).
        packages: what its kind needs installed beyond the dependencies to run the
            software (uvicorn, for a web service), as the code checks install it.

    """

    sandbox: Sandbox
    env: Environment
    workspace: Path
    files: Mapping[str, str]
    planned: frozenset[str] = frozenset()
    dependencies: tuple[str, ...] = ()
    settings: Settings | None = None
    criteria: Mapping[str, str] = field(default_factory=dict)
    tests: tuple[str, ...] = ()
    packages: tuple[str, ...] = ()
    code: tuple[str, ...] = ()
    roles: Mapping[str, str] = field(default_factory=dict)
    serve: tuple[str, ...] = ()
    code_checks: tuple[CheckRun, ...] = ()


class ToolCheck(Check, Protocol):
    """A check that runs a real tool on a team's files in the sandbox."""

    name: str
    tool: Tool
    promise: str

    def judges(self, path: str) -> bool:
        """Say whether this check looks at the file ``path``."""
        ...

    def run(self, context: ToolContext, paths: Sequence[str]) -> ToolReport:
        """Run the tool on ``paths`` (laid out in ``context.workspace``) and report."""
        ...


def ran(name: str, command: str, result: CommandResult, tool: str, **fields: Any) -> CheckRun:
    """Record ``command`` as it ended (``result``); ``fields`` give the counts and summary."""
    return CheckRun(
        name=name,
        command=command,
        exit_code=result.exit_code,
        seconds=round(result.seconds, 2),
        sandboxed=result.sandboxed,
        tool=tool,
        **fields,
    )


def not_run(name: str, summary: str, tool: str = "") -> ToolReport:
    """Report a check with nothing to run: a record saying why (``summary``), no finding."""
    return ToolReport([CheckRun(name=name, command="", summary=summary, tool=tool)])


def broken_run(name: str, command: str, result: CommandResult, tool: str) -> CheckRun:
    """Record a tool that did not report (it crashed, or a limit stopped it)."""
    why = result.problem or result.killed or f"exit {result.exit_code}"
    tail = result.output.strip().splitlines()[-1:] or [""]
    summary = f"the tool did not report ({why}): {tail[0]}"[:300]
    return ran(name, command, result, tool, errors=1, summary=summary)


def reported(
    name: str,
    script: str,
    context: ToolContext,
    arguments: Sequence[str],
    *keys: str,
    lists: Sequence[str] = (),
    env: Environment | None = None,
    beside: Environment | None = None,
) -> tuple[CommandResult, dict[str, Any] | None]:
    """Run the driver ``script`` with ``arguments``; return how it ended and its report.

    It runs with ``env`` (the factory's tools, ``context.env``, unless given), with
    ``beside`` mounted too (``Sandbox.run_driver``). The report is None unless the
    driver ended well and wrote each of ``keys`` as an object and each of ``lists``
    as a list (the tool reported); ``not_reported`` then says so.
    """
    result, report = context.sandbox.run_driver(
        name,
        DRIVERS / script,
        arguments,
        context.workspace,
        context.env if env is None else env,
        beside=beside,
    )
    wrote = [isinstance(report.get(k), dict) for k in keys]
    wrote += [isinstance(report.get(k), list) for k in lists]
    if result.exit_code != 0 or not all(wrote):
        return result, None
    return result, report


def not_reported(
    name: str, command: str, result: CommandResult, tool: str, path: str, said: str
) -> ToolReport:
    """Report a tool that did not report: its record, and a finding at ``path`` saying so.

    ``said`` leads the finding ("the mutants did not run"), the record's summary follows.
    """
    run = broken_run(name, command, result, tool)
    return ToolReport([run], [Finding(path, f"{said}: {run.summary}")])


def judged_run(
    name: str,
    command: str,
    result: CommandResult,
    tool: str,
    paths: Sequence[str],
    found: Sequence[Finding],
) -> CheckRun:
    """Record a tool that reported on ``paths``: a file with a finding failed, the rest passed."""
    bad = {f.path for f in found}
    summary = f"{len(found)} finding(s)" if found else f"{len(paths)} file(s) clean"
    return ran(
        name, command, result, tool, passed=len(set(paths) - bad), failed=len(bad), summary=summary
    )


@dataclass(frozen=True)
class Read:
    """What a driver check read of its driver's report: the files it judged, what it found."""

    judged: Sequence[str]
    findings: list[Finding]
    summary: str = ""  # said in place of the counts (no schema written, say)


class DriverCheck:
    """A tool check that runs one driver on the team's files and reads its JSON report.

    Such a check is its promise, what it runs (``driver`` with ``arguments``, said in
    its record as ``invocation``) and how it reads the findings (``read``). Running it, a tool
    that did not report (the driver failed, or left out one of ``keys``) and the
    record of one that did are written once, here.
    """

    name: str
    tool: Tool
    promise: str
    driver: str  # its script in drivers/
    keys: tuple[str, ...] = ("files",)  # the report's objects ``read`` reads
    what: str = "the tool"  # the tool, as the finding of one that did not report names it
    invocation: str = ""  # what runs, as the record says it before the files (default: the tool)

    def command(self, paths: Sequence[str]) -> str:
        """Say what runs, for the check's record: ``invocation`` (or the tool), then the files."""
        return f"{self.invocation or self.tool.distribution} {' '.join(paths)}"

    def arguments(self, context: ToolContext, paths: Sequence[str]) -> list[str]:
        """Return the driver's arguments: the files, unless the check says otherwise."""
        return list(paths)

    def read(self, report: dict[str, Any], context: ToolContext, paths: Sequence[str]) -> Read:
        """Read the findings of ``report`` (each of ``keys`` an object in it)."""
        raise NotImplementedError

    def run(self, context: ToolContext, paths: Sequence[str]) -> ToolReport:
        """Run the driver on ``paths`` in the sandbox and read its report."""
        label = self.tool.label()
        command = self.command(paths)
        arguments = self.arguments(context, paths)
        result, report = reported(self.name, self.driver, context, arguments, *self.keys)
        if report is None:
            said = f"{self.what} did not report"
            return not_reported(self.name, command, result, label, paths[0], said)
        read = self.read(report, context, paths)
        run = judged_run(self.name, command, result, label, read.judged, read.findings)
        if read.summary:
            run = run.model_copy(update={"summary": read.summary})
        return ToolReport([run], read.findings)


class BuildCheck(Check, Protocol):
    """A check that runs real tools on the built software, once it is built, for a team.

    It judges files other teams wrote (the code), on behalf of the team that names
    it under ``build_checks``: each finding goes to the owner of its file.
    """

    name: str
    promise: str

    @property
    def tools(self) -> tuple[Tool, ...]:
        """The tools it runs."""
        ...

    def judges(self, path: str, code: bool) -> bool:
        """Say whether this check looks at ``path`` (``code``: the plan calls it code)."""
        ...

    def run(self, context: ToolContext, paths: Sequence[str]) -> ToolReport:
        """Run the tools on ``paths`` (laid out in ``context.workspace``) and report."""
        ...


@contextlib.contextmanager
def laid_out(files: Mapping[str, str], prefix: str) -> Iterator[Path]:
    """Write ``files`` out in a fresh folder named with ``prefix``; remove it when done."""
    root = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        for path, content in files.items():
            write_file(root, path, content)
        yield root
    finally:
        remove_tree(root)


@dataclass(frozen=True)
class ToolVerdict:
    """Every tool check's records, and the problems they found (gate feedback lines)."""

    checks: list[CheckRun]
    problems: list[str]


def run_tool_checks(
    checks: Sequence[ToolCheck],
    team: str,
    files: Mapping[str, str],
    sandbox: Sandbox,
    *,
    mine: Sequence[str] | None = None,
    planned: Sequence[str] = (),
    dependencies: Sequence[str] = (),
) -> ToolVerdict:
    """Lay ``files`` out and run each check on those of the team's files (``mine``) it judges.

    ``files`` is the whole workspace so far (every passed stage's files and this
    stage's drafts), so that a check may look at what the team's files refer to;
    ``mine`` are the team's own (all of ``files`` when not given); ``planned``
    the build plan's files, some perhaps not written yet, and ``dependencies``
    its dependencies. Each finding is
    about one of them, and so a problem of ``team``'s, worded as the code checks
    word theirs: ``path [check]: text``.
    """
    from devfactory.sandbox.environments import tools_environment

    env = tools_environment()
    runs: list[CheckRun] = []
    problems: list[str] = []
    with laid_out(files, "devfactory-tools-") as root:
        own = list(files) if mine is None else [p for p in mine if p in files]
        context = ToolContext(sandbox, env, root, files, frozenset(planned), tuple(dependencies))
        for check in checks:
            paths = sorted(p for p in own if check.judges(p))
            if not paths:
                continue
            report = check.run(context, paths)
            runs.extend(report.runs)
            problems += [Problem(f.path, team, check.name, f.text).line() for f in report.findings]
    return ToolVerdict(runs, problems)


@dataclass(frozen=True)
class BuildVerdict:
    """The build checks' records, and their problems, each with the owner of its file."""

    checks: list[CheckRun]
    problems: list[Problem]


def run_build_checks(
    checks: Sequence[BuildCheck],
    files: Mapping[str, str],
    sandbox: Sandbox,
    *,
    code: Sequence[str],
    owner_of: Callable[[str], str],
    planned: Sequence[str] = (),
    tests: Sequence[str] = (),
    dependencies: Sequence[str] = (),
    packages: Sequence[str] = (),
    criteria: Mapping[str, str] | None = None,
    roles: Mapping[str, str] | None = None,
    serve: Sequence[str] = (),
    code_checks: Sequence[CheckRun] = (),
    settings: Settings | None = None,
) -> BuildVerdict:
    """Lay the built software (``files``) out and run each check on the files it judges.

    ``code`` are the files the plan calls code, ``planned`` all the plan's files and
    ``tests`` its test files; ``owner_of`` names the team that owns a file (a finding
    goes to it); ``packages`` what its kind needs to run beyond ``dependencies``;
    ``roles`` each planned file's role; ``serve`` how to serve a web app on ``{port}``;
    ``code_checks`` what the code checks ran;
    ``criteria`` each acceptance criterion's status
    from the tests the code checks ran.
    """
    from devfactory.sandbox.environments import tools_environment

    runs: list[CheckRun] = []
    problems: list[Problem] = []
    with laid_out(files, "devfactory-built-") as root:
        context = ToolContext(
            sandbox,
            tools_environment(),
            root,
            files,
            frozenset(planned),
            tuple(dependencies),
            settings,
            dict(criteria or {}),
            tuple(tests),
            tuple(packages),
            tuple(code),
            dict(roles or {}),
            tuple(serve),
            tuple(code_checks),
        )
        coded = set(code)
        for check in checks:
            paths = sorted(p for p in files if check.judges(p, p in coded))
            if not paths:
                continue
            report = check.run(context, paths)
            runs.extend(report.runs)
            problems += [
                Problem(f.path, owner_of(f.path), check.name, f.text) for f in report.findings
            ]
    return BuildVerdict(runs, problems)
