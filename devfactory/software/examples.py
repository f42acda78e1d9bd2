"""The requirement's own examples, as the run's first tests: made by tools, trusted first.

A requirement that says "`parse_move("e4")` is `("e", 4)`", "`0` raises
`ValueError`", "2 on usage errors" or "`GET /items/{sku}`: 200 and the
item, or 404" has already written tests; this module writes them down, one
test per statement, each quoting its sentence in its docstring. Only what the
words settle becomes a test (a call with literal arguments and a literal
result, a status or exit code a probe can reach without inventing data), so a
test here is right whenever the requirement is. One probe does invent data: a
route that takes a JSON body is sent one shaped as its sentence shows, with
sample values, and must answer without a server error, which no requirement
asks for. These tests are trusted above any a model writes, select among
candidate bodies and arbitrate between a model's tests and its code.

Why one module: the function, command-line and web examples render into one
tests file, whose names, imports and preamble (``run_cli``, the test client)
depend on which kinds are present; split, each part would have to know the
others' to write a file that collects.
"""

from __future__ import annotations

import ast
import builtins
import re
from dataclasses import dataclass

from devfactory.software.requirement import Function, Option, RequirementFacts, Route

PATH = "tests/test_requirement_examples.py"
_CALL = r"`(?P<call>[A-Za-z_][A-Za-z0-9_]*\([^`]*\))`"
_VALUE = r"`(?P<value>[^`]+)`"
_IS = re.compile(_CALL + r"\s+(?:is|returns|gives|evaluates to|==|->|→)\s+" + _VALUE, re.IGNORECASE)
_RAISES = re.compile(_CALL + r"\s+raises\s+`(?P<error>[A-Za-z_][A-Za-z0-9_]*)`", re.IGNORECASE)
# "<argument> is `<value>`" in a one-argument function's own statement: "(3 is `9`, -2 is `4`)"
_BARE_IS = re.compile(r"(?<![\w`.])(?P<arg>-?\d+|`[^`]+`)\s+is\s+" + _VALUE)
_FILE_WORDS = ("FILE", "INPUT", "PATH", "CSV", "LOG", "SOURCE")
_UNREADABLE = re.compile(r"cannot be read|can't be read|does not exist|unreadable|missing", re.I)
_USAGE = re.compile(r"usage error|unknown option|missing or unknown|invalid option", re.I)


@dataclass(frozen=True)
class Example:
    """One test: its name, the statement it quotes, and its body (indented 4 spaces)."""

    name: str
    quote: str
    body: str
    about: str  # the unit it checks: a function's name, "cli" or a route's handler


def _literal(text: str) -> bool:
    try:
        ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return False
    return True


def _call_literal(call: str, names: set[str]) -> str | None:
    """Return ``call`` when it calls a named function with literal arguments only."""
    try:
        node = ast.parse(call, mode="eval").body
    except SyntaxError:
        return None
    if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name):
        return None
    if node.func.id not in names:
        return None
    values = [*node.args, *(k.value for k in node.keywords)]
    if any(isinstance(k, ast.keyword) and k.arg is None for k in node.keywords):
        return None
    for value in values:
        try:
            ast.literal_eval(value)
        except (ValueError, SyntaxError, TypeError):
            return None
    return call


def _quote(sentence: str) -> str:
    text = " ".join(sentence.split())
    return text.replace("\\", "\\\\").replace('"""', "'''")[:300]


def _function_examples(facts: RequirementFacts) -> list[Example]:
    names = {f.name for f in facts.functions}
    one_arg = {f.name: f for f in facts.functions if _arity(f) == 1}
    found: list[Example] = []
    seen: set[str] = set()
    for sentence in facts.sentences:
        for match in _IS.finditer(sentence):
            call = _call_literal(match["call"], names)
            value = match["value"]
            if call is None or not _literal(value) or call in seen:
                continue
            seen.add(call)
            name = call.split("(", 1)[0]
            found.append(Example(name, sentence, f"    assert {call} == {value}\n", name))
        for match in _RAISES.finditer(sentence):
            call = _call_literal(match["call"], names)
            if call is None or call in seen:
                continue
            seen.add(call)
            name = call.split("(", 1)[0]
            body = f"    with pytest.raises({match['error']}):\n        {call}\n"
            found.append(Example(name, sentence, body, name))
    for function in one_arg.values():  # "(3 is `9`, -2 is `4`)" in its own statement
        param = _annotation(_split_params(function.params)[0])
        for sentence in _own_sentences(facts, function):
            for match in _BARE_IS.finditer(sentence):
                arg = _as_type(match["arg"].strip("`"), param)
                value = _as_type(match["value"], function.returns)
                call = f"{function.name}({arg})" if arg is not None else ""
                if not call or value is None or call in seen:
                    continue
                seen.add(call)
                body = f"    assert {call} == {value}\n"
                found.append(Example(function.name, sentence, body, function.name))
            for error, args in _raising(sentence):
                for raw in args:
                    arg = _as_type(raw, param)
                    call = f"{function.name}({arg})" if arg is not None else ""
                    if not call or call in seen or raw in (function.name, error):
                        continue
                    seen.add(call)
                    body = f"    with pytest.raises({error}):\n        {call}\n"
                    found.append(Example(function.name, sentence, body, function.name))
    return found


def _own_sentences(facts: RequirementFacts, function: Function) -> list[str]:
    """Return the sentences of the statement that introduces ``function`` (its bullet)."""
    head = f"`{function.signature[4:]}"
    block = next((s for s in function.sentences if head in s), "")
    if not block:
        return []
    return [s for s in facts.sentences if s in block]


_RAISE_CLAUSE = re.compile(r"([^.;()]*)\braises?\s+`([A-Za-z_][A-Za-z0-9_]*)`")


def _raising(sentence: str) -> list[tuple[str, list[str]]]:
    """Return (error, the backticked values the clause before "raise `Error`" lists)."""
    found = []
    for match in _RAISE_CLAUSE.finditer(sentence):
        values = re.findall(r"`([^`]+)`", match.group(1))
        if values:
            found.append((match.group(2), values))
    return found


def _annotation(param: str) -> str:
    return param.split(":", 1)[1].split("=", 1)[0].strip() if ":" in param else ""


def _as_type(raw: str, annotation: str) -> str | None:
    """Write ``raw`` as a Python literal of ``annotation`` (a bare word is a ``str``'s text)."""
    raw = raw.strip()
    if annotation == "str":
        if _literal(raw) and isinstance(ast.literal_eval(raw), str):
            return raw
        return repr(raw) if re.fullmatch(r"[^\s'\"]{1,40}", raw) else None
    if _literal(raw):
        value = ast.literal_eval(raw)
        if annotation in ("int", "float") and isinstance(value, str):
            return None
        return raw
    return None


def _arity(function: Function) -> int:
    params = [p for p in _split_params(function.params) if p and not p.startswith("*")]
    return len(params)


def _split_params(params: str) -> list[str]:
    parts, depth, current = [], 0, ""
    for char in params:
        depth += (char in "([{") - (char in ")]}")
        if char == "," and depth == 0:
            parts.append(current.strip())
            current = ""
        else:
            current += char
    if current.strip():
        parts.append(current.strip())
    return parts


def _cli_examples(facts: RequirementFacts) -> list[Example]:
    found: list[Example] = []
    codes = {e.code: e.meaning for e in facts.exit_codes}
    found.append(
        Example(
            "help",
            f"Run as `python -m {facts.module}`: `--help` describes the usage.",
            "    done = run_cli('--help')\n    assert done.returncode == 0, done.stderr\n"
            + "".join(
                f"    assert {flag!r} in done.stdout\n"
                for option in facts.options
                for flag in option.flags[-1:]
            ),
            "cli",
        )
    )
    usage_error = codes.get(2, "")
    if usage_error and _USAGE.search(usage_error) or "usage" in usage_error.lower():
        found.append(
            Example(
                "unknown_option",
                usage_error,
                "    done = run_cli('--no-such-option-at-all')\n"
                "    assert done.returncode == 2, done.stderr\n",
                "cli",
            )
        )
    shared = next((u for u in facts.usages if not u.command), None)
    required = [p for p in shared.positionals if not p.optional] if shared else []
    if usage_error and required and re.search(r"\bno\b|missing", usage_error, re.I):
        found.append(
            Example(
                "no_arguments",
                usage_error,
                "    done = run_cli()\n    assert done.returncode == 2, done.stderr\n",
                "cli",
            )
        )
    unreadable = codes.get(1, "")
    file_arg = next((p for p in required if any(w in p.name.upper() for w in _FILE_WORDS)), None)
    if unreadable and file_arg is not None and _UNREADABLE.search(unreadable):
        others = [p for p in required if p is not file_arg]
        needed = [o for o in facts.options if o.required and o.metavar]
        if not others and all(_sample_value(o) for o in needed):
            given = "".join(f", {o.flags[-1]!r}, {_sample_value(o)!r}" for o in needed)
            found.append(
                Example(
                    "unreadable_file",
                    unreadable,
                    f"    done = run_cli(str(tmp_path / 'no-such-file.txt'){given})\n"
                    "    assert done.returncode == 1, done.stderr\n",
                    "cli",
                )
            )
    return found


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
    from devfactory.software.skeleton import handler_name

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


def examples(facts: RequirementFacts) -> list[Example]:
    """Return the tests the requirement's own statements settle, in order."""
    found = _function_examples(facts)
    if facts.usages:
        found += _cli_examples(facts)
    if facts.routes and facts.framework == "fastapi":
        found += _web_examples(facts)
    return found


def _test_name(example: Example, taken: set[str]) -> str:
    base = re.sub(r"[^a-z0-9_]+", "_", f"test_{example.name}".lower()).strip("_")
    name, n = base, 1
    while name in taken:
        n += 1
        name = f"{base}_{n}"
    taken.add(name)
    return name


@dataclass(frozen=True)
class ExampleTests:
    """The example tests' module, and which unit each test checks (by test name)."""

    source: str
    about: dict[str, str]

    def of(self, unit: str) -> list[str]:
        """Return the names of the tests about ``unit``."""
        return [name for name, what in self.about.items() if what == unit]


def examples_file(facts: RequirementFacts) -> ExampleTests | None:
    """Render the example tests as a pytest module (None when the requirement gives none)."""
    found = examples(facts)
    if not found:
        return None
    names = sorted({e.about for e in found if e.about in {f.name for f in facts.functions}})
    lines = [
        '"""The requirement\'s own examples, made into tests by the factory (each quotes it)."""',
        "",
        "from __future__ import annotations",
        "",
    ]
    cli = any(e.about == "cli" for e in found)
    web = facts.routes and facts.framework == "fastapi"
    if cli:
        lines += ["import subprocess", "import sys"]
    lines += ["", "import pytest", ""] if any("pytest." in e.body for e in found) else [""]
    if names:
        lines.append(f"from {facts.module} import {', '.join(names)}")
    errors = sorted({m for e in found for m in re.findall(r"pytest\.raises\((\w+)\)", e.body)})
    own_errors = [e for e in errors if not hasattr(builtins, e) and e in facts.errors]
    if own_errors:
        lines.append(f"from {facts.module} import {', '.join(own_errors)}")
    if web:
        lines += ["from fastapi.testclient import TestClient", "", f"from {facts.module} import "
                  f"{facts.app}", "", f"client = TestClient({facts.app})"]  # fmt: skip
    if cli:
        lines += [
            "",
            "",
            "def run_cli(*args: str, stdin: str = '') -> subprocess.CompletedProcess[str]:",
            f'    """Run ``python -m {facts.module}`` with ``args``."""',
            f"    command = [sys.executable, '-m', {facts.module!r}, *args]",
            "    return subprocess.run(command, input=stdin, capture_output=True, text=True,"
            " timeout=60)",
        ]
    taken: set[str] = set()
    about: dict[str, str] = {}
    for example in found:
        signature = "(tmp_path)" if "tmp_path" in example.body else "()"
        name = _test_name(example, taken)
        about[name] = example.about
        lines += [
            "",
            "",
            f"def {name}{signature} -> None:",
            f'    """{_quote(example.quote)}"""',
            example.body.rstrip("\n"),
        ]
    source = re.sub(r"\n{3,}(?=import|from|def|client)", "\n\n\n", "\n".join(lines) + "\n")
    source = re.sub(r"\n{3,}(?=import |from )", "\n\n", source)
    ast.parse(source)
    return ExampleTests(source, about)
