"""A web service's test that requests a route from the app itself: ``app.post("/items", json=...)``.

FastAPI's ``app.post(path)`` declares a route (it returns a decorator): a test
calling it with a body fails with "FastAPI.post() got an unexpected keyword
argument 'json'", and one without a body gets a decorator where it expects a
response. What such a test means is the request, sent through the app's test
client, so the call is sent through one: ``TestClient(app).post(...)``, with
``from fastapi.testclient import TestClient`` where the file binds no
``TestClient``.

Only where nothing else is meant: a name the file imports from a module other
than FastAPI's or Starlette's (the project's app; not one named a client),
called with an HTTP method's name and a path (a string starting with ``/``)
first, outside any decorator, and used as a request: with a request's keyword
(``json=``, ``params=`` ...), or its result read as a response
(``.status_code``, ``.json()`` ...) at once or through the name it is given in
the same function. A store's ``get("/a")`` is left alone.

A test that calls a route's handler itself (``post_items({"name": "a"})``) and
reads what it gives as a response (``.status_code``) fails the same way: the
handler gives the JSON answer (or a coroutine), never a response. Where the
project's module declares the handler on its ``FastAPI()`` app
(``route_handlers``), the call is sent as the request it stands for:
``TestClient(app).post("/items", json={"name": "a"})``, the path's parameters
written into the path, the body's as ``json=``, the rest as ``params=``
(``request_handlers``). A call that passes what FastAPI gives itself (a
``Request``, a dependency) is left alone.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass

from devfactory.repairs.missing_imports import insert_imports, replace_nodes
from devfactory.software.source import bound_names, last_name, syntax_tree

VERBS = frozenset({"get", "post", "put", "patch", "delete", "head", "options"})
REQUEST_KEYWORDS = frozenset({"json", "data", "params", "headers", "content", "files", "cookies"})
RESPONSE_READS = frozenset({"status_code", "json", "text", "headers", "content"})
_FRAMEWORKS = frozenset({"fastapi", "starlette"})
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef)
_CLIENT = "from fastapi.testclient import TestClient"
_QUERY_TYPES = frozenset({"int", "float", "str", "bool", "None", "Optional", "Union"})
_GIVEN = frozenset(  # what FastAPI gives a handler itself, never a request's value
    {"Request", "Response", "BackgroundTasks", "WebSocket", "Depends", "Security", "Header"}
    | {"Cookie", "File", "Form", "UploadFile"}
)
_PATH_PARAMS = re.compile(r"\{(\w+)(?::\w+)?\}")


@dataclass(frozen=True)
class Handler:
    """A route's handler, declared on the ``FastAPI()`` app of one of the project's modules.

    Attributes:
        module: the module (``shop``).
        app: the app's name there (``app``).
        method: the request's method, as the client's method is named (``post``).
        path: the route's path (``/items/{sku}``).
        params: each parameter of the handler in order, with where a request carries its
            value: ``path``, ``query``, ``body``, or ``given`` (FastAPI gives it itself).

    """

    module: str
    app: str
    method: str
    path: str
    params: tuple[tuple[str, str], ...]


def send_through_client(source: str) -> tuple[str, list[str]]:
    """Return the tests file with its route requests on the app sent through a test client.

    Also the names of the apps so called (none: the file as it was).
    """
    tree = syntax_tree(source)
    if tree is None:
        return source, []
    apps = {
        alias.asname or alias.name
        for node in tree.body
        if isinstance(node, ast.ImportFrom)
        and node.module
        and not node.level
        and node.module.split(".")[0] not in _FRAMEWORKS
        for alias in node.names
        if "client" not in (alias.asname or alias.name).lower()  # a client already
    }
    declared = {  # a decorator's nodes: a route the file declares itself stays one
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
        for decorator in node.decorator_list
        for inner in ast.walk(decorator)
    }
    called = [
        call.func.value
        for scope in [tree, *(n for n in ast.walk(tree) if isinstance(n, _SCOPES))]
        for call in _requests(scope, apps)
        if id(call) not in declared and isinstance(call.func, ast.Attribute)
        if isinstance(call.func.value, ast.Name)
    ]
    if not called:
        return source, []
    fixed = replace_nodes(source, [(name, f"TestClient({name.id})") for name in called])
    if "TestClient" not in bound_names([tree]):
        fixed = insert_imports(fixed, ast.parse(fixed), [_CLIENT])
    return fixed, sorted({name.id for name in called})


def _own(scope: ast.AST) -> list[ast.AST]:
    """Return the nodes of ``scope`` outside the functions it defines (each its own scope)."""
    out: list[ast.AST] = []
    for child in ast.iter_child_nodes(scope):
        if not isinstance(child, _SCOPES):
            out += [child, *_own(child)]
    return out


def _requests(scope: ast.AST, apps: set[str]) -> list[ast.Call]:
    """Return the calls in ``scope`` that request a route from an app and use it as a request."""
    nodes = _own(scope)
    responses = _as_responses(nodes)
    return [
        call
        for call in nodes
        if isinstance(call, ast.Call) and _route_path(call, apps) is not None
        if any(k.arg in REQUEST_KEYWORDS for k in call.keywords) or id(call) in responses
    ]


def _route_path(node: ast.AST, apps: Collection[str]) -> str | None:
    """Return the path of ``app.post("/items", ...)`` on one of ``apps``; else None."""
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in VERBS
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id in apps
        and node.args
        and isinstance(path := node.args[0], ast.Constant)
        and isinstance(path.value, str)
        and path.value.startswith("/")
    ):
        return path.value
    return None


def _as_responses(nodes: list[ast.AST]) -> set[int]:
    """Return the ids of the calls among ``nodes`` whose result is read as a response."""
    read = {  # what is read as a response: a call at once, or a name
        id(n.value) if isinstance(n.value, ast.Call) else n.value.id
        for n in nodes
        if isinstance(n, ast.Attribute)
        and n.attr in RESPONSE_READS
        and isinstance(n.value, ast.Call | ast.Name)
    }
    given = {  # the name each call's result is given
        id(n.value): n.targets[0].id
        for n in nodes
        if isinstance(n, ast.Assign) and len(n.targets) == 1 and isinstance(n.targets[0], ast.Name)
    }
    return {
        id(n)
        for n in nodes
        if isinstance(n, ast.Call) and (id(n) in read or given.get(id(n)) in read)
    }


def project_handlers(sources: Mapping[str, str]) -> dict[str, Handler]:
    """Return the route handlers the project's modules (their sources, by name) declare."""
    return {
        name: handler
        for module, source in sources.items()
        for name, handler in route_handlers(module, source).items()
    }


def route_handlers(module: str, source: str) -> dict[str, Handler]:
    """Return the handlers ``source`` declares on its ``FastAPI()`` app (``@app.post("/x")``)."""
    tree = syntax_tree(source)
    if tree is None:
        return {}
    apps = {
        target.id
        for node in tree.body
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call)
        if last_name(node.value.func) == "FastAPI"
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    found: dict[str, Handler] = {}
    for node in (n for n in tree.body if isinstance(n, _SCOPES)):
        for route in node.decorator_list:
            if (path := _route_path(route, apps)) is not None:
                assert isinstance(route, ast.Call) and isinstance(route.func, ast.Attribute)
                app = ast.unparse(route.func.value)
                places = _places(node.args, path)
                found[node.name] = Handler(module, app, route.func.attr, path, places)
                break
    return found


def _places(args: ast.arguments, path: str) -> tuple[tuple[str, str], ...]:
    """Say where a request carries each of a handler's parameters, as FastAPI reads them."""
    positional = [*args.posonlyargs, *args.args]
    defaults = [None] * (len(positional) - len(args.defaults)) + list(args.defaults)
    in_path = set(_PATH_PARAMS.findall(path))
    places = []
    for param, default in [
        *zip(positional, defaults, strict=True),
        *zip(args.kwonlyargs, args.kw_defaults, strict=True),
    ]:
        given = last_name(default.func) if isinstance(default, ast.Call) else ""
        annotation = param.annotation
        if isinstance(annotation, ast.Constant) and isinstance(annotation.value, str):
            types = set(re.findall(r"\w+", annotation.value))  # "Item | None"
        else:
            named = ast.walk(annotation) if annotation else ()
            types = {last_name(n) for n in named if isinstance(n, ast.Name | ast.Attribute)}
        if param.arg in in_path or given == "Path":
            place = "path"
        elif given in {"Body", "Query"}:
            place = given.lower()
        elif given in _GIVEN or types & _GIVEN:
            place = "given"
        else:
            place = "query" if types <= _QUERY_TYPES else "body"  # a model, a dict, a list
        places.append((param.arg, place))
    return tuple(places)


def request_handlers(source: str, handlers: Mapping[str, Handler]) -> tuple[str, list[str]]:
    """Return the tests file with its handler calls read as responses sent as requests.

    Also the names of the handlers so called (none: the file as it was).
    """
    tree = syntax_tree(source) if handlers else None
    if tree is None:
        return source, []
    names: dict[str, Handler] = {}  # the file's name for each handler it imports
    apps: dict[str, str] = {}  # the file's name for each module's app it imports
    for node in (n for n in tree.body if isinstance(n, ast.ImportFrom) and not n.level):
        for alias in node.names:
            for one in handlers.values():
                if node.module == one.module and alias.name == one.app:
                    apps[one.module] = alias.asname or alias.name
            if (found := handlers.get(alias.name)) is not None and found.module == node.module:
                names[alias.asname or alias.name] = found
    bound = bound_names([tree])
    rebound = {  # bound at the top level by more than its import (a fixture of that name)
        name
        for node in tree.body
        if not isinstance(node, ast.Import | ast.ImportFrom)
        for name in bound_names([node], deep=False)
    }
    edits: list[tuple[ast.Call, str]] = []
    imports: list[str] = []
    for scope in [tree, *(n for n in ast.walk(tree) if isinstance(n, _SCOPES))]:
        nodes = _own(scope)
        responses = _as_responses(nodes)
        mine = rebound | _locals(scope)  # names that are no longer what was imported
        for call in nodes:
            if not isinstance(call, ast.Call) or id(call) not in responses:
                continue
            called = call.func.id if isinstance(call.func, ast.Name) else ""
            handler = names.get(called) if called not in mine else None
            if handler is None:
                continue
            app = apps.get(handler.module)
            if app in mine or (app is None and handler.app in bound):
                continue  # the file's own name for something else
            request = _request(source, call, handler, app or handler.app)
            if request is None:
                continue
            if app is None:
                apps[handler.module] = handler.app
                imports.append(f"from {handler.module} import {handler.app}")
            edits.append((call, request))
    if not edits:
        return source, []
    fixed = replace_nodes(source, edits)
    if "TestClient" not in bound:
        imports.append(_CLIENT)
    fixed = insert_imports(fixed, ast.parse(fixed), imports)
    return fixed, sorted({call.func.id for call, _ in edits if isinstance(call.func, ast.Name)})


def _locals(scope: ast.AST) -> set[str]:
    """Return the names a function binds itself, its parameters among them (none: a module)."""
    if not isinstance(scope, _SCOPES):
        return set()
    return bound_names([scope.args]) | bound_names(scope.body, deep=False)


def _request(source: str, call: ast.Call, handler: Handler, app: str) -> str | None:
    """Write the request a handler's call stands for (None: it passes what no request can).

    The values keep the test's own text (``ast.get_source_segment``); only the path,
    with its parameters written into it, is written anew.
    """
    if any(isinstance(a, ast.Starred) for a in call.args) or any(
        k.arg is None for k in call.keywords
    ):
        return None
    places = dict(handler.params)
    if len(call.args) > len(places):
        return None
    values = dict(zip(places, call.args, strict=False)) | {
        str(k.arg): k.value for k in call.keywords
    }
    if any(places.get(name, "given") == "given" for name in values):
        return None
    parts: list[ast.expr] = []
    for n, piece in enumerate(_PATH_PARAMS.split(handler.path)):
        if n % 2 == 0:
            parts += [ast.Constant(piece)] if piece else []
        elif piece not in values:
            return None  # a path parameter the call does not give
        elif isinstance(value := values[piece], ast.Constant) and isinstance(
            value.value, int | str
        ):
            parts.append(ast.Constant(str(value.value)))  # /items/3, not /items/{3}
        else:
            parts.append(ast.FormattedValue(value, conversion=-1))
    if all(isinstance(part, ast.Constant) for part in parts):
        parts = [ast.Constant("".join(str(getattr(part, "value", "")) for part in parts))]
    path = ast.unparse(parts[0] if len(parts) == 1 else ast.JoinedStr(parts))
    body = [(name, v) for name, v in values.items() if places[name] == "body"]
    query = [
        (name, v)
        for name, v in values.items()
        if places[name] == "query" and not (isinstance(v, ast.Constant) and v.value is None)
    ]
    text = [path]
    if body:
        text.append(
            f"json={_text(source, body) if len(body) > 1 else _segment(source, body[0][1])}"
        )
    if query:
        text.append(f"params={_text(source, query)}")
    return f"TestClient({app}).{handler.method}({', '.join(text)})"


def _segment(source: str, node: ast.expr) -> str:
    return ast.get_source_segment(source, node) or ast.unparse(node)


def _text(source: str, items: list[tuple[str, ast.expr]]) -> str:
    """Write a dict of the items, each value in the test's own text."""
    return "{" + ", ".join(f"{name!r}: {_segment(source, value)}" for name, value in items) + "}"
