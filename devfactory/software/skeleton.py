"""The skeleton toolkit: what every kind of software's skeleton is made of, by tools.

A module's skeleton is what a parser and a template can write exactly: the
module docstring, each public function with its signature as the requirement
writes it and a docstring quoting the requirement about it, the classes its
signatures and its errors name, and whatever its kind adds (a command line's
argparse parser, a web service's app and routes: ``software/kinds/``, one
module per kind). The model then writes one body at a time (``Unit``), and a
file can no longer lose its imports, rename its interface or be cut off.

Nothing here knows a kind: the kinds compose these parts, and the registry
(``software/kinds/__init__.py``) picks the kind whose skeleton a module gets.
"""

from __future__ import annotations

import builtins
import re
import textwrap
from dataclasses import dataclass

from devfactory.software.requirement import Function, RequirementFacts
from devfactory.software.source import defined_names, stubbed_names, unwritten

STUB = "raise NotImplementedError"
_TYPING = frozenset(
    "Any Callable Iterable Iterator Mapping Sequence Optional Union Literal Self None".split()
)
_DOC_WIDTH = 88


class UnitKind:
    """What a unit of the skeleton is (plain strings, kept in state)."""

    FUNCTION = "function"
    CLASS = "class"
    COMMAND = "command"  # the command line's ``run(args)``
    ROUTE = "route"  # one route's handler of a FastAPI service (its state is declared for it)
    MODULE = "module"  # the whole module: a Flask service's routes share their state


@dataclass(frozen=True)
class Unit:
    """One piece of the skeleton the model writes: a function, a class, a route handler."""

    name: str  # the top-level name it defines
    kind: str
    sentences: tuple[str, ...]  # the requirement's words about it
    # what the tools around it say of it (a filter's transform: what `text` holds), as lines
    told: tuple[str, ...] = ()


@dataclass(frozen=True)
class Skeleton:
    """A module's source with stubs, and the units a model fills in, in writing order."""

    path: str
    source: str
    units: tuple[Unit, ...]


# An empty quote ("") is matched too, so that it does not pair with the next opening one.
_QUOTED_TEXT = re.compile(r'"[^"\n]{0,80}"|\u201c[^\u201d\n]{0,80}\u201d')
_KEPT_SPACE = "\ue000"  # a space inside a quoted text: neither collapsed nor broken at


def _keep_spaces(match: re.Match[str]) -> str:
    return match[0].replace(" ", _KEPT_SPACE)


def squeezed(text: str) -> str:
    """Return ``text`` with each run of whitespace one space, but inside a short quoted text.

    '"     1 alpha"' is an output as the requirement shows it, to the space.
    The spaces kept are ``_KEPT_SPACE`` until ``kept_spaces`` puts them back.
    """
    return " ".join(_QUOTED_TEXT.sub(_keep_spaces, text).split())


def kept_spaces(text: str) -> str:
    """Put back the spaces ``squeezed`` kept."""
    return text.replace(_KEPT_SPACE, " ")


def doc(lines: list[str] | tuple[str, ...], indent: str) -> str:
    """Render a docstring quoting the requirement (no triple quotes inside).

    Runs of spaces become one and lines are wrapped, except inside a short quoted
    text (``squeezed``).
    """
    text = squeezed(" ".join(lines)).replace('"""', "'''").replace("\\", "\\\\")
    if not text:
        return ""
    wrapped = textwrap.wrap(
        text, _DOC_WIDTH - len(indent), break_on_hyphens=False, break_long_words=False
    )
    wrapped = [kept_spaces(line) for line in wrapped]
    if len(wrapped) == 1:
        return f'{indent}"""{wrapped[0]}"""\n'
    body = "\n".join(f"{indent}{line}" for line in wrapped)
    return f'{indent}"""\n{body}\n{indent}"""\n'


def _names_in(annotation: str) -> list[str]:
    return re.findall(r"[A-Za-z_][A-Za-z0-9_]*", annotation)


def _own_types(facts: RequirementFacts) -> list[str]:
    """Return the classes the requirement's signatures and errors name that it must define."""
    found: list[str] = []
    known = set(dir(builtins)) | _TYPING | {"typing", "collections", "abc"}
    for function in facts.functions:
        for name in _names_in(f"{function.params} {function.returns}"):
            if name[:1].isupper() and name not in known and name not in found:
                found.append(name)
    for error in facts.errors:
        if error not in known and error not in found:
            found.append(error)
    return found


def _sentences_naming(facts: RequirementFacts, name: str) -> tuple[str, ...]:
    return tuple(s for s in facts.sentences if re.search(rf"`[^`]*\b{re.escape(name)}\b", s))


def _class_stub(name: str, facts: RequirementFacts) -> str:
    about = _sentences_naming(facts, name)
    base = "Exception" if name.endswith(("Error", "Exception")) else ""
    head = f"class {name}({base}):\n" if base else f"class {name}:\n"
    text = doc(list(about) or [f"The {name} the requirement names."], "    ")
    return head + text + ("" if base else "\n    pass\n" if not about else "")


def _function_stub(function: Function) -> str:
    text = doc(list(function.sentences), "    ")
    return f"{function.signature}:\n{text}    {STUB}\n"


def header(facts: RequirementFacts, summary: str) -> list[str]:
    """Return the module's docstring (the plan's summary) and its first import."""
    lines = [doc([summary or f"The {facts.module} module."], "").rstrip("\n"), ""]
    lines += ["from __future__ import annotations", ""]
    return lines


def stubs(facts: RequirementFacts) -> tuple[list[str], list[Unit]]:
    """Return the stubs of the module's own types and functions, and a unit for each."""
    lines: list[str] = []
    units: list[Unit] = []
    for name in _own_types(facts):
        lines += ["", _class_stub(name, facts).rstrip("\n"), ""]
        units.append(Unit(name, UnitKind.CLASS, _sentences_naming(facts, name)))
    for function in facts.functions:
        lines += ["", _function_stub(function).rstrip("\n"), ""]
        units.append(Unit(function.name, UnitKind.FUNCTION, function.sentences))
    return lines, units


def tidy(lines: list[str]) -> str:
    """Join ``lines`` with PEP 8's two blank lines between top-level definitions."""
    text = "\n".join(lines)
    text = re.sub(r"\n{3,}", "\n\n\n", text).strip() + "\n"
    return re.sub(r'^("""[^\n]*"""|"""[\s\S]*?""")\n\n\n', r"\1\n\n", text, count=1)


def left_stub(source: str, unit: Unit, made: Skeleton) -> bool:
    """Say whether ``unit`` is still a stub in ``source`` (or not there at all).

    A module unit is one while any definition its skeleton left to be written
    (a route's handler) still is.
    """
    if unit.kind == UnitKind.MODULE:
        return bool(unwritten(source, stubbed_names(made.source), skeleton=made.source))
    missing = unit.name not in defined_names(source)
    return missing or bool(unwritten(source, [unit.name], skeleton=made.source))
