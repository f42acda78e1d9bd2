"""Inputs to tell candidate bodies apart by what they do, when no example settles it.

Where the requirement gives a function no example, its candidates can still be
compared: each is called on the same inputs, and each scores how often the
others gave its outcome. Wrong bodies tend to be wrong in different ways while
right ones agree, so the most agreed on is the best bet (AlphaCode's selection
by behaviour). The inputs are made from the function's
type annotations and the literals its requirement writes, deterministically:
the same function always gets the same inputs.
"""

from __future__ import annotations

import ast
import random
import re
from collections.abc import Sequence

from devfactory.software.requirement import Function, Option

MAX_DEPTH = 3
_INTS = (0, 1, 2, 3, 5, 7, 10, -1, 42, 100)
_STRS = ("", "a", "Hello World", "abc def", "x-y_z", "Don't stop", "  spaced  ", "ABC123")


def _literals(sentences: Sequence[str]) -> tuple[list[int], list[str]]:
    """Return the ints and strings the requirement writes about the function."""
    ints: list[int] = []
    strs: list[str] = []
    for code in re.findall(r"`([^`]+)`", " ".join(sentences)):
        try:
            value = ast.literal_eval(code)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            if re.fullmatch(r"[^\s'\"]{1,30}", code) and not code.startswith(("-", "/")):
                strs.append(code)
            continue
        if isinstance(value, bool):
            continue
        if isinstance(value, int) and abs(value) < 10**6:
            ints.append(value)
        elif isinstance(value, str) and len(value) <= 40:
            strs.append(value)
    for number in re.findall(r"(?<![\w.])-?\d{1,6}(?![\w.])", " ".join(sentences)):
        ints.append(int(number))
    return list(dict.fromkeys(ints)), list(dict.fromkeys(strs))


class _Maker:
    """Draw values of an annotation, deterministically."""

    def __init__(self, seed: int, ints: list[int], strs: list[str]) -> None:
        self.rng = random.Random(seed)
        self.ints = [*_INTS, *ints]
        self.strs = [*_STRS, *strs]

    def value(self, node: ast.expr, depth: int = 0) -> object:
        if depth > MAX_DEPTH:
            raise ValueError("too deep")
        if isinstance(node, ast.Name):
            return self._named(node.id)
        if isinstance(node, ast.Constant) and node.value is None:
            return None
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):  # A | None
            return self.value(node.left if not _is_none(node.left) else node.right, depth + 1)
        if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name):
            outer = node.value.id
            inner = node.slice
            if outer in ("list", "List", "Sequence", "Iterable", "set", "frozenset"):
                items = [self.value(inner, depth + 1) for _ in range(self.rng.randint(0, 4))]
                return items if outer in ("list", "List", "Sequence", "Iterable") else set(items)
            if outer in ("tuple", "Tuple"):
                parts = inner.elts if isinstance(inner, ast.Tuple) else [inner]
                if len(parts) == 2 and isinstance(parts[1], ast.Constant) and parts[1].value is ...:
                    count = self.rng.randint(0, 3)
                    return tuple(self.value(parts[0], depth + 1) for _ in range(count))
                return tuple(self.value(p, depth + 1) for p in parts)
            if outer in ("dict", "Dict", "Mapping") and isinstance(inner, ast.Tuple):
                key, val = inner.elts
                return {
                    self.value(key, depth + 1): self.value(val, depth + 1)
                    for _ in range(self.rng.randint(0, 3))
                }
            if outer == "Optional":
                return self.value(inner, depth + 1)
        raise ValueError(f"no values for {ast.unparse(node)}")

    def _named(self, name: str) -> object:
        if name == "int":
            return self.rng.choice(self.ints)
        if name == "float":
            return self.rng.choice([0.0, 0.5, 1.0, -2.25, 3.75, 100.0])
        if name == "str":
            return self.rng.choice(self.strs)
        if name == "bool":
            return self.rng.random() < 0.5
        raise ValueError(f"no values for {name}")


def _is_none(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and node.value is None


def _params(function: Function) -> list[ast.arg] | None:
    try:
        tree = ast.parse(f"{function.signature}: pass")
    except SyntaxError:
        return None
    definition = tree.body[0]
    assert isinstance(definition, ast.FunctionDef)
    return definition.args.posonlyargs + definition.args.args


def inputs(function: Function, count: int = 10) -> list[str]:
    """Return up to ``count`` argument tuples for ``function``, as Python literals.

    Every parameter without a default needs an annotation this module can draw
    values of (ints, floats, strings, bools, and lists, tuples, sets and dicts of
    them); otherwise there are no inputs and behaviour cannot be compared.
    """
    params = _params(function)
    if params is None:
        return []
    ints, strs = _literals(function.sentences)
    maker = _Maker(sum(map(ord, function.name)), ints, strs)
    defaults = len((ast.parse(f"{function.signature}: pass").body[0]).args.defaults)  # type: ignore[attr-defined]
    required = params[: len(params) - defaults] if defaults else params
    if any(p.annotation is None for p in required):
        return []
    found: list[str] = []
    for _ in range(count * 4):
        try:
            values = tuple(maker.value(p.annotation) for p in required)  # type: ignore[arg-type]
        except ValueError:
            return []
        text = repr(values)
        if text not in found and len(text) <= 400:
            found.append(text)
        if len(found) == count:
            break
    return found


def agreement(behaviours: Sequence[tuple[str, ...]]) -> list[int]:
    """Return, for each candidate, how often another gave the same outcome on the same input.

    Summed over the inputs and the other candidates (selection by execution
    agreement, as MBR-exec and AlphaCode do): bodies alike on every input score
    highest, and one right on most inputs beats one right on few. A raise or a
    timeout (``!...``) agrees with nothing; a candidate that could not run scores 0.
    """
    scores: list[int] = []
    for i, mine in enumerate(behaviours):
        score = 0
        for j, theirs in enumerate(behaviours):
            if i != j and len(theirs) == len(mine):
                pairs = zip(mine, theirs, strict=True)
                score += sum(a == b and not a.startswith("!") for a, b in pairs)
        scores.append(score)
    return scores


def stream_inputs(options: Sequence[Option], samples: Sequence[str], count: int = 12) -> list[str]:
    """Return argument tuples for a filter's ``transform(text, *options)``, as Python literals.

    Each sample text is given with the options at their defaults (a required
    option at its first listed value), then with one option changed at a time:
    a switch on, a number set to 2, another listed value.
    """
    base: list[object] = []
    for option in options:
        if option.metavar is None:
            base.append(False)
        else:
            base.append(option.choices[0] if option.required and option.choices else None)
    variants = [list(base)]
    for n, option in enumerate(options):
        values: list[object] = []
        if option.metavar is None:
            values = [True]
        elif option.integer:
            values = [2]
        else:
            values = [c for c in option.choices if c != base[n]]
        for value in values:
            variants.append([*base[:n], value, *base[n + 1 :]])
    found: list[str] = []
    for text in samples:
        for variant in variants:
            literal = repr((text, *variant))
            if literal not in found:
                found.append(literal)
    return found[:count]
