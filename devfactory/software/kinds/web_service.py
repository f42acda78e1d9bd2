"""A web service: an app object and its routes, in FastAPI (the default) or Flask.

Asked for when the requirement writes routes (``POST /items``) or names its
framework. Tools write the app, each route's handler with its method, path,
path and query parameters, JSON body and status of success, and the state the
handlers share in memory (``_store``); the model writes one handler at a time
(a Flask service: all of them at once, as they share their state). Its example
tests call the app through FastAPI's test client: a fresh list is 200, an
unknown object is 404, a body shaped as the requirement shows never gives a
server error. The smoke check serves it with uvicorn and sends one GET.
"""

from __future__ import annotations

import keyword
import re

from packaging.requirements import Requirement

from devfactory.sandbox.commands import Smoke
from devfactory.software.examples import Example, ExampleSet
from devfactory.software.kinds.command_line import main_file
from devfactory.software.kinds.shape import Comparison, PlanPart, StartPart
from devfactory.software.plan import BuildPlan, Named, SoftwareKind
from devfactory.software.requirement import RequirementFacts, Route, names_a_number
from devfactory.software.skeleton import STUB, Skeleton, Unit, UnitKind, doc, header, stubs, tidy


def handler_name(route: Route) -> str:
    """Name a route's handler from its method and path (``POST /items/{sku}/adjust``)."""
    words = [w.lower() for w in re.split(r"[^A-Za-z0-9]+", route.path) if w]
    return "_".join([route.method.lower(), *words])


_QUERY = re.compile(r"\?([A-Za-z_][A-Za-z0-9_]*)=([^`&\s]*)")
_BODY_METHODS = ("POST", "PUT", "PATCH")


def _query_params(route: Route) -> list[str]:
    """Return ``name: type | None = None`` for each ``?name=value`` the route's sentences show.

    Where they show none, each query parameter they name in words ("a query
    parameter called tag"): a whole number where the words right after say so,
    else text.
    """
    found: dict[str, str] = {}
    for sentence in route.sentences:
        for name, value in _QUERY.findall(sentence):
            if value.lower() in ("true", "false"):
                kind = "bool"
            elif value.lstrip("-").isdigit() or names_a_number(value):
                kind = "int"  # `?limit=10`, `?limit=N`
            else:
                kind = "str"
            found.setdefault(name, kind)
    if not found:
        for sentence in route.sentences:
            for match in _QUERY_IN_WORDS.finditer(sentence):
                said = _A_NUMBER.match(sentence[match.end() :])
                found.setdefault(match.group(1), "int" if said else "str")
    return [f"{name}: {kind} | None = None" for name, kind in found.items()]


_QUERY_IN_WORDS = re.compile(
    r"\bquery\s+(?:string\s+)?parameter\s+(?:called\s+|named\s+)?[`\"']?([a-z_][a-z0-9_]*)\b"
)
_A_NUMBER = re.compile(
    r"^[`\"']?,?\s+(?:is\s+|which\s+is\s+|as\s+)?an?\s+(?:whole\s+number|integer)"
)


def _takes_body(route: Route) -> bool | None:
    """Whether the route reads a JSON body: True when required, False when optional, else None.

    Required where the requirement says ``METHOD /path` with ...`` (in words: "a
    POST request to /path with ..."); optional for any other POST, PUT or PATCH;
    GET and DELETE take none.
    """
    if route.method not in _BODY_METHODS:
        return None
    code = f"`{route.method} {route.path}`"
    if any(code in s for s in route.sentences):
        return any(re.search(re.escape(code) + r"[^.;:]*?\bwith\b", s) for s in route.sentences)
    said = re.compile(rf"\b{route.method}\b[^.;:]*?{re.escape(route.path)}[^.;:]*?\bwith\b")
    return any(said.search(s) for s in route.sentences)


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
    text = doc(lines, "    ")
    return (
        f"@{app}.{route.method.lower()}({route.path!r}{status})\n"
        f"def {handler_name(route)}({', '.join(args)}):\n{text}    {STUB}\n"
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
    text = doc([f"{route.method} {route.path}:", *route.sentences], "    ")
    return (
        f"@{app}.route({path!r}, methods=[{route.method!r}])\n"
        f"def {handler_name(route)}({', '.join(params)}):\n{text}    {STUB}\n"
    )


# What a service keeps in memory, said actively ("storing the orders in memory") or
# passively ("orders are held in memory"); a pronoun names nothing.
_PRONOUN = r"(?!(?:it|them|they|everything|which|that)\b)"
_KEEPS = r"(?:keep(?:s|ing)?|stor(?:e|es|ing)|hold(?:s|ing)?) (?:the |its |their |all )?"
_IN_MEMORY = re.compile(
    rf"\b{_KEEPS}{_PRONOUN}([a-z_]+) in memory"
    rf"|\b{_PRONOUN}([a-z_]+) (?:are|is) (?:kept|stored|held) in memory",
    re.I,
)


def _store(facts: RequirementFacts) -> tuple[str, str, bool] | None:
    """Name the service's in-memory store: (its name, what keys it, whether keys are numbers).

    The name is what the requirement says it keeps in memory (``keeping orders in
    memory``, ``orders are stored in memory``), else the first segment of its
    routes' paths; the key is the path parameter of the routes about one stored
    object (``/orders/{id}``).
    """
    said = next(((m[1] or m[2]).lower() for m in map(_IN_MEMORY.search, facts.sentences) if m), "")
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
    kind = "int" if numbered else "str"
    lines = [
        "# The service's state, in memory: every handler reads and writes it.",
        f"{name}: dict[{kind}, dict[str, Any]] = {{}}  # by {key}: each as its JSON object",
    ]
    if numbered:
        lines += [f"_{key}s = itertools.count(1)", "", ""]
        lines += [f"def new_{key}() -> int:", f'    """Return the next new {key}: 1, 2, 3, ...'
                  f' (never one given before)."""', f"    return next(_{key}s)"]  # fmt: skip
    return lines


def _web(facts: RequirementFacts, summary: str) -> Skeleton:
    lines = header(facts, summary)
    if facts.framework == "flask":
        lines += ["from flask import Flask, abort, jsonify, request", ""]
        lines += [f"{facts.app} = Flask(__name__)", ""]
        lines += stubs(facts)[0]
        for route in facts.routes:
            lines += ["", _flask_route_stub(route, facts.app).rstrip("\n"), ""]
        # The routes share their state (the stored items, the next id): one unit writes them all.
        module = Unit(facts.module, UnitKind.MODULE, facts.sentences)
        return Skeleton(f"{facts.module}.py", tidy(lines), (module,))
    found = _store(facts)
    state = _state(found)
    lines += ["import itertools"] if found is not None and found[2] else []
    lines += ["from typing import Any", ""]
    lines += ["from fastapi import Body, FastAPI, HTTPException, Response"]
    if any(300 <= r.success < 400 for r in facts.routes):
        lines += ["from fastapi.responses import RedirectResponse"]
    lines += [""]
    lines += [f"{facts.app} = FastAPI()", "", *state, ""]
    stub_lines, units = stubs(facts)
    lines += stub_lines
    for route in facts.routes:
        lines += ["", _route_stub(route, facts.app).rstrip("\n"), ""]
        units.append(Unit(handler_name(route), UnitKind.ROUTE, route.sentences))
    return Skeleton(f"{facts.module}.py", tidy(lines), tuple(units))


def _probe_path(route: Route) -> str | None:
    if not re.search(r"\{[^}]+\}", route.path):
        return None
    return re.sub(r"\{([^}:]+)(?::[^}]*)?\}", lambda m: _unknown(m.group(1)), route.path)


def _unknown(param: str) -> str:
    """Return a value of a path parameter that no object has (a number for an id)."""
    name = param.lower()
    if name in ("id", "n", "number") or name.endswith("_id"):
        return "999999"
    return "no-such-" + re.sub(r"[^a-z0-9]+", "-", name).strip("-")


_FIELD = re.compile(r'"([A-Za-z_][A-Za-z0-9_]*)":\s*(str|int|float|bool)\b')
_SAMPLE = {"str": "example", "int": 1, "float": 1.5, "bool": True}


def _no_server_error(route: Route, handler: str) -> Example:
    """Send a body shaped as the route's sentence shows (else ``{}``): never a 5xx.

    Whatever the rules refuse (422, 409, 404) is the handler's to decide; an
    exception or a 500 is never what a requirement asks for.
    """
    code = f"`{route.method} {route.path}`"
    said = next((s for s in route.sentences if code in s), route.sentences[0])
    shape = re.search(r"`(\{[^`]*\})`", said[said.find(code) :] if code in said else said)
    body = {k: _SAMPLE[t] for k, t in _FIELD.findall(shape.group(1))} if shape else {}
    path = _probe_path(route) or route.path
    call = f"client.{route.method.lower()}({path!r}, json={body!r})"
    return Example(
        f"{route.method.lower()}_never_a_server_error",
        said,
        f"    answer = {call}\n    assert answer.status_code < 500, answer.text\n",
        handler,
    )


def _web_examples(facts: RequirementFacts) -> list[Example]:
    found: list[Example] = []
    for route in facts.routes:
        listed = route.method == "GET" and "{" not in route.path and 200 in route.statuses
        if listed:  # a fresh service lists what it keeps: 200, and JSON
            quote = next(s for s in route.sentences if "200" in s)
            found.append(
                Example(
                    "get_list_is_200",
                    quote,
                    f"    listed = client.get({route.path!r})\n"
                    "    assert listed.status_code == 200, listed.text\n"
                    "    listed.json()\n",
                    handler_name(route),
                )
            )
        if route.method in ("POST", "PUT", "PATCH") and not any(c >= 500 for c in route.statuses):
            found.append(_no_server_error(route, handler_name(route)))
        path = _probe_path(route)
        if path is None or 404 not in route.statuses or route.method not in ("GET", "DELETE"):
            continue
        quote = next((s for s in route.sentences if "404" in s), route.sentences[0])
        call = f"client.{route.method.lower()}({path!r})"
        found.append(
            Example(
                f"{route.method.lower()}_unknown_is_404",
                quote,
                f"    assert {call}.status_code == 404\n",
                handler_name(route),
            )
        )
    return found


class WebService:
    """The web-service kind (``SoftwareShape``)."""

    name = "web service"
    plan_kinds: tuple[SoftwareKind, ...] = (SoftwareKind.WEB_SERVICE,)
    whole = "whole_service"
    serves = True
    contained = True
    user = "client[HTTP client]"
    flow = (
        "A client sends an HTTP request to the app `{entry}`; the route "
        "for its method and path validates the input, reads or changes the state kept in "
        "memory and answers with the status the requirement gives."
    )

    def read(self, facts: RequirementFacts) -> RequirementFacts | None:
        """Take a requirement that writes routes or names a web framework."""
        return facts if facts.routes or facts.framework else None

    def planned(self, facts: RequirementFacts) -> PlanPart | None:
        """Plan one module with the app, served as ``module:app`` (None without routes)."""
        if not facts.routes:
            return None  # a framework named, no route: no entry point tools can write
        return PlanPart(
            SoftwareKind.WEB_SERVICE,
            f"{facts.module}.py",
            "the web service's app and routes",
            entry_point=f"{facts.module}:{facts.app}",
            symbols=((facts.app, f"{facts.app} = FastAPI()"),),
        )

    def starting(self, named: Named, package: str) -> StartPart | None:
        """Start a FastAPI app served as ``package:app`` when the requirement names routes.

        A service also run with ``python -m`` keeps the command line's ``__main__.py``.
        """
        if not named.endpoints:
            return None
        return StartPart(
            SoftwareKind.WEB_SERVICE,
            "the web service: the FastAPI app and its endpoints",
            files=(main_file(package),) if named.modules else (),
            symbols=(("app", "app = FastAPI()"),),
            dependencies=("fastapi", "uvicorn", "httpx"),
            entry_point=f"{package}:app",
        )

    def skeleton(self, facts: RequirementFacts, summary: str) -> Skeleton:
        """Return the app, the state its handlers share and a stub for each route."""
        return _web(facts, summary)

    def examples(self, facts: RequirementFacts) -> ExampleSet:
        """Return the routes' examples, through a test client (a FastAPI service only)."""
        if not (facts.routes and facts.framework == "fastapi"):
            return ExampleSet()
        app = facts.app
        setup = (
            "from fastapi.testclient import TestClient",
            "",
            f"from {facts.module} import {app}",
            "",
            f"client = TestClient({app})",
        )
        return ExampleSet(tests=tuple(_web_examples(facts)), setup=setup)

    def compared(self, facts: RequirementFacts, unit: str) -> Comparison | None:
        """Compare no unit on samples: its examples call the routes themselves."""
        return None

    def smoke(self, plan: BuildPlan) -> Smoke | None:
        """Serve ``module:app`` with uvicorn and GET its first listing (else ``/``)."""
        entry = plan.entry_point
        if ":" not in entry:
            return None
        get = next((e.path for e in plan.endpoints if e.method == "GET" and "{" not in e.path), "/")
        argv = ("python", "-m", "uvicorn", entry, "--host", "127.0.0.1", "--port", "{port}")
        return Smoke(kind="http", argv=argv, path=get)

    def packages(self, plan: BuildPlan) -> tuple[str, ...]:
        """Add uvicorn, which serves the app in the smoke run (the plan need not list it)."""
        names = {Requirement(d).name.lower().replace("_", "-") for d in plan.dependencies}
        return () if "uvicorn" in names else ("uvicorn",)


WEB_SERVICE = WebService()
