"""Tests the model writes of a unit's behaviour, checked by code before anything runs them.

Where the requirement's own examples (``software/examples.py``) say nothing of
what a function does, the model is asked, sentence by sentence, for small
tests: the sentence quoted, the arguments as a Python literal tuple, and the
expected result as a literal (or the exception raised). What it writes is a
``ProposedTests`` object, decoded under its JSON schema; or, by default
(``behaviour_test_values``: both embedded models write more right tests so), a
``ProposedValueTests`` object whose arguments and result are JSON values, read
back as literals (``as_literals``), where a list and a tuple compare alike
(JSON has no tuple), a record the code returns (a dataclass's or named
tuple's ``repr``) is compared by its fields (``record_fields``), and an object
or array expected of a function that returns ``str`` is the JSON text the
function returns, compared parsed (``json_text``). ``checked`` keeps
only the tests code can vouch for the form of: the quote is the requirement's
own words, both literals parse, the arguments fit the signature, no example of
the requirement says otherwise, and the caps hold. Whether a test is *right*
is not decided here: candidates and tests judge each other by dual agreement
(``graph/stage/build_loop/agreement.py``), and the tests the chosen code passes become QA's
starting tests (``render``).

Nothing here calls a model or runs code.

Why one module: the forms the model writes in, how they are read back, the checks and
the comparison of outcomes are one contract (a test's values are read as ``passes``
compares them); split, each half would restate the other's forms.
"""

from __future__ import annotations

import ast
import builtins
import copy
import json
import re
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Annotated, NamedTuple

from pydantic import BaseModel, Field, JsonValue, WithJsonSchema

from devfactory.contracts import MAX_ARTIFACT_CHARS, Artifact, ArtifactKind
from devfactory.software.examples import Example
from devfactory.software.plan import BuildPlan
from devfactory.software.skeleton import Skeleton
from devfactory.software.source import syntax_tree

PATH = "tests/test_agreed_behaviour.py"
"""QA's starting tests: the model's tests the chosen code and the examples agree with."""
MIN_QUOTE_WORDS = 3  # a shorter "quote" occurs in any text and proves nothing
SHOWN = 120  # the characters of a dropped test a stage's note shows
_LITERAL_ERRORS = (ValueError, SyntaxError, TypeError, MemoryError, RecursionError)
# any JSON value, its schema spelled out: llama.cpp's converter reads an empty one as an object
AnyValue = Annotated[
    JsonValue,
    WithJsonSchema({"type": ["string", "number", "integer", "boolean", "null", "array", "object"]}),
]


class ProposedTest(BaseModel):
    """One test as the model writes it (the JSON schema it is decoded under)."""

    sentence: str = Field(description="The requirement's sentence this test checks, quoted.")
    arguments: str = Field(description="The call's arguments as a Python literal tuple.")
    expected: str = Field(description="The result as a Python literal; empty when it raises.")
    raises: str = Field(description="The exception's class name when the call raises, else empty.")


class ProposedTests(BaseModel):
    """The model's tests of one unit."""

    tests: list[ProposedTest] = Field(description="Small tests, each of one sentence.")


@dataclass(frozen=True)
class Hints:
    """A function's annotations as written: each positional parameter's, and the return's."""

    params: tuple[str, ...] = ()  # "" where a parameter has none
    returns: str = ""


_NUMBERS: dict[str, tuple[type, ...]] = {"int": (int,), "float": (int, float), "bool": (bool,)}
_CONTAINER_NAMES = frozenset({"list", "tuple", "dict", "set", "sequence", "iterable", "mapping"})
_CONTAINERS = (list, tuple, dict, set)


def _top(annotation: str) -> str:
    """Return the type an annotation names, lower-cased (``int | None``, ``Optional[int]``: int)."""
    named = annotation.strip()
    if named.startswith(("Optional[", "typing.Optional[")) and named.endswith("]"):
        named = named.split("[", 1)[1][:-1]
    kinds = [k.strip() for k in named.split("|")]
    kinds = [k for k in kinds if k != "None"] if "[" not in named else [named]
    top = kinds[0] if len(kinds) == 1 else named  # a union of two types: neither read
    return top.split("[", 1)[0].strip().rsplit(".", 1)[-1].lower()


def coerced(value: object, annotation: str) -> object:
    """Return a JSON value as a parameter annotated ``annotation`` takes it.

    A text is read as a Python literal where the annotation names a number or
    a container, alone or with None (``int | None``), and the text is one
    (``"1994"`` for an ``int``), or, with no annotation, where the text is a
    container literal (``"[(1, 3)]"``): a text meant as text stays. A list is a
    tuple where the annotation says ``tuple``. For ``bytes`` (JSON has none), a text
    is a bytes literal read (``"b'A'"``), or else the text's UTF-8; a list of
    whole numbers from 0 to 255 is those bytes. Anything else is returned as it is.
    """
    top = _top(annotation)
    if top == "bytes":
        return _as_bytes(value)
    if isinstance(value, str) and (top in _NUMBERS or top in _CONTAINER_NAMES or not top):
        ok, read = _literal(value)
        wanted = _NUMBERS.get(top) or _CONTAINERS
        a_bool = isinstance(read, bool) and top != "bool"  # True is an int, never a number here
        if ok and isinstance(read, wanted) and not a_bool:
            value = read
    if isinstance(value, list) and top == "tuple":
        return tuple(value)
    return value


def _as_bytes(value: object) -> object:
    """Return a JSON value given for ``bytes`` as the bytes it stands for (else as it is)."""
    if isinstance(value, str):
        ok, read = _literal(value) if value.startswith(("b'", 'b"')) else (False, None)
        return read if ok and isinstance(read, bytes) else value.encode("utf-8")
    if isinstance(value, list) and all(
        isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 255 for v in value
    ):
        return bytes(value)
    return value


def _function(definition: str, name: str) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
    """Return the first function ``name`` in ``definition`` (None: none, or it does not parse)."""
    tree = syntax_tree(definition)
    nodes = ast.walk(tree) if tree is not None else ()
    kinds = ast.FunctionDef | ast.AsyncFunctionDef
    return next((n for n in nodes if isinstance(n, kinds) and n.name == name), None)


def hints_of(definition: str, name: str) -> Hints:
    """Return the annotations of function ``name`` in ``definition`` (none when it is not there)."""
    node = _function(definition, name)
    if node is None:
        return Hints()
    positional = [*node.args.posonlyargs, *node.args.args]
    params = tuple(ast.unparse(a.annotation) if a.annotation else "" for a in positional)
    return Hints(params, ast.unparse(node.returns) if node.returns else "")


class ProposedValueTest(BaseModel):
    """One test with its arguments and result as JSON values (the ``json`` form)."""

    sentence: str = Field(description="The requirement's sentence this test checks, quoted.")
    arguments: list[AnyValue] = Field(description="The call's arguments, as JSON values.")
    expected: AnyValue = Field(description="The result as a JSON value; null when it raises.")
    raises: str = Field(description="The exception's class name when the call raises, else empty.")

    def as_literals(self, hints: Hints | None = None) -> ProposedTest:
        """Return the test with its values written as Python literals, read as ``hints`` say.

        A model may write a number or a list as text even where a JSON value is
        asked for (``"1994"``, ``"[(1, 3)]"``); ``coerced`` reads such a text back
        where the signature's annotation (or, without one, the text itself: a
        container literal) says what it is.
        """
        hints = hints or Hints()
        arguments = tuple(
            coerced(v, hints.params[n] if n < len(hints.params) else "")
            for n, v in enumerate(self.arguments)
        )
        return ProposedTest(
            sentence=self.sentence,
            arguments=repr(arguments),
            expected="" if self.raises.strip() else repr(coerced(self.expected, hints.returns)),
            raises=self.raises,
        )


class ProposedValueTests(BaseModel):
    """The model's tests of one unit, with JSON values."""

    tests: list[ProposedValueTest] = Field(description="Small tests, each of one sentence.")


@dataclass(frozen=True)
class BehaviourTest:
    """One checked test: ``unit(*arguments)`` gives ``expected`` (or raises ``raises``)."""

    unit: str
    quote: str  # the requirement's words it checks, whitespace-normalised
    arguments: str  # a literal tuple, as ``repr`` writes it
    expected: str = ""  # a literal, as ``repr`` writes it ("" when it raises)
    raises: str = ""  # an exception's class name
    alike: bool = False  # a list and a tuple compare equal (its values were JSON: no tuple)
    json_text: bool = False  # the unit returns this object or array as JSON text (``json_text``)


@dataclass(frozen=True)
class Limits:
    """How many tests one unit keeps: per sentence quoted, and in all."""

    per_sentence: int
    per_unit: int
    value_chars: int = 0  # a value's text this long met the grammar's bound: cut (0: no bound)


@dataclass
class Checked:
    """The tests kept, and why each dropped one was dropped (reason -> count)."""

    tests: list[BehaviourTest] = field(default_factory=list)
    dropped: Counter[str] = field(default_factory=Counter)
    first: dict[str, str] = field(default_factory=dict)  # reason -> the first dropped, shortened
    empty: list[str] = field(default_factory=list)  # why each call that gave no test gave none

    def drop(self, why: str, test: ProposedTest) -> None:
        """Count ``test`` as dropped for ``why``, keeping the first such one to show."""
        self.dropped[why] += 1
        if why not in self.first:
            shown = f"{test.arguments} -> {test.raises or test.expected}"
            self.first[why] = _shortened(shown)

    def note(self, unit: str) -> str:
        """Say what was kept and dropped, the first of each drop shown, for the stage's notes."""
        why = ", ".join(
            f"{n} {reason}" + (f" (first: {self.first[reason]})" if reason in self.first else "")
            for reason, n in sorted(self.dropped.items())
        )
        empty = ""
        if self.empty:
            empty = f"; {len(self.empty)} call(s) gave none (first: {_shortened(self.empty[0])})"
        return (
            f"{unit}: {len(self.tests)} behaviour test(s) from the model"
            + (f"; dropped {sum(self.dropped.values())}: {why}" if why else "")
            + empty
        )


def _shortened(text: str) -> str:
    """Return ``text`` as a note shows it: at most ``SHOWN`` characters, a cut one ends ``...``."""
    return text if len(text) <= SHOWN else text[: SHOWN - 3] + "..."


def normalised(text: str) -> str:
    """Return ``text`` with its whitespace collapsed and Markdown's backticks dropped."""
    return " ".join(text.replace("`", "").split())


_EXCEPTION = re.compile(r"\b([A-Z][A-Za-z]*(?:Error|Exception))\b")

VARIADIC = 1_000  # the most arguments ``arity`` gives a ``*args``: no bound


def arity(definition: str, name: str) -> tuple[int, int] | None:
    """Return how many positional arguments ``name`` in ``definition`` takes (fewest, most).

    None when ``definition`` does not parse or defines no such function; a
    ``*args`` has no upper bound (given as ``VARIADIC``).
    """
    node = _function(definition, name)
    if node is None:
        return None
    positional = [*node.args.posonlyargs, *node.args.args]
    most = VARIADIC if node.args.vararg is not None else len(positional)
    return len(positional) - len(node.args.defaults), most


def _literal(text: str) -> tuple[bool, object]:
    try:
        return True, ast.literal_eval(text.strip())
    except _LITERAL_ERRORS:
        return False, None


def examples_said(examples: Iterable[Example]) -> dict[tuple[str, str], str]:
    """Return what the requirement's examples say of calls: (unit, arguments) -> outcome.

    An outcome is written as ``TrialRunner.behaviour`` gives it: a result's
    ``repr``, or ``!Name`` for a raise. Only examples that call one function on
    literals count (a command line's or a route's say nothing of a call).
    """
    said: dict[tuple[str, str], str] = {}
    for example in examples:
        tree = syntax_tree(example.body.strip())
        for node in ast.walk(tree) if tree is not None else ():
            if isinstance(node, ast.Assert) and isinstance(node.test, ast.Compare):
                compare = node.test
                if len(compare.ops) == 1 and isinstance(compare.ops[0], ast.Eq):
                    _said_call(said, compare.left, ast.unparse(compare.comparators[0]), "")
            elif isinstance(node, ast.With) and isinstance(node.items[0].context_expr, ast.Call):
                raised = node.items[0].context_expr
                if raised.args and isinstance(raised.args[0], ast.Name) and node.body:
                    body = node.body[0]
                    if isinstance(body, ast.Expr):
                        _said_call(said, body.value, "", raised.args[0].id)
    return said


def _said_call(said: dict[tuple[str, str], str], call: ast.expr, value: str, error: str) -> None:
    if not isinstance(call, ast.Call) or not isinstance(call.func, ast.Name) or call.keywords:
        return
    try:
        arguments = tuple(ast.literal_eval(a) for a in call.args)
        outcome = f"!{error}" if error else repr(ast.literal_eval(value))
    except _LITERAL_ERRORS:
        return
    said[(call.func.id, repr(arguments))] = outcome


def checked(
    proposed: Sequence[ProposedTest | ProposedValueTest],
    *,
    unit: str,
    requirement: str,
    takes: tuple[int, int],
    limits: Limits,
    said: dict[tuple[str, str], str] | None = None,
    hints: Hints | None = None,
    raisable: Collection[str] = (),
) -> Checked:
    """Keep the proposed tests of ``unit`` whose form code can vouch for; count the others.

    A test is dropped when its quote (at least ``MIN_QUOTE_WORDS`` words) is not
    in the requirement, whitespace-normalised; when its arguments or expected
    value is no Python literal, or its exception no class name; when the
    arguments do not fit ``takes`` (fewest, most); when it expects an exception
    the words never name though they name some (``raisable``: the requirement's
    and what the tools say of the unit); when an example of the requirement
    (``said``, from ``examples_said``) gives the same call another outcome; when
    it repeats an earlier test's call; or past the caps. A test
    with JSON values is read as literals first, as the unit's ``hints`` say
    (``ProposedValueTest.as_literals``).
    """
    text = normalised(requirement)
    found = Checked()
    per_quote: Counter[str] = Counter()
    seen: set[str] = set()
    for each in proposed:
        if isinstance(each, ProposedValueTest):
            each = _json_read(each, hints)
        test = each.as_literals(hints) if isinstance(each, ProposedValueTest) else each
        quote = normalised(test.sentence).strip(" \"'")
        made, why = _made(test, unit, quote, text, takes)
        if made is not None and limits.value_chars and _cut(each, limits.value_chars):
            made, why = None, f"with a value cut at {limits.value_chars} characters"
        if made is None:
            found.drop(why, test)
            continue
        if made.raises and raisable and made.raises not in raisable:
            found.drop("raising what the requirement never names", test)
            continue
        if isinstance(each, ProposedValueTest):
            made = replace(made, alike=True, json_text=json_text(each, hints))
        outcome = f"!{made.raises}" if made.raises else made.expected
        example = (said or {}).get((unit, made.arguments), outcome)
        if example != outcome and not (made.json_text and passes(example, made)):
            found.drop("contradicting an example", test)
        elif made.arguments in seen:
            found.dropped["repeating a call"] += 1
        elif per_quote[quote] >= limits.per_sentence or len(found.tests) >= limits.per_unit:
            found.dropped["over the cap"] += 1
        else:
            seen.add(made.arguments)
            per_quote[quote] += 1
            found.tests.append(made)
    return found


def _cut(test: ProposedTest | ProposedValueTest, chars: int) -> bool:
    """Say whether a text of ``test`` is ``chars`` long: the grammar's bound stopped it."""
    if isinstance(test, ProposedTest):
        texts = [test.arguments, test.expected]
    else:
        texts = [v for v in (*test.arguments, test.expected) if isinstance(v, str)]
    return any(len(t) >= chars for t in texts)


def raisable(*texts: str) -> frozenset[str]:
    """Return the exception classes ``texts`` name (``ValueError``): what a test may expect raised.

    Given the requirement and what the tools say of a unit (a filter's transform
    refuses with ``ValueError``), a test expecting another class asks what the
    words never settle (``TypeError`` of a call the requirement says nothing
    against). Empty when they name none: then no class is refused.
    """
    return frozenset(m[1] for text in texts for m in _EXCEPTION.finditer(text))


def _made(
    test: ProposedTest, unit: str, quote: str, text: str, takes: tuple[int, int]
) -> tuple[BehaviourTest | None, str]:
    """Return the checked test, or None and why it was dropped."""
    if len(quote.split()) < MIN_QUOTE_WORDS or quote not in text:
        return None, "quoting no sentence of the requirement"
    ok, arguments = _literal(test.arguments)
    if not ok:
        return None, "with arguments that are no literal"
    values = arguments if isinstance(arguments, tuple) else (arguments,)
    if not takes[0] <= len(values) <= takes[1]:
        return None, "with the wrong number of arguments"
    raises = test.raises.strip()
    if raises:
        if not raises.isidentifier():
            return None, "raising no class name"
        return BehaviourTest(unit, quote, repr(values), raises=raises), ""
    ok, expected = _literal(test.expected)
    if not ok:
        return None, "expecting no literal"
    return BehaviourTest(unit, quote, repr(values), repr(expected)), ""


def json_text(test: ProposedValueTest, hints: Hints | None) -> bool:
    """Say whether ``test`` expects JSON text: an object or array of a function returning ``str``.

    Asked for the result as a JSON value, a model gives the object a function
    writes as JSON (a summary printed as one JSON object), not the text of it:
    read as an object, the test could never pass, as no text equals one.
    """
    returns = _top(hints.returns) if hints else ""
    return returns == "str" and not test.raises.strip() and isinstance(test.expected, dict | list)


def _json_read(test: ProposedValueTest, hints: Hints | None) -> ProposedValueTest:
    """Return ``test`` expecting the object or array its expected JSON text holds, if it does.

    A function returning ``str`` whose result is JSON text (an array written
    indented) may be given its result as that text, spaced as the model chose
    (``'[{"a": 1}]'``): compared as text, no spacing but the model's passes.
    Read as the value it holds, it is compared parsed (``json_text``).
    """
    text = test.expected
    if not isinstance(text, str) or _top(hints.returns if hints else "") != "str":
        return test
    if not text.strip().startswith(("[", "{")):
        return test
    try:
        value = json.loads(text)
    except ValueError:
        return test
    return test.model_copy(update={"expected": value}) if isinstance(value, dict | list) else test


def _parsed_json(outcome: str) -> tuple[bool, object]:
    """Return the value of the JSON text a call returned (its ``repr``); (False, None) for other."""
    ok, got = _literal(outcome)
    if not ok or not isinstance(got, str):
        return False, None
    try:
        return True, json.loads(got)
    except ValueError:
        return False, None


def passes(outcome: str, test: BehaviourTest, written: Callable[[str], str] | None = None) -> bool:
    """Say whether a call's ``outcome`` (a ``repr`` or ``!Name``) is what ``test`` expects.

    Results are compared as values (both sides read back as literals where they
    can be); ``written`` compares them as the program writes them instead (a
    filter adds a final newline to its transform's result). JSON text
    (``json_text``) is compared parsed, however it is spaced.
    """
    if test.raises:
        return outcome == f"!{test.raises}"
    if not outcome or outcome.startswith("!"):
        return False
    if test.json_text:
        ok, got = _parsed_json(outcome)
        return ok and _lists(got) == _lists(_literal(test.expected)[1])
    if written is not None:
        return written(outcome) == written(test.expected)
    ok, got = _literal(outcome)
    if not ok:
        return outcome == test.expected or _record_passes(outcome, test.expected)
    expected = _literal(test.expected)[1]
    return got == expected or (test.alike and _lists(got) == _lists(expected))


class _Fields(ast.NodeTransformer):
    """Rewrite each record's repr (``Version(major=1, prerelease=())``) as its fields.

    A dataclass's or a named tuple's ``repr`` is its class called with every
    field by keyword; read ``by_name`` it becomes a dict, else the list of its
    values in order. Anything else that is no literal is left for
    ``literal_eval`` to refuse.
    """

    def __init__(self, *, by_name: bool) -> None:
        self.by_name = by_name

    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        named = [k for k in node.keywords if k.arg is not None]
        if not isinstance(node.func, ast.Name) or node.args or len(named) != len(node.keywords):
            return node
        values = [k.value for k in named]
        if self.by_name:
            return ast.Dict(keys=[ast.Constant(k.arg) for k in named], values=values)
        return ast.List(elts=values, ctx=ast.Load())


class Record(NamedTuple):
    """A record's ``repr`` read: its class's name, its fields by name and in order."""

    name: str
    by_name: dict[str, object]
    in_order: list[object]


def record_fields(text: str) -> Record | None:
    """Return a record read from its ``repr``; None for other text.

    ``Version(major=1, minor=2, patch=3, prerelease=('rc',))`` gives the name
    ``Version``, ``{'major': 1, ..., 'prerelease': ('rc',)}`` and
    ``[1, 2, 3, ('rc',)]``; records inside it (or inside a list) are read the
    same way.
    """
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except _LITERAL_ERRORS:
        return None
    if not isinstance(tree.body, ast.Call) or not isinstance(tree.body.func, ast.Name):
        return None
    name = tree.body.func.id
    try:
        by_name = ast.literal_eval(_Fields(by_name=True).visit(copy.deepcopy(tree)).body)
        in_order = ast.literal_eval(_Fields(by_name=False).visit(tree).body)
    except _LITERAL_ERRORS:
        return None
    return Record(name, by_name, in_order)


def _record_passes(outcome: str, expected_text: str) -> bool:
    """Say whether a record the code returned is what a test expects.

    The test may give its fields as a dict (by name), as a list (in order), or
    write the record's call as text (``"Version(1, 2, 3, ())"``: positional
    arguments in the fields' order, keywords by name); tuples and lists compare
    alike, as JSON has no tuple.
    """
    record = record_fields(outcome)
    ok, expected = _literal(expected_text)
    if record is None or not ok:
        return False
    if isinstance(expected, str):
        return _same_record(record, expected)
    return _lists(expected) in (_lists(record.by_name), _lists(record.in_order))


def _same_record(record: Record, written: str) -> bool:
    """Say whether ``written``, a call of the record's class, gives the same fields."""
    try:
        call = ast.parse(written.strip(), mode="eval").body
    except _LITERAL_ERRORS:
        return False
    if not isinstance(call, ast.Call) or not isinstance(call.func, ast.Name):
        return False
    if call.func.id != record.name:
        return False
    keywords = [k for k in call.keywords if k.arg is not None]
    names = list(record.by_name)
    if len(call.args) + len(keywords) != len(names) or len(keywords) != len(call.keywords):
        return False
    given = dict(zip(names, call.args, strict=False)) | {k.arg: k.value for k in keywords}
    if set(given) != set(names):
        return False
    fields = _Fields(by_name=True)
    try:
        values = {k: ast.literal_eval(fields.visit(copy.deepcopy(v))) for k, v in given.items()}
    except _LITERAL_ERRORS:
        return False
    return _lists(values) == _lists(record.by_name)


def _lists(value: object) -> object:
    """Return ``value`` with every tuple a list, inside lists and dicts too."""
    if isinstance(value, tuple | list):
        return [_lists(v) for v in value]
    if isinstance(value, dict):
        return {k: _lists(v) for k, v in value.items()}
    return value


def as_passed(outcome: str, test: BehaviourTest) -> BehaviourTest:
    """Return ``test`` as code that passed it gives: a list read as a tuple where it returned one.

    A test whose values came as JSON may expect a list where the code returns a
    tuple; written out as a pytest assert it must hold as plain values.
    """
    if test.raises or test.json_text:  # JSON text is asserted parsed (``render``)
        return test
    if not _literal(outcome)[0]:  # a record: the test asserts the record the code gave
        return replace(test, expected=outcome, alike=False) if record_fields(outcome) else test
    return replace(test, expected=outcome, alike=False) if test.alike else test


def matrix(
    outcomes: Sequence[Sequence[str]],
    tests: Sequence[BehaviourTest],
    written: Callable[[str], str] | None = None,
) -> list[tuple[bool, ...]]:
    """Return, per candidate, which tests its outcomes pass (none when it could not run)."""
    return [
        tuple(passes(o, t, written) for o, t in zip(found, tests, strict=True))
        if len(found) == len(tests)
        else (False,) * len(tests)
        for found in outcomes
    ]


def render(tests: Sequence[BehaviourTest], module: str, source: str) -> str | None:
    """Render ``tests`` as a pytest module importing ``module`` (None when there are none).

    Each test is one ``assert`` (or ``pytest.raises``) with its quoted sentence as
    a comment; JSON text is asserted as the value ``json.loads`` reads. An
    exception that is no builtin is imported from the module, and a test raising
    one the module (``source``) does not define is left out.
    """
    own = _defined(source)
    kept = [
        t
        for t in tests
        if (not t.raises or hasattr(builtins, t.raises) or t.raises in own)
        and _called(t.expected) <= own
    ]
    if not kept:
        return None
    records = set().union(*(_called(t.expected) for t in kept))
    names = sorted({t.unit for t in kept} | {t.raises for t in kept if t.raises in own} | records)
    lines = [
        '"""Tests the model wrote from the requirement\'s sentences, that the chosen code passes.',
        "",
        "Each quotes the sentence it checks; no example of the requirement contradicts one.",
        '"""',
        "",
        "from __future__ import annotations",
        "",
    ]
    modules = [m for m, used in (("json", any(t.json_text for t in kept)),
                                 ("pytest", any(t.raises for t in kept))) if used]  # fmt: skip
    lines += [*(f"import {m}" for m in modules), ""] if modules else []
    lines.append(f"from {module} import {', '.join(names)}")
    taken: Counter[str] = Counter()
    for test in kept:
        taken[test.unit] += 1
        call = f"{test.unit}({_listed(test.arguments)})"
        lines += ["", "", f"def test_{test.unit}_{taken[test.unit]}() -> None:"]
        lines.append(f"    # {_comment(test.quote)}")
        if test.raises:
            lines += [f"    with pytest.raises({test.raises}):", f"        {call}"]
        else:
            got = f"json.loads({call})" if test.json_text else call
            lines.append(f"    assert {got} == {test.expected}")
    source_text = "\n".join(lines) + "\n"
    ast.parse(source_text)
    return source_text


def _listed(arguments: str) -> str:
    """Write a literal tuple's items as a call's arguments."""
    values = ast.literal_eval(arguments)
    return ", ".join(repr(v) for v in values)


def _called(expected: str) -> set[str]:
    """Return the classes an expected record calls (``Version(major=1)``: Version).

    None for a literal.
    """
    if not expected or _literal(expected)[0]:
        return set()
    try:
        tree = ast.parse(expected, mode="eval")
    except _LITERAL_ERRORS:
        return set()
    calls = (n for n in ast.walk(tree) if isinstance(n, ast.Call))
    return {n.func.id for n in calls if isinstance(n.func, ast.Name)}


def _comment(quote: str) -> str:
    return re.sub(r"\s+", " ", quote)[:200]


def _defined(source: str) -> set[str]:
    tree = syntax_tree(source)
    return {n.name for n in tree.body if isinstance(n, ast.ClassDef)} if tree is not None else set()


def agreed_file(
    plan: BuildPlan | None, made: Skeleton, source: str, tests: list[BehaviourTest]
) -> list[Artifact]:
    """Return QA's starting tests, when the plan has their file: the model's the code passes.

    A file past the characters an artifact may hold loses its longest tests
    until it fits (a result is kept up to 2,000 characters, and units add up).
    """
    if plan is None or not any(f.path == PATH for f in plan.files):
        return []
    module = made.path.removesuffix(".py").replace("/", ".")
    kept = list(tests)
    content = render(kept, module, source)
    while content is not None and len(content) > MAX_ARTIFACT_CHARS:
        kept.remove(max(kept, key=lambda t: len(t.arguments) + len(t.expected)))
        content = render(kept, module, source)
    if content is None:
        return []
    return [Artifact(path=PATH, kind=ArtifactKind.PYTHON, content=content)]
