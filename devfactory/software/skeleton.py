"""Skeletons of the planned code, made by tools from the requirement's facts.

A module's skeleton is what a parser and a template can write exactly: the
module docstring, the imports a framework needs, each public function with its
signature as the requirement writes it and a docstring quoting the requirement
about it, the classes its signatures and its errors name, a command line's
argparse parser built from its usage lines (so ``--help`` answers and a usage
error exits 2 before any model writes a line), a web service's app object and
its routes with their methods, paths and success statuses, and the
``__main__`` wiring. The model then writes one body at a time (``Unit``), and a
file can no longer lose its imports, rename its interface or be cut off.

Why one module: the skeletons of the three kinds share the header, the stubs of
the requirement's functions and types, the docstrings that quote it and the
tidying; a filter command line's reading and writing live in ``streams.py``.
"""

from __future__ import annotations

import ast
import builtins
import keyword
import re
import textwrap
from dataclasses import dataclass

from devfactory.software.requirement import Function, Option, RequirementFacts, Route, UsageLine
from devfactory.software.streams import TRANSFORM, stream
from devfactory.software.streams import lines as stream_lines

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


@dataclass(frozen=True)
class Skeleton:
    """A module's source with stubs, and the units a model fills in, in writing order."""

    path: str
    source: str
    units: tuple[Unit, ...]


def _doc(lines: list[str] | tuple[str, ...], indent: str) -> str:
    """Render a docstring quoting the requirement (no triple quotes inside)."""
    text = " ".join(" ".join(lines).split()).replace('"""', "'''").replace("\\", "\\\\")
    if not text:
        return ""
    wrapped = textwrap.wrap(text, _DOC_WIDTH - len(indent), break_on_hyphens=False)
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
    doc = _doc(list(about) or [f"The {name} the requirement names."], "    ")
    return head + doc + ("" if base else "\n    pass\n" if not about else "")


def _function_stub(function: Function) -> str:
    doc = _doc(list(function.sentences), "    ")
    return f"{function.signature}:\n{doc}    {STUB}\n"


def _header(facts: RequirementFacts, summary: str) -> list[str]:
    lines = [_doc([summary or f"The {facts.module} module."], "").rstrip("\n"), ""]
    lines += ["from __future__ import annotations", ""]
    return lines


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
        if option.required:
            parts.append("required=True")
    if option.dest != option.flags[-1].lstrip("-").replace("-", "_"):
        parts.append(f"dest={option.dest!r}")
    help_text = " ".join(" ".join(option.sentences).split())[:160]
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


def _parser(facts: RequirementFacts, summary: str) -> list[str]:
    """Return the lines of ``build_parser()`` for the usage lines."""
    doc = summary.replace('"', "'")[:200]
    lines = [
        "def build_parser() -> argparse.ArgumentParser:",
        '    """Return the command line\'s parser, as the requirement\'s usage lines give it."""',
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


def _cli(facts: RequirementFacts, summary: str) -> Skeleton:
    lines = _header(facts, summary)
    lines.insert(lines.index("from __future__ import annotations") + 2, "import argparse")
    lines.insert(lines.index("import argparse") + 1, "import sys")
    lines.append("")
    stubs, units = _stubs(facts)
    lines += stubs
    lines += ["", *_parser(facts, summary), "", ""]
    about = [s for s in facts.sentences if not any(f.name in s for f in facts.functions)]
    found = stream(facts)
    if found is not None:  # a filter: tools read and write, the model writes the transform
        stub, wiring = stream_lines(found, about, _doc)
        lines += ["", "", *stub, *wiring, "", "", *_main()]
        units.append(Unit(TRANSFORM, UnitKind.COMMAND, tuple(about)))
        return Skeleton(f"{facts.module}.py", _tidy(lines), tuple(units))
    lines += [
        "def run(args: argparse.Namespace) -> int:",
        _doc(["Do what the command line asks; return the exit status.", *about], "    ").rstrip(
            "\n"
        ),
        f"    {STUB}",
        "",
        "",
        *_main(),
    ]
    units.append(Unit("run", UnitKind.COMMAND, tuple(about)))
    return Skeleton(f"{facts.module}.py", _tidy(lines), tuple(units))


def _main() -> list[str]:
    return [
        "def main(argv: list[str] | None = None) -> int:",
        '    """Parse ``argv`` (usage errors exit 2) and run the command."""',
        "    return run(build_parser().parse_args(argv))",
        "",
        "",
        'if __name__ == "__main__":',
        "    sys.exit(main())",
    ]


def handler_name(route: Route) -> str:
    """Name a route's handler from its method and path (``POST /items/{sku}/adjust``)."""
    words = [w for w in re.split(r"[^A-Za-z0-9]+", route.path) if w]
    verb = {"GET": "get", "POST": "post", "PUT": "put", "PATCH": "patch", "DELETE": "delete"}
    return "_".join([verb[route.method], *[w.lower() for w in words]]) or verb[route.method]


_QUERY = re.compile(r"\?([A-Za-z_][A-Za-z0-9_]*)=([^`&\s]*)")
# A placeholder that stands for a whole number by convention (``?limit=N``,
# ``?page=K``, ``?size=COUNT``); another capital (``?tag=T``) stands for text.
_NUMBER_PLACEHOLDER = re.compile(r"[NKM]|NUM|NUMBER|COUNT|INT|INTEGER")
_BODY_METHODS = ("POST", "PUT", "PATCH")


def _query_params(route: Route) -> list[str]:
    """Return ``name: type | None = None`` for each ``?name=value`` the route's sentences show."""
    found: dict[str, str] = {}
    for sentence in route.sentences:
        for name, value in _QUERY.findall(sentence):
            if value.lower() in ("true", "false"):
                kind = "bool"
            elif value.lstrip("-").isdigit() or _NUMBER_PLACEHOLDER.fullmatch(value):
                kind = "int"  # `?limit=10`, `?limit=N`
            else:
                kind = "str"
            found.setdefault(name, kind)
    return [f"{name}: {kind} | None = None" for name, kind in found.items()]


def _takes_body(route: Route) -> bool | None:
    """Whether the route reads a JSON body: True when required, False when optional, else None.

    Required where the requirement says ``METHOD /path` with ...``; optional for any
    other POST, PUT or PATCH; GET and DELETE take none.
    """
    if route.method not in _BODY_METHODS:
        return None
    code = f"`{route.method} {route.path}`"
    return any(re.search(re.escape(code) + r"[^.;:]*?\bwith\b", s) for s in route.sentences)


_PATH_PARAM = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(?::[^}]*)?\}")


def _numbered(param: str) -> bool:
    """Whether a path parameter is a number the service gives out (``{id}``, ``{todo_id}``)."""
    return param == "id" or param.endswith("_id")


def _route_stub(route: Route, app: str) -> str:
    """Write a route's handler: its path parameters, its query parameters, its JSON body."""
    params = _PATH_PARAM.findall(route.path)
    args = [f"{p}: {'int' if _numbered(p) else 'str'}" for p in params]
    lines = [f"{route.method} {route.path}:", *route.sentences]
    body = _takes_body(route)
    if body is not None:
        args.append(
            "body: dict[str, Any] = Body(...)"
            if body
            else "body: dict[str, Any] | None = Body(None)"
        )
        lines.append("`body` is the request's JSON object, as FastAPI parsed it.")
    args += _query_params(route)
    lines.append(_answer(route))
    status = f", status_code={route.success}" if route.success != 200 else ""
    doc = _doc(lines, "    ")
    return (
        f"@{app}.{route.method.lower()}({route.path!r}{status})\n"
        f"def {handler_name(route)}({', '.join(args)}):\n{doc}    {STUB}\n"
    )


def _answer(route: Route) -> str:
    """Say how the handler answers, in FastAPI's terms, for the route's status of success."""
    refuse = "A refusal raises `HTTPException(status_code=..., detail=...)`."
    if route.success == 204:
        return f"It answers `Response(status_code=204)` (no body). {refuse}"
    if 300 <= route.success < 400:
        return f"It answers `RedirectResponse(url, status_code={route.success})`. {refuse}"
    return (
        "It returns the JSON answer itself, a dict or a list (FastAPI sends it with status "
        f"{route.success}; never `Response(content=...)`). {refuse}"
    )


def _flask_route_stub(route: Route, app: str) -> str:
    """Write a Flask handler: its path parameters; it reads the body with ``request``."""
    path = _PATH_PARAM.sub(r"<\1>", route.path)
    params = _PATH_PARAM.findall(route.path)
    doc = _doc([f"{route.method} {route.path}:", *route.sentences], "    ")
    return (
        f"@{app}.route({path!r}, methods=[{route.method!r}])\n"
        f"def {handler_name(route)}({', '.join(params)}):\n{doc}    {STUB}\n"
    )


_IN_MEMORY = re.compile(r"\bkeep(?:s|ing)? (?:the |its |all )?([a-z_]+) in memory", re.I)


def _store(facts: RequirementFacts) -> tuple[str, str, bool] | None:
    """Name the service's in-memory store: (its name, what keys it, whether keys are numbers).

    The name is what the requirement says it keeps in memory (``keeping todos in
    memory``), else the first segment of its routes' paths; the key is the path
    parameter of the routes about one stored object (``/todos/{id}``).
    """
    said = next((m.group(1).lower() for m in map(_IN_MEMORY.search, facts.sentences) if m), "")
    first = next((p for r in facts.routes for p in r.path.split("/") if p and "{" not in p), "")
    name = said or first.lower().replace("-", "_")
    keys = [p for r in facts.routes for p in _PATH_PARAM.findall(r.path)]
    if not name.isidentifier() or keyword.iskeyword(name) or name == facts.app or not keys:
        return None
    return name, keys[0], _numbered(keys[0])


def _state(found: tuple[str, str, bool] | None) -> list[str]:
    """Declare the state the handlers share (``_store``), so each handler is written on its own."""
    if found is None:
        return []
    name, key, numbered = found
    lines = ["# The service's state, in memory: every handler reads and writes it."]
    kind = "int" if numbered else "str"
    lines.append(
        f"{name}: dict[{kind}, dict[str, Any]] = {{}}  # by {key}: each as its JSON object"
    )
    if numbered:
        lines += [f"_{key}s = itertools.count(1)", "", ""]
        lines += [f"def new_{key}() -> int:", f'    """Return the next new {key}: 1, 2, 3, ...'
                  f' (never one given before)."""', f"    return next(_{key}s)"]  # fmt: skip
    return lines


def _web(facts: RequirementFacts, summary: str) -> Skeleton:
    lines = _header(facts, summary)
    if facts.framework == "flask":
        lines += ["from flask import Flask, abort, jsonify, request", ""]
        lines += [f"{facts.app} = Flask(__name__)", ""]
        lines += _stubs(facts)[0]
        for route in facts.routes:
            lines += ["", _flask_route_stub(route, facts.app).rstrip("\n"), ""]
        # The routes share their state (the stored items, the next id): one unit writes them all.
        module = Unit(facts.module, UnitKind.MODULE, facts.sentences)
        return Skeleton(f"{facts.module}.py", _tidy(lines), (module,))
    found = _store(facts)
    state = _state(found)
    lines += ["import itertools"] if found is not None and found[2] else []
    lines += ["from typing import Any", ""]
    lines += ["from fastapi import Body, FastAPI, HTTPException, Response"]
    if any(300 <= r.success < 400 for r in facts.routes):
        lines += ["from fastapi.responses import RedirectResponse"]
    lines += [""]
    lines += [f"{facts.app} = FastAPI()", "", *state, ""]
    stubs, units = _stubs(facts)
    lines += stubs
    for route in facts.routes:
        lines += ["", _route_stub(route, facts.app).rstrip("\n"), ""]
        units.append(Unit(handler_name(route), UnitKind.ROUTE, route.sentences))
    return Skeleton(f"{facts.module}.py", _tidy(lines), tuple(units))


def _library(facts: RequirementFacts, summary: str) -> Skeleton:
    stubs, units = _stubs(facts)
    return Skeleton(f"{facts.module}.py", _tidy(_header(facts, summary) + stubs), tuple(units))


def _stubs(facts: RequirementFacts) -> tuple[list[str], list[Unit]]:
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


def _tidy(lines: list[str]) -> str:
    """Join ``lines`` with PEP 8's two blank lines between top-level definitions."""
    text = "\n".join(lines)
    text = re.sub(r"\n{3,}", "\n\n\n", text).strip() + "\n"
    return re.sub(r'^("""[^\n]*"""|"""[\s\S]*?""")\n\n\n', r"\1\n\n", text, count=1)


def skeleton(facts: RequirementFacts, summary: str = "") -> Skeleton | None:
    """Return the skeleton of the requirement's one module, or None when facts cannot make one.

    The source always parses; every stub raises ``NotImplementedError`` until a
    unit's body replaces it.
    """
    if not facts.module:
        return None
    if facts.routes or facts.framework:
        made = _web(facts, summary)
    elif facts.usages:
        made = _cli(facts, summary)
    elif facts.functions:
        made = _library(facts, summary)
    else:
        return None
    ast.parse(made.source)  # a skeleton that does not parse is a bug here, not the model's
    return made
