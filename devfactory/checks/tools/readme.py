"""Documentation's README run against the delivered software: every example it gives must work.

Once the software is built, the README's examples are read (markdown-it-py, as
CommonMark): each shell command of a ``bash``/``sh``/``shell``/``console`` block (a
``console`` block's ``$ `` lines only), each ``python`` block, and each ``pycon``
block or ``>>>`` session (run as a doctest). They run in order in the sandbox
(``drivers/readme_run.py``), in the project's folder with its dependencies installed
and its console scripts on ``PATH``, no network: a command that fails, or that runs
past ``readme_command_s`` without starting a server, is a finding at its line for the
README's owner. A command that starts a server (a new port listening) is kept running
while the commands after it run (a ``curl`` of it, say), then stopped. What cannot run
offline in a sandbox (installing, cloning, Docker, a virtualenv) is skipped and
counted, as is a command with a placeholder (``<file>``) to fill in.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

from markdown_it import MarkdownIt

from devfactory.checks.tools import tool_frame as frame
from devfactory.contracts import CheckRun

MAX_README_CHARS = 200_000
SHELL = frozenset({"bash", "sh", "shell", "console", "shell-session", "zsh", "terminal"})
PYTHON = frozenset({"python", "py", "python3"})
DOCTEST = frozenset({"pycon", "doctest", "python-repl"})

SKIPPED = (  # what a sandbox with no network, no Docker and the software installed does not run
    (
        re.compile(
            r"^(sudo\s+)?((python3?|py)\s+-m\s+)?(pip3?|uv|poetry|pipenv|conda|pipx|apt(-get)?|"
            r"brew|npm|yarn|pnpm)\s+(install|add|sync|update|upgrade|i)\b"
        ),
        "installs: the software and its dependencies are installed",
    ),
    (re.compile(r"^(uv\s+)?(venv|virtualenv)\b|^(python3?|py)\s+-m\s+venv\b"), "a virtualenv"),
    (re.compile(r"^(source|\.)\s+\S*(activate|\.env)\b"), "a virtualenv"),
    (re.compile(r"^git\s+(clone|pull|fetch|push|remote)\b"), "needs the network"),
    (re.compile(r"^(docker|docker-compose|podman|kubectl|helm|make\s+docker)\b"), "needs Docker"),
    (re.compile(r"^(wget|ssh|scp)\b"), "needs the network"),
)
PLACEHOLDER = re.compile(r"<[A-Za-z][\w .-]*>|\byour[-_][\w-]+|\.\.\.(?!\w)")


@dataclass(frozen=True)
class Example:
    """One example the README gives: where it is, how it runs, its text."""

    line: int
    kind: str  # "shell", "python" or "doctest"
    text: str


@dataclass(frozen=True)
class Skip:
    """An example not run, and why."""

    line: int
    text: str
    why: str


def _shell_commands(block: str, first_line: int, console: bool) -> list[tuple[int, str]]:
    """Split a shell block into its commands, each with its line (continuations joined)."""
    commands: list[tuple[int, str]] = []
    pending: list[str] = []
    start = 0
    for offset, raw in enumerate(block.splitlines()):
        line = raw.rstrip()
        if not pending:
            stripped = line.lstrip()
            prompted = stripped.startswith(("$ ", "% ")) or stripped in ("$", "%")
            if console and not prompted and any(b.startswith("$ ") for b in block.splitlines()):
                continue  # a console block's other lines are the output it shows
            if prompted:
                stripped = stripped[2:]
            if not stripped or stripped.startswith("#"):
                continue
            start, line = first_line + offset, stripped
        if line.endswith("\\"):
            pending.append(line[:-1])
            continue
        pending.append(line)
        commands.append((start, " ".join(p.strip() for p in pending)))
        pending = []
    if pending:
        commands.append((start, " ".join(p.strip() for p in pending)))
    return commands


def examples(markdown: str) -> tuple[list[Example], list[Skip]]:
    """Return the README's runnable examples in order, and those it skips with why."""
    runnable: list[Example] = []
    skipped: list[Skip] = []
    for token in MarkdownIt("commonmark").parse(markdown[:MAX_README_CHARS]):
        if token.type != "fence" or not token.map:
            continue
        language = (token.info.split() or [""])[0].lower()
        first = token.map[0] + 2  # the fence's line is map[0] + 1; its content starts after
        body = token.content
        if language in DOCTEST or (language in PYTHON | {""} and body.lstrip().startswith(">>>")):
            runnable.append(Example(first, "doctest", body))
        elif language in PYTHON:
            runnable.append(Example(first, "python", body))
        elif language in SHELL or (language == "" and body.lstrip().startswith("$ ")):
            for line, command in _shell_commands(body, first, language == "console"):
                why = next((w for pattern, w in SKIPPED if pattern.search(command)), "")
                if not why and PLACEHOLDER.search(command):
                    why = "a placeholder to fill in"
                if why:
                    skipped.append(Skip(line, command, why))
                else:
                    runnable.append(Example(line, "shell", command))
    return runnable, skipped


@dataclass(frozen=True)
class ExamplesRun:
    """Examples run and judged: the record (its summary the caller's), findings, outcomes."""

    record: CheckRun
    findings: list[frame.Finding]
    outcomes: list[dict[str, object]]


def run_and_judge(
    context: frame.ToolContext,
    name: str,
    path: str,
    todo: Sequence[Example],
    per_example: float,
    label: str,
    command: str,
    said: Callable[[Example, dict[str, object]], str],
) -> ExamplesRun:
    """Run ``todo`` (from the document ``path``); each that fails is a finding at its line.

    They run in order in the sandbox with the project's environment (``readme_run.py``),
    which says of each whether it ran well (``ok``), ``why`` not, and if it started a
    ``server``.
    """
    env = context.sandbox.environment([*context.dependencies, *context.packages])
    budget = max(1.0, context.sandbox.limits.wall_seconds - 10.0)
    arguments = [json.dumps([asdict(e) for e in todo]), str(per_example), str(budget)]
    result, report = frame.reported(
        name, "readme_run.py", context, arguments, lists=("examples",), env=env
    )
    if report is None:
        failed = frame.not_reported(name, command, result, label, path, "the examples did not run")
        return ExamplesRun(failed.runs[0], failed.findings, [])
    outcomes = [o if isinstance(o, dict) else {} for o in report["examples"]]
    findings = [
        frame.Finding(path, f"line {example.line}: {said(example, outcome)}")
        for example, outcome in zip(todo, outcomes, strict=False)
        if not outcome.get("ok")
    ]
    passed = len(todo) - len(findings)
    record = frame.ran(name, command, result, label, passed=passed, failed=len(findings))
    return ExamplesRun(record, findings, outcomes)


def _said(example: Example, outcome: dict[str, object]) -> str:
    shown = example.text.strip().splitlines()[0][:120]
    return f"`{shown}` {outcome.get('why', 'failed')}"


@dataclass(frozen=True)
class ReadmeCommandsCheck:
    """Every command and example of the README runs against the delivered software."""

    name = "readme_commands"
    tools = (frame.Tool("markdown-it-py"),)
    promise = (
        "Once the software is built, every example of your README runs in the sandbox against "
        "it, in order, in the project's folder with its dependencies installed and its console "
        "scripts on PATH, with no network: each shell command (of a bash, sh, shell or console "
        "block; a console block's `$ ` lines), each python block, and each `>>>` session (as a "
        "doctest). One that fails, or runs too long without starting a server, comes back to "
        "you; a command that starts a server is kept running for the commands after it (a "
        "`curl` of it), then stopped. Installing, cloning, Docker and virtualenvs are skipped "
        "(the software is installed already), and so is a command with a `<placeholder>`."
    )

    def judges(self, path: str, code: bool) -> bool:
        """Look at the README files (Documentation's deliverable)."""
        return path.rsplit("/", 1)[-1].lower() == "readme.md"

    def run(self, context: frame.ToolContext, paths: Sequence[str]) -> frame.ToolReport:
        """Run each README's examples in the sandbox with the project's environment."""
        settings = context.settings
        per_command = settings.checks.readme_command_s if settings is not None else 20.0
        most = settings.checks.readme_commands_max if settings is not None else 20
        label = self.tools[0].label() + ", the project's environment"
        runs: list[CheckRun] = []
        findings: list[frame.Finding] = []
        for path in paths:
            runnable, skipped = examples(context.files.get(path, ""))
            dropped = runnable[most:]
            runnable = runnable[:most]
            command = f"run the {len(runnable)} example(s) of {path}"
            if not runnable:
                said = f"no example to run; {len(skipped)} skipped" if skipped else "no example"
                runs += frame.not_run(self.name, said, label).runs
                continue
            done = run_and_judge(
                context, self.name, path, runnable, per_command, label, command, _said
            )
            findings += done.findings
            if not done.outcomes:
                runs.append(done.record)
                continue
            servers = sum(1 for o in done.outcomes if o.get("server"))
            notes = [f"{done.record.passed} of {len(runnable)} ran"]
            if servers:
                notes.append(f"{servers} server(s) started and stopped")
            if skipped:
                whys = "; ".join(sorted({s.why for s in skipped}))
                notes.append(f"{len(skipped)} skipped ({whys})")
            if dropped:
                notes.append(f"{len(dropped)} past readme_commands_max not run")
            runs.append(done.record.model_copy(update={"summary": "; ".join(notes)[:300]}))
        return frame.ToolReport(runs, findings)
