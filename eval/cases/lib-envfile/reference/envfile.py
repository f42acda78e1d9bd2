"""Read ``.env``-style settings files into a dict of strings."""

from __future__ import annotations

import re

KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
ESCAPES = {"n": "\n", '"': '"', "\\": "\\"}


class EnvSyntaxError(ValueError):
    """A line of the settings text cannot be read; ``line`` is its 1-based number."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line


def _expand(value: str, known: dict[str, str]) -> str:
    return REFERENCE.sub(lambda m: known.get(m.group(1), ""), value)


def _rest_is_comment(rest: str) -> bool:
    rest = rest.lstrip(" \t")
    return not rest or rest.startswith("#")


def _double_quoted(raw: str, number: int) -> tuple[str, str]:
    """Return the unescaped text inside the double quotes starting ``raw``, and the rest."""
    out = []
    index = 1
    while index < len(raw):
        char = raw[index]
        if char == "\\" and index + 1 < len(raw) and raw[index + 1] in ESCAPES:
            out.append(ESCAPES[raw[index + 1]])
            index += 2
            continue
        if char == '"':
            return "".join(out), raw[index + 1 :]
        out.append(char)
        index += 1
    raise EnvSyntaxError("missing closing quote", number)


def _value(raw: str, number: int, known: dict[str, str]) -> str:
    if raw.startswith("'"):
        end = raw.find("'", 1)
        if end < 0:
            raise EnvSyntaxError("missing closing quote", number)
        value, rest = raw[1:end], raw[end + 1 :]
    elif raw.startswith('"'):
        value, rest = _double_quoted(raw, number)
        value = _expand(value, known)
    else:
        comment = re.search(r"[ \t]#", raw)
        if comment:
            raw = raw[: comment.start()]
        return _expand(raw.rstrip(" \t"), known)
    if not _rest_is_comment(rest):
        raise EnvSyntaxError("only a comment may follow the closing quote", number)
    return value


def parse(text: str) -> dict[str, str]:
    """Return the settings in ``text``, one ``KEY=VALUE`` per line."""
    found: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.startswith("export ") or stripped.startswith("export\t"):
            stripped = stripped[len("export") :].lstrip()
        if "=" not in stripped:
            raise EnvSyntaxError("expected KEY=VALUE", number)
        key, raw = stripped.split("=", 1)
        key = key.strip()
        if not KEY.fullmatch(key):
            raise EnvSyntaxError(f"invalid key {key!r}", number)
        found[key] = _value(raw.strip(), number, found)
    return found


def load(path: str) -> dict[str, str]:
    """Return the settings in the UTF-8 file at ``path``."""
    with open(path, encoding="utf-8") as handle:
        return parse(handle.read())
