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
"""

from __future__ import annotations

import ast

from devfactory.repairs.missing_imports import insert_imports
from devfactory.software.source import bound_names

VERBS = frozenset({"get", "post", "put", "patch", "delete", "head", "options"})
REQUEST_KEYWORDS = frozenset({"json", "data", "params", "headers", "content", "files", "cookies"})
RESPONSE_READS = frozenset({"status_code", "json", "text", "headers", "content"})
_FRAMEWORKS = frozenset({"fastapi", "starlette"})
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef)
_CLIENT = "from fastapi.testclient import TestClient"


def send_through_client(source: str) -> tuple[str, list[str]]:
    """Return the tests file with its route requests on the app sent through a test client.

    Also the names of the apps so called (none: the file as it was).
    """
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
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
    lines = source.splitlines(keepends=True)
    for name in sorted(called, key=lambda n: (n.lineno, n.col_offset), reverse=True):
        row = lines[name.lineno - 1].encode("utf-8")  # the offsets count UTF-8 bytes
        start, end = name.col_offset, name.end_col_offset or name.col_offset
        wrapped = row[:start] + f"TestClient({name.id})".encode() + row[end:]
        lines[name.lineno - 1] = wrapped.decode("utf-8")
    fixed = "".join(lines)
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
    shaped = [
        node
        for node in nodes
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in VERBS
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id in apps
        and node.args
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str)
        and node.args[0].value.startswith("/")
    ]
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
    return [
        call
        for call in shaped
        if any(k.arg in REQUEST_KEYWORDS for k in call.keywords)
        or id(call) in read
        or given.get(id(call)) in read
    ]
