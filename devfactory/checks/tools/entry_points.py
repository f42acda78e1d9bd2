"""Security Engineering's threat model held to the entry points the built code has.

The threat model is written before the code exists. Once it is built, the code's
entry points are read from its syntax trees (Python's own parser, nothing run): HTTP
routes (a decorator such as ``@app.get("/todos/{id}")`` or ``@app.route("/x",
methods=[...])``), command-line options (``add_argument("--shout")``,
``click.option("--shout")``, ``typer.Option("--shout")``) and files the code opens by
a literal name. The threat model must name each one (a route by its path up to its
first parameter, an option by its flag, a file by its name); each it does not is a
finding for Security Engineering, which redrafts it in a fix round.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from devfactory.checks.tools.tool_frame import Finding, Tool, ToolContext, ToolReport, not_run
from devfactory.contracts import CheckRun

THREAT_MODEL = "security/threat-model.md"
"""Security Engineering's deliverable (its ``team.yaml``)."""

ROUTE_METHODS = frozenset({"get", "post", "put", "patch", "delete", "head", "options"})
OPTION_CALLS = frozenset({"add_argument", "add_option", "option", "Option", "argument"})


@dataclass(frozen=True)
class EntryPoint:
    """One way in to the software: what it is, the words that name it, where it is."""

    kind: str  # "route", "option", "file"
    shown: str  # "POST /todos/{id}", "--shout", "data/todos.json"
    named_by: str  # what the threat model must contain: "/todos/", "--shout", "todos.json"
    path: str
    line: int


def _text(node: ast.AST) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _called(node: ast.Call) -> str:
    func = node.func
    return (
        func.attr
        if isinstance(func, ast.Attribute)
        else func.id
        if isinstance(func, ast.Name)
        else ""
    )


def _methods(call: ast.Call) -> list[str]:
    for keyword in call.keywords:
        if keyword.arg == "methods" and isinstance(keyword.value, (ast.List, ast.Tuple, ast.Set)):
            found = [t.upper() for e in keyword.value.elts if (t := _text(e))]
            if found:
                return found
    return ["GET"]


def entry_points(path: str, source: str) -> Iterator[EntryPoint]:
    """Yield the entry points of one module (none when it does not parse)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return  # the lint check says what is wrong with it
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for decorator in node.decorator_list:
                if not isinstance(decorator, ast.Call) or not decorator.args:
                    continue
                route = _text(decorator.args[0])
                name = _called(decorator)
                if not route or not route.startswith("/"):
                    continue
                if name in ROUTE_METHODS:
                    methods = [name.upper()]
                elif name in ("route", "api_route", "websocket"):
                    methods = _methods(decorator)
                else:
                    continue
                stem = route.split("{")[0].split("<")[0] or "/"
                for method in methods:
                    yield EntryPoint("route", f"{method} {route}", stem, path, decorator.lineno)
        elif isinstance(node, ast.Call):
            name = _called(node)
            if name in OPTION_CALLS:
                for flag in (_text(a) for a in node.args):
                    if flag and flag.startswith("--") and len(flag) > 2:
                        yield EntryPoint("option", flag, flag, path, node.lineno)
            elif name == "open" and node.args and (opened := _text(node.args[0])):
                yield EntryPoint("file", opened, opened.rsplit("/", 1)[-1], path, node.lineno)


def unnamed(model: str, points: Sequence[EntryPoint]) -> list[EntryPoint]:
    """Return the entry points the threat model's text does not name (each once)."""
    lowered = model.lower()
    missing: dict[tuple[str, str], EntryPoint] = {}
    for point in points:
        if point.named_by.lower() not in lowered:
            missing.setdefault((point.kind, point.shown), point)
    return list(missing.values())


@dataclass(frozen=True)
class EntryPointsCheck:
    """The threat model names every entry point the built code has."""

    name = "entry_points"
    tools: tuple[Tool, ...] = ()  # Python's own parser, as the factory runs it: nothing to install
    promise = (
        "Once the code is built, its entry points are read from its syntax trees (HTTP routes, "
        "command-line options, files opened by a literal name) and the threat model "
        f"(`{THREAT_MODEL}`) must name each: a route by its path (up to its first parameter), an "
        "option by its flag, a file by its name. One it does not name comes back to you."
    )

    def judges(self, path: str, code: bool) -> bool:
        """Look at the Python files the plan calls code."""
        return code and path.endswith(".py")

    def run(self, context: ToolContext, paths: Sequence[str]) -> ToolReport:
        """Read the entry points and look for each in the threat model."""
        model = context.files.get(THREAT_MODEL)
        command = f"entry points of {' '.join(paths)} named in {THREAT_MODEL}"
        if model is None:
            return not_run(self.name, "not run: no threat model")
        points = [p for path in paths for p in entry_points(path, context.files.get(path, ""))]
        missing = unnamed(model, points)
        findings = [
            Finding(
                THREAT_MODEL,
                f"names no {p.kind} {p.shown} ({p.path} line {p.line}): add it to the entry "
                "points and the threats that reach the software through it",
            )
            for p in missing
        ]
        record = CheckRun(
            name=self.name,
            command=command,
            exit_code=0,
            passed=len(points) - len(missing),
            failed=len(missing),
            sandboxed=False,
            summary=f"{len(missing)} of {len(points)} entry point(s) not named",
            tool="Python ast",
        )
        return ToolReport([record], findings)
