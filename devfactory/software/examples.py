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

The functions' examples are here, with the rendering of the one tests file;
each kind of software adds its own (``software/kinds/``: a command line's
exit statuses, a web service's routes) as an ``ExampleSet``, with the lines
its tests need (``run_cli``, the test client).
"""

from __future__ import annotations

import ast
import builtins
import re
from collections.abc import Iterable
from dataclasses import dataclass

from devfactory.software.requirement import Function, RequirementFacts
from devfactory.software.skeleton import kept_spaces, squeezed

PATH = "tests/test_requirement_examples.py"
_CALL = r"`(?P<call>[A-Za-z_][A-Za-z0-9_]*\([^`]*\))`"
_VALUE = r"`(?P<value>[^`]+)`"
_IS = re.compile(_CALL + r"\s+(?:is|returns|gives|evaluates to|==|->|→)\s+" + _VALUE, re.IGNORECASE)
_RAISES = re.compile(_CALL + r"\s+raises\s+`(?P<error>[A-Za-z_][A-Za-z0-9_]*)`", re.IGNORECASE)
# "<argument> is `<value>`" in a one-argument function's own statement: "(3 is `9`, -2 is `4`)"
_BARE_IS = re.compile(r"(?<![\w`.])(?P<arg>-?\d+|`[^`]+`)\s+is\s+" + _VALUE)


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
    text = kept_spaces(squeezed(sentence))  # an output quoted keeps its spaces
    return text.replace("\\", "\\\\").replace('"""', "'''")[:300]


def function_examples(facts: RequirementFacts) -> list[Example]:
    """Return the tests the requirement's statements about its functions settle, in order."""
    names = {f.name for f in facts.functions}
    one_arg = {f.name: f for f in facts.functions if _arity(f) == 1}
    found: list[Example] = []
    seen: set[str] = set()

    def add(call: str, name: str, sentence: str, body: str) -> None:
        if call not in seen:  # a call is tested once, by its first statement
            seen.add(call)
            found.append(Example(name, sentence, body, name))

    for sentence in facts.sentences:
        for match in _IS.finditer(sentence):
            call = _call_literal(match["call"], names)
            if call is not None and _literal(match["value"]):
                body = f"    assert {call} == {match['value']}\n"
                add(call, call.split("(", 1)[0], sentence, body)
        for match in _RAISES.finditer(sentence):
            call = _call_literal(match["call"], names)
            if call is not None:
                body = f"    with pytest.raises({match['error']}):\n        {call}\n"
                add(call, call.split("(", 1)[0], sentence, body)
    for example in prose_examples(facts, one_arg.values()):
        left = example.body.split("assert ", 1)[1].split(" ==", 1)[0]
        call = left[len("str(") : -1] if left.startswith("str(") else left  # its text compared
        add(call, example.name, example.quote, example.body)
    for function in one_arg.values():  # "(3 is `9`, -2 is `4`)" in its own statement
        name, param = function.name, _annotation(_split_params(function.params)[0])
        for sentence in _own_sentences(facts, function):
            for match in _BARE_IS.finditer(sentence):
                arg = _as_type(match["arg"].strip("`"), param)
                value = _as_type(match["value"], function.returns)
                if arg is not None and value is not None:
                    add(f"{name}({arg})", name, sentence, f"    assert {name}({arg}) == {value}\n")
            for error, args in _raising(sentence):
                for raw in args:
                    arg = _as_type(raw, param)
                    if arg is not None and raw not in (name, error):
                        body = f"    with pytest.raises({error}):\n        {name}({arg})\n"
                        add(f"{name}({arg})", name, sentence, body)
    return found


# A value said in prose: "quoted", a code span, or a run of characters holding a digit
_SAID = r'(?:"[^"\n]{1,60}"|`[^`]+`|(?<![\w`"-])-?[\w+/-]*\d[\w+/-]*(?:\.\d[\w+/-]*)*)'
_SAID_LIST = rf"{_SAID}(?:\s*,\s*{_SAID})*(?:,?\s+(?:and|or)\s+{_SAID})?"
_CLAUSE_END = r"(?=\s*(?:[,.;:)]|$|\s(?:but|and|while|whereas)\b))"
_PREDICATE = re.compile(r"^(?:is|has|can)_([a-z][a-z0-9_]*)$")
_GIVES = re.compile(
    rf"(?P<arg>{_SAID})\s+(?:gives|returns|yields|becomes|is\s+turned\s+into)\s+"
    rf"(?P<value>{_SAID}){_CLAUSE_END}"
)


def prose_examples(facts: RequirementFacts, functions: Iterable[Function]) -> list[Example]:
    """Return the examples a one-argument function's paragraph says in prose, unmarked.

    "For example B-12 and C-7 are berths, but B-0 is not" of ``is_berth`` (a
    predicate named for the word): each value is called and is True or False;
    "So B-12 gives 1012": the call returns that value. A value is quoted, a code span,
    or a run of characters holding a digit, and must end its clause ("are valid
    inputs" says nothing of a value). A value is written as the parameter's or
    the result's type says; where no type is given, a text that is no Python
    literal is a ``str``, an argument that reads as a number is left out (the
    words do not say whether it is the number or its digits), and a result that
    reads as a whole number is compared as the text it is shown as
    (``str(f(x)) == '1012'``).
    """
    found: list[Example] = []
    for function in functions:
        block = next((s for s in function.sentences if _names(s, function.name)), "")
        param = _annotation(_split_params(function.params)[0])
        for sentence in (s for s in facts.sentences if s in block):
            for arg, value in _prose_calls(sentence, function):
                written = _prose_arg(arg, param)
                result = _prose_result(value, function.returns)
                if written is None or result is None:
                    continue
                call = f"{function.name}({written})"
                shown, as_text = result
                body = f"    assert {f'str({call})' if as_text else call} == {shown}\n"
                found.append(Example(function.name, sentence, body, function.name))
    return found


def _names(sentence: str, name: str) -> bool:
    return re.search(rf"(?<!\w){re.escape(name)}(?!\w)", sentence) is not None


def _prose_calls(sentence: str, function: Function) -> list[tuple[str, str]]:
    """Return (argument, result) pairs the sentence says of ``function``, as written."""
    pairs = [(m["arg"], m["value"]) for m in _GIVES.finditer(sentence)]
    predicate = _PREDICATE.match(function.name)
    if predicate and function.returns in ("bool", ""):
        word = re.escape(predicate[1].replace("_", " "))
        # "are valid", "is a berth", "are berths"; "is not", "is not a berth"
        yes = rf"(?:an?\s+)?{word}s?"
        for verdict, tail in (("True", yes), ("False", rf"not(?:\s+{yes})?")):
            said = re.compile(rf"(?P<list>{_SAID_LIST})\s+(?:is|are)\s+{tail}{_CLAUSE_END}")
            for match in said.finditer(sentence):
                pairs += [(v, verdict) for v in re.findall(_SAID, match["list"])]
    return pairs


def _prose_arg(raw: str, annotation: str) -> str | None:
    """Write an argument said in prose as a literal: a text that is no number is a ``str``."""
    text = raw[1:-1] if raw[:1] in '"`' and raw[-1:] == raw[:1] and len(raw) > 1 else raw
    if annotation:
        return _as_type(raw if raw[:1] == '"' else text, annotation)
    if raw[:1] == '"' or not _literal(text):
        return repr(text)
    return None  # "3": the number or its digits, the words do not say


def _prose_result(raw: str, returns: str) -> tuple[str, bool] | None:
    """Write a result said in prose, and whether the call's ``str()`` is compared with it."""
    if raw in ("True", "False"):
        return (raw, False) if returns in ("bool", "") else None
    text = raw[1:-1] if raw[:1] in '"`' and raw[-1:] == raw[:1] and len(raw) > 1 else raw
    if returns:
        written = _as_type(raw if raw[:1] == '"' else text, returns)
        return None if written is None else (written, False)
    if raw[:1] == '"' or not _literal(text):
        return repr(text), False
    if re.fullmatch(r"-?\d+", text):
        return repr(text), True  # "gives 1012": its digits, whatever type holds them
    return None


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

    def showing_behaviour(self) -> set[str]:
        """Return the names of the tests that show behaviour, not only an interface.

        A function's result or a route's reply shows what the code does; a
        command line's ``--help`` or usage error (about ``cli``) passes on code
        that does nothing, so it vouches for no behaviour.
        """
        return {name for name, what in self.about.items() if what != "cli"}


@dataclass(frozen=True)
class ExampleSet:
    """A kind's own example tests, and what their module needs for them.

    The functions' examples are every kind's (``function_examples``); a kind adds
    the tests its interface settles (a command line's exit statuses, a web
    service's routes) and the lines those tests call.
    """

    tests: tuple[Example, ...] = ()
    imports: tuple[str, ...] = ()  # standard-library imports, before pytest's
    setup: tuple[str, ...] = ()  # after the module's own imports: a test client
    helpers: tuple[str, ...] = ()  # the functions the tests call: running the command line


def render(facts: RequirementFacts, own: ExampleSet) -> ExampleTests | None:
    """Render the functions' examples and a kind's as a pytest module (None when none)."""
    found = [*function_examples(facts), *own.tests]
    if not found:
        return None
    names = sorted({e.about for e in found if e.about in {f.name for f in facts.functions}})
    lines = [
        '"""The requirement\'s own examples, made into tests by the factory (each quotes it)."""',
        "",
        "from __future__ import annotations",
        "",
    ]
    lines += own.imports
    lines += ["", "import pytest", ""] if any("pytest." in e.body for e in found) else [""]
    if names:
        lines.append(f"from {facts.module} import {', '.join(names)}")
    errors = sorted({m for e in found for m in re.findall(r"pytest\.raises\((\w+)\)", e.body)})
    own_errors = [e for e in errors if not hasattr(builtins, e) and e in facts.errors]
    if own_errors:
        lines.append(f"from {facts.module} import {', '.join(own_errors)}")
    lines += [*own.setup, *own.helpers]
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
