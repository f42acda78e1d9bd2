"""A script: one file run by its path, ``python name.py ...``, not as a module with ``-m``.

Asked for when the requirement writes its usage lines as ``python name.py
ARGS`` (one script, no ``python -m`` line, no routes). The parser reads only
``python -m`` usage lines, so a script's are read here: each is read as the
``python -m name`` line it stands for, and keeps the words the requirement
wrote. From there it is a command line (``command_line.py``): the same
parser, ``run(args)`` and ``main``, the same example tests, run by the
script's path, and the same smoke run, ``python name.py --help``; the plan
says ``script`` with the entry point ``python name.py``.
"""

from __future__ import annotations

import re
from dataclasses import replace

from devfactory.software.examples import ExampleSet
from devfactory.software.kinds.command_line import CommandLine, command_example_set
from devfactory.software.kinds.shape import PlanPart, StartPart
from devfactory.software.plan import Named, SoftwareKind
from devfactory.software.requirement import RequirementFacts, read_requirement

_IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
_RUN_FILE = re.compile(rf"^python3?\s+({_IDENT})\.py(?=\s|$)")
_CODE = re.compile(r"`([^`]+)`")


def _runs(sentence: str) -> list[str]:
    """Return the names of the scripts the sentence's code spans run (``python name.py``)."""
    return [m.group(1) for c in _CODE.findall(sentence) if (m := _RUN_FILE.match(c.strip()))]


def _as_module(text: str, name: str) -> str:
    """Write each ``python name.py`` of ``text`` as the ``python -m name`` it stands for."""
    run = re.compile(rf"(?<![\w.-])python3?\s+{re.escape(name)}\.py(?![\w.-])")
    return run.sub(f"python -m {name}", text)


class Script(CommandLine):
    """The script kind (``SoftwareShape``): a command line run by its file's path."""

    name = "script"
    plan_kinds: tuple[SoftwareKind, ...] = (SoftwareKind.SCRIPT,)

    def read(self, facts: RequirementFacts) -> RequirementFacts | None:
        """Take a requirement that runs one script by its path; read its usage lines."""
        if facts.routes or facts.framework:
            return None
        names = {n for s in facts.sentences for n in _runs(s)}
        if len(names) != 1:
            return None  # no script, or several: not one program tools can lay out
        [name] = names
        if facts.module not in ("", name):
            return None
        if any(_RUN_FILE.match(u.line) is None or u.module != name for u in facts.usages):
            return None  # a `python -m` line too: a command line, not a script
        written = {  # each usage line as the parser reads it -> as the requirement wrote it
            " ".join(_as_module(c, name).split()): " ".join(c.split())
            for s in facts.sentences
            for c in _CODE.findall(s)
            if _RUN_FILE.match(c.strip())
        }
        as_module = read_requirement("\n\n".join(_as_module(s, name) for s in facts.sentences))
        usages = tuple(
            replace(u, line=written[u.line]) for u in as_module.usages if u.line in written
        )
        if not usages:
            return None
        return replace(facts, module=name, usages=usages, exit_codes=as_module.exit_codes)

    def planned(self, facts: RequirementFacts) -> PlanPart | None:
        """Plan the one file, run as ``python name.py``."""
        return PlanPart(
            SoftwareKind.SCRIPT,
            f"{facts.module}.py",
            "the script: its command line and the functions it names",
            entry_point=f"python {facts.module}.py",
        )

    def starting(self, named: Named, package: str) -> StartPart | None:
        """Start no plan: a starting plan is a package's, and a script is one file."""
        return None

    def examples(self, facts: RequirementFacts) -> ExampleSet:
        """Return the command line's examples, run by the script's path beside the tests."""
        script = f"{facts.module}.py"
        argv = f"sys.executable, str(Path(__file__).resolve().parents[1] / {script!r})"
        made = command_example_set(facts, f"python {script}", argv)
        return replace(made, imports=(*made.imports, "from pathlib import Path"))


SCRIPT = Script()
