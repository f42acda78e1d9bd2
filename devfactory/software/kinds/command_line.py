"""A command line: ``python -m module ...``, its parser made from the usage lines.

Asked for when the requirement writes ``python -m module`` usage lines (and no
routes). Tools write ``build_parser()`` from the usage lines (so ``--help``
answers and a usage error exits 2 before any model writes a line) and the
``main`` wiring; the model writes ``run(args)``, which does the work and
returns the exit status. Its example tests run it as a child process
(``run_cli``): ``--help``, an unknown option, no arguments, an unreadable
file, each where the requirement's exit statuses say what it answers. The
smoke check runs it with ``--help``. A filter (``text_filter.py``) and a
script (``script.py``) are command lines too, and use these parts.
"""

from __future__ import annotations

import re

from devfactory.sandbox.commands import Smoke
from devfactory.software.examples import Example, ExampleSet
from devfactory.software.kinds.shape import Comparison, PlanPart, StartPart
from devfactory.software.plan import BuildPlan, Named, SoftwareKind
from devfactory.software.requirement import Option, RequirementFacts, UsageLine
from devfactory.software.skeleton import STUB, Skeleton, Unit, UnitKind, doc, header, stubs, tidy

_UNREADABLE = re.compile(r"cannot be read|can't be read|does not exist|unreadable|missing", re.I)
# Bad usage, as a requirement says it: "usage", or a word of wrong use next to what was
# used wrongly ("an unknown option", "a missing or bad argument", "the command is invalid").
_WRONG = r"\b(?:unknown|invalid|missing|bad|wrong|unrecogni[sz]ed)\b"
_ARGUMENT = r"\b(?:options?|arguments?|flags?|(?:sub)?commands?)\b"
_USAGE = re.compile(
    rf"usage|{_WRONG}[\w\s,]{{0,20}}?{_ARGUMENT}|{_ARGUMENT}[\w\s]{{0,20}}?{_WRONG}", re.I
)


_HELP_CHARS = 160


def _help(sentences: tuple[str, ...]) -> str:
    """Return an option's help: its whole sentences that fit, else the first cut at a word."""
    said = [" ".join(s.split()) for s in sentences if s.strip()]
    kept: list[str] = []
    for sentence in said:
        if len(" ".join([*kept, sentence])) > _HELP_CHARS:
            break
        kept.append(sentence)
    if kept or not said:
        return " ".join(kept)
    return said[0][: _HELP_CHARS - 3].rsplit(" ", 1)[0] + "..."


def _option_lines(option: Option, target: str) -> list[str]:
    args = ", ".join(repr(f) for f in option.flags)
    parts = [args]
    if option.metavar is None:
        parts.append('action="store_true"')
    else:
        parts.append(f"metavar={option.metavar!r}")
        if option.integer:
            parts.append("type=int")
        if option.choices:
            parts.append(f"choices={list(option.choices)!r}")
        if option.default is not None:  # as said: a number as a number, a quoted text as text
            parts.append(f"default={option.default}")
        if option.required:
            parts.append("required=True")
    if option.dest != option.flags[-1].lstrip("-").replace("-", "_"):
        parts.append(f"dest={option.dest!r}")
    help_text = _help(option.sentences)
    if help_text:
        parts.append(f"help={help_text.replace('%', '%%')!r}")
    return [f"    {target}.add_argument({', '.join(parts)})"]


def _positional_lines(usage: UsageLine, target: str) -> list[str]:
    lines = []
    for p in usage.positionals:
        dest = p.dest
        nargs = ("*" if p.optional else "+") if p.many else ("?" if p.optional else "")
        extra = f", nargs={nargs!r}" if nargs else ""
        lines.append(f"    {target}.add_argument({dest!r}, metavar={p.name!r}{extra})")
    return lines


def parser_lines(facts: RequirementFacts, summary: str) -> list[str]:
    """Return the lines of ``build_parser()`` for the usage lines."""
    doc = summary.replace('"', "'")[:200]
    said = (  # a usage line the words describe is the parser's rendering, not the requirement's
        "as the requirement's words describe it"
        if any(u.synthesised for u in facts.usages)
        else "as the requirement's usage lines give it"
    )
    lines = [
        "def build_parser() -> argparse.ArgumentParser:",
        f'    """Return the command line\'s parser, {said}."""',
        f"    parser = argparse.ArgumentParser(prog={facts.module!r}, description={doc!r})",
    ]
    commands = [u for u in facts.usages if u.command]
    shared = [u for u in facts.usages if not u.command]
    for usage in shared[:1]:
        lines += _positional_lines(usage, "parser")
    for option in facts.options if not commands else ():
        lines += _option_lines(option, "parser")
    if commands:
        lines.append('    commands = parser.add_subparsers(dest="command", required=True)')
        for n, usage in enumerate(commands):
            lines.append(f"    command_{n} = commands.add_parser({usage.command!r})")
            lines += _positional_lines(usage, f"command_{n}")
            for option in usage.options:
                lines += _option_lines(option, f"command_{n}")
    lines.append("    return parser")
    return lines


def command_head(facts: RequirementFacts, summary: str) -> tuple[list[str], list[Unit], list[str]]:
    """Return a command line's module up to its parser, its units so far, and what it is about.

    What it is about: the requirement's sentences that name none of its functions.
    """
    lines = header(facts, summary)
    lines.insert(lines.index("from __future__ import annotations") + 2, "import argparse")
    lines.insert(lines.index("import argparse") + 1, "import sys")
    lines.append("")
    stub_lines, units = stubs(facts)
    lines += stub_lines
    lines += ["", *parser_lines(facts, summary), "", ""]
    about = [s for s in facts.sentences if not any(f.name in s for f in facts.functions)]
    return lines, units, about


def command_skeleton(facts: RequirementFacts, summary: str, path: str) -> Skeleton:
    """Return a command line's skeleton at ``path``: the model writes ``run(args)``."""
    lines, units, about = command_head(facts, summary)
    lines += [
        "def run(args: argparse.Namespace) -> int:",
        doc(["Do what the command line asks; return the exit status.", *about], "    ").rstrip(
            "\n"
        ),
        f"    {STUB}",
        "",
        "",
        *main_lines(),
    ]
    units.append(Unit("run", UnitKind.COMMAND, tuple(about)))
    return Skeleton(path, tidy(lines), tuple(units))


def main_file(package: str) -> tuple[str, str]:
    """Return the ``__main__.py`` of a package run as ``python -m package``, and its purpose."""
    return f"{package}/__main__.py", "the command line (argparse); usage errors exit 2"


def main_lines(runner: str = "run") -> list[str]:
    """Return ``main(argv)``, which parses and calls ``runner``, and the ``__main__`` wiring."""
    return [
        "def main(argv: list[str] | None = None) -> int:",
        '    """Parse ``argv`` (usage errors exit 2) and run the command."""',
        f"    return {runner}(build_parser().parse_args(argv))",
        "",
        "",
        'if __name__ == "__main__":',
        "    sys.exit(main())",
    ]


def command_examples(facts: RequirementFacts, command: str) -> list[Example]:
    """Return the tests a command line's usage lines and exit statuses settle.

    ``command`` is how the requirement runs it (``python -m module``), as the
    ``--help`` test quotes it.
    """
    codes = {e.code: e.meaning for e in facts.exit_codes}
    last = [flag for option in facts.options for flag in option.flags[-1:]]
    flags = "".join(f"    assert {flag!r} in done.stdout\n" for flag in last)
    found = [
        Example(
            "help",
            f"Run as `{command}`: `--help` describes the usage.",
            f"    done = run_cli('--help')\n    assert done.returncode == 0, done.stderr\n{flags}",
            "cli",
        )
    ]
    usage_error = codes.get(2, "")
    if _USAGE.search(usage_error):
        found.append(_exits("unknown_option", usage_error, "'--no-such-option-at-all'", 2))
    shared = next((u for u in facts.usages if not u.command), None)
    required = [p for p in shared.positionals if not p.optional] if shared else []
    if usage_error and required and re.search(r"\bno\b|missing", usage_error, re.I):
        found.append(_exits("no_arguments", usage_error, "", 2))
    unreadable = codes.get(1, "")
    file_arg = next((p for p in required if p.file), None)
    if unreadable and file_arg is not None and _UNREADABLE.search(unreadable):
        others = [p for p in required if p is not file_arg]
        needed = [o for o in facts.options if o.required and o.metavar]
        if not others and all(_sample_value(o) for o in needed):
            given = "".join(f", {o.flags[-1]!r}, {_sample_value(o)!r}" for o in needed)
            args = f"str(tmp_path / 'no-such-file.txt'){given}"
            found.append(_exits("unreadable_file", unreadable, args, 1))
    return found


def _exits(name: str, quote: str, args: str, status: int) -> Example:
    """Return the example that runs the command with ``args`` and expects ``status``."""
    body = f"    done = run_cli({args})\n    assert done.returncode == {status}, done.stderr\n"
    return Example(name, quote, body, "cli")


def _sample_value(option: Option) -> str | None:
    """Return a value the requirement allows for a required option, or None when it shows none.

    The first of the values it lists (`--unit` is `cm`, `in` or `pt`: ``cm``),
    for a count ``1``, else the first literal its sentences give after
    naming it.
    """
    if option.choices:
        return option.choices[0]
    if option.integer:
        return "1"
    for sentence in option.sentences:
        for flag in option.flags:
            at = sentence.find(f"`{flag}`")
            if at < 0:
                continue
            for literal in re.findall(r"`([^`\s]+)`", sentence[at + len(flag) + 2 :]):
                if not literal.startswith("-") and re.fullmatch(r"[\w.:/-]+", literal):
                    return literal
    return None


def command_example_set(facts: RequirementFacts, command: str, argv: str) -> ExampleSet:
    """Return a command line's examples with the imports and the ``run_cli`` they call.

    ``argv`` is the list that starts the command, which ``run_cli(*args)`` extends.
    """
    return ExampleSet(
        tests=tuple(command_examples(facts, command)),
        imports=("import subprocess", "import sys"),
        helpers=(
            "",
            "",
            "def run_cli(*args: str, stdin: str = '') -> subprocess.CompletedProcess[str]:",
            f'    """Run ``{command}`` with ``args``."""',
            f"    command = [{argv}, *args]",
            "    return subprocess.run(command, input=stdin, capture_output=True, text=True,"
            " timeout=60)",
        ),
    )


def run_smoke(plan: BuildPlan) -> Smoke | None:
    """Return the smoke run of a plan that runs as a command: its entry point with ``--help``."""
    return Smoke(kind="cli", argv=tuple(plan.entry_point.split()), path="/")


class CommandLine:
    """The command-line kind (``SoftwareShape``)."""

    name = "command line"
    # a script a model plans runs as a command too
    plan_kinds: tuple[SoftwareKind, ...] = (SoftwareKind.CLI, SoftwareKind.SCRIPT)
    user = "user[user at a terminal]"
    whole = "whole_command"
    serves = False
    contained = True
    flow = (
        "The user runs `{entry}`; `build_parser()` reads the arguments "
        "(a usage error exits 2 before any work), `run(args)` does the work and returns the "
        "exit status, output goes to standard output and errors to standard error."
    )

    def read(self, facts: RequirementFacts) -> RequirementFacts | None:
        """Take a requirement that writes ``python -m module`` usage lines, or says them in words.

        A program run with ``-m`` whose options the words give is a command line,
        not a library: the parser renders its usage line (``synthesised``).
        """
        return facts if facts.usages else None

    def planned(self, facts: RequirementFacts) -> PlanPart | None:
        """Plan one module run as ``python -m module``."""
        return PlanPart(
            SoftwareKind.CLI,
            f"{facts.module}.py",
            "the command line and the functions it names",
            entry_point=f"python -m {facts.module}",
        )

    def starting(self, named: Named, package: str) -> StartPart | None:
        """Start a package run as ``python -m package``: its ``__main__.py`` holds the command."""
        if not named.modules:
            return None
        return StartPart(
            SoftwareKind.CLI,
            "the public functions",
            files=(main_file(package),),
            entry_point=f"python -m {package}",
        )

    def skeleton(self, facts: RequirementFacts, summary: str) -> Skeleton:
        """Return the functions' stubs, the parser, ``run(args)`` and ``main``."""
        return command_skeleton(facts, summary, f"{facts.module}.py")

    def examples(self, facts: RequirementFacts) -> ExampleSet:
        """Return the command line's examples, run as ``python -m module``."""
        argv = f"sys.executable, '-m', {facts.module!r}"
        return command_example_set(facts, f"python -m {facts.module}", argv)

    def compared(self, facts: RequirementFacts, unit: str) -> Comparison | None:
        """Compare no unit on samples: its examples run the command itself."""
        return None

    def smoke(self, plan: BuildPlan) -> Smoke | None:
        """Run the entry point with ``--help``."""
        return run_smoke(plan)

    def packages(self, plan: BuildPlan) -> tuple[str, ...]:
        """Need nothing beyond the plan's dependencies."""
        return ()


COMMAND_LINE = CommandLine()
