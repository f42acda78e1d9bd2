"""Read what a requirement states exactly: names, signatures, usage lines, routes, exit codes.

Tools before models: whatever a requirement writes precisely (a module named in
backticks, a signature ``f(x: int) -> str``, a usage line ``python -m tool FILE
[--json]``, ``POST /items`` with its status codes, "exit status 2: bad usage") is
read here, by a parser, into ``RequirementFacts``. The build plan, the skeletons
and the example tests are made from the facts; a model is asked only for what
they leave open. Each fact keeps the sentences it came from, so a skeleton's
docstring and a test can quote them. Which kind of software the facts ask for
is the registry's to say (``software/kinds/``), not the parser's.

Nothing here knows an evaluation case; every rule is about how requirements are
written (backticks around code, bullets per behaviour, "returns", "raises",
"exit codes").

The text is read as Markdown by a real parser (markdown-it-py, CommonMark):
paragraphs and list items are blocks, code spans and fenced code are code,
headings are titles, never statements.

Why one module: every rule reads the same blocks and sentences and fills the
same RequirementFacts; the rules for functions, usage lines and routes share the backtick
and sentence readers, and a rule's order against the others matters.
"""

from __future__ import annotations

import functools
import keyword
import re
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass, field

from markdown_it import MarkdownIt

_IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
_CODE = re.compile(r"`([^`]+)`")
_MODULE = re.compile(
    rf"\b(?:module|package)\s+(?:named\s+|called\s+)?`({_IDENT})`|`({_IDENT})`\s+(?:module|package)\b"
)
_RUN = re.compile(rf"^python3?\s+-m\s+({_IDENT})(?:\s+(.*))?$")
_SIGNATURE = re.compile(rf"^({_IDENT})\((.*)\)\s*(?:->\s*(.+?))?\s*$")
_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
_ROUTE = re.compile(r"^(GET|POST|PUT|PATCH|DELETE)\s+(/[A-Za-z0-9_{}/.:-]*)(\?\S*)?$")
_STATUS = re.compile(
    r"(?<![\d.\w])([1-5]\d\d)(?![\d\w%]|\.\d"
    r"|\s+(?:characters|chars|bytes|items|seconds|words|lines|digits|times|entries)\b)"
)
_EXIT = re.compile(
    r"\bexit(?:s|ing)?(?:\s+(?:code|status))?(?:\s+with)?\s+(\d)\b"
    r"|(?:^|[;:,]\s*)(\d)\s+(?:on|when|if|for)\b",
    re.I,
)
_APP = re.compile(rf"\bapp(?:lication)?\s+object\s+named\s+`({_IDENT})`|`({_IDENT})`\s+app\b")
_RAISES = re.compile(rf"\braises?\s+`?({_IDENT}(?:Error|Exception))`?")
_FRAMEWORKS = {"fastapi": ("fastapi", "httpx"), "flask": ("flask",)}
_NUMBER_NAMES = frozenset({"N", "K", "M", "NUM", "NUMBER", "INT", "INTEGER", "COUNT", "WIDTH",
                           "DIGITS", "SIZE", "LIMIT", "DEPTH", "LINES", "SECONDS", "DAYS",
                           "PORT"})  # fmt: skip
_FILE_NAME = re.compile(r"FILE|INPUT|PATH|CSV|LOG|JSON|TXT|TEXT|SOURCE|SRC|DATA", re.I)
_STDLIB_ONLY = re.compile(r"standard library only|stdlib only|only the standard library", re.I)


def names_a_number(placeholder: str) -> bool:
    """Say whether a placeholder in capitals stands for a whole number by convention.

    ``N``, ``COUNT``, ``LIMIT``: an option's value (``--top N``) or a query's
    (``?limit=N``); another capital (``?tag=T``, ``NAME``) stands for text.
    """
    return placeholder in _NUMBER_NAMES


@dataclass(frozen=True)
class Function:
    """A public function the requirement names with its signature."""

    name: str
    params: str  # as written: "text: str, width: int = 80"
    returns: str  # "" when the requirement gives no return type
    sentences: tuple[str, ...]  # the requirement's text about it

    @property
    def signature(self) -> str:
        """Return the ``def`` line without its colon."""
        tail = f" -> {self.returns}" if self.returns else ""
        return f"def {self.name}({self.params}){tail}"


@dataclass(frozen=True)
class Option:
    """An option of a usage line: its flags, its value's name (None for a switch)."""

    flags: tuple[str, ...]  # ("-o", "--output") or ("--json",)
    metavar: str | None
    required: bool
    sentences: tuple[str, ...] = ()

    @property
    def dest(self) -> str:
        """Return the attribute argparse stores it under."""
        long = next((f for f in self.flags if f.startswith("--")), self.flags[0])
        return long.lstrip("-").replace("-", "_")

    def _after_mentions(self) -> list[str]:
        """Return, for each mention of the option (its flag, its value's name), what follows it."""
        names = [re.escape(f) for f in self.flags]
        if self.metavar:
            names.append(re.escape(self.metavar))
        alternatives = "|".join(names)
        mention = re.compile(rf"(?<![\w-])(?:{alternatives})\b(?:\s+[A-Z][A-Z0-9_]*)?`?")
        return [s[m.end() :] for s in self.sentences for m in mention.finditer(s)]

    @property
    def integer(self) -> bool:
        """Say whether its value is a count: by its name, or "an integer" said of it.

        Only what a sentence says right after naming the option counts (``N a
        positive integer``), not an integer the same sentence says of something else.
        """
        if self.metavar is None:
            return False
        if names_a_number(self.metavar.upper()):
            return True
        said = re.compile(r"^[^.;]{0,60}?\ban? (?:positive |non-negative )?integer\b", re.I)
        return any(said.search(rest) for rest in self._after_mentions())

    @property
    def choices(self) -> tuple[str, ...]:
        """Return the values the requirement lists for it (`--by` is `a`, `b` or `c`), if any."""
        if self.metavar is None:
            return ()
        listed = re.compile(
            r"^\s*(?:is|must be|:)\s+(?:one of\s+)?((?:`[\w.-]+`,?\s+)+(?:or|and)\s+`[\w.-]+`)"
        )
        for rest in self._after_mentions():
            found = listed.search(rest)
            if found:
                return tuple(re.findall(r"`([\w.-]+)`", found.group(1)))
        return ()


@dataclass(frozen=True)
class Positional:
    """A positional argument: its name, and whether it repeats or may be left out."""

    name: str
    many: bool = False  # FILE...
    optional: bool = False  # [FILE]

    @property
    def dest(self) -> str:
        """Return the attribute argparse stores it under (``FILE...`` as ``files``)."""
        dest = self.name.lower()
        dest = dest if dest.isidentifier() and not keyword.iskeyword(dest) else f"{dest}_"
        return dest if not self.many or dest.endswith("s") else f"{dest}s"

    @property
    def file(self) -> bool:
        """Say whether its name says it is a file: ``FILE``, ``INPUT``, ``LOGFILE``, ``DATA``."""
        return bool(_FILE_NAME.search(self.name))


@dataclass(frozen=True)
class UsageLine:
    """One ``python -m module ...`` line: its subcommand, positionals and options."""

    module: str
    line: str
    command: str = ""  # a literal subcommand ("to-metres"), "" when there is none
    positionals: tuple[Positional, ...] = ()
    options: tuple[Option, ...] = ()


@dataclass(frozen=True)
class Route:
    """An HTTP route: method, path, the status codes its sentences give."""

    method: str
    path: str
    statuses: tuple[int, ...]
    sentences: tuple[str, ...]

    @property
    def success(self) -> int:
        """Return the status of success: the first 2xx/3xx the sentences give, else 200."""
        return next((s for s in self.statuses if s < 400), 200)


@dataclass(frozen=True)
class ExitCode:
    """An exit status and what the requirement says it means."""

    code: int
    meaning: str


@dataclass(frozen=True)
class RequirementFacts:
    """What a requirement states exactly."""

    module: str = ""
    functions: tuple[Function, ...] = ()
    usages: tuple[UsageLine, ...] = ()
    routes: tuple[Route, ...] = ()
    exit_codes: tuple[ExitCode, ...] = ()
    app: str = ""  # the web app object's name
    framework: str = ""  # "fastapi", "flask" or ""
    errors: tuple[str, ...] = ()  # exception names the requirement says are raised
    stdlib_only: bool = False
    sentences: tuple[str, ...] = field(default=(), repr=False)

    @property
    def dependencies(self) -> tuple[str, ...]:
        """Return the third-party packages the requirement names (a framework and its client)."""
        return _FRAMEWORKS.get(self.framework, ()) if not self.stdlib_only else ()

    @property
    def options(self) -> tuple[Option, ...]:
        """Return every option of every usage line, once by flags."""
        seen: dict[tuple[str, ...], Option] = {}
        for usage in self.usages:
            for option in usage.options:
                seen.setdefault(option.flags, option)
        return tuple(seen.values())

    @property
    def commands(self) -> tuple[str, ...]:
        """Return the literal subcommands of the usage lines, in order."""
        return tuple(dict.fromkeys(u.command for u in self.usages if u.command))


# --- sentences -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Markdown:
    """A requirement read as Markdown: its blocks of prose and its code, each as such."""

    blocks: tuple[str, ...]  # each paragraph, list item's paragraph and fenced code, lines joined
    codes: tuple[str, ...]  # each code span (headings' too), each line of fenced code


_MARKDOWN = MarkdownIt("commonmark").disable("code")  # an indented line is prose, not code
_PROMPT = re.compile(r"^\$\s+")  # a shell prompt before a command in fenced code


@functools.lru_cache(maxsize=64)
def markdown(text: str) -> Markdown:
    """Read ``text`` with a Markdown parser (CommonMark): blocks, code spans and fenced code.

    Indented code is off: a requirement's indented lines are wrapped prose far
    more often than code, which people fence. Headings give no block (a title is
    no statement), but their code spans count. Fenced code is a block of its own,
    fences kept (an example input is what the requirement says too, and its
    sentences are never cut), and each of its lines is code (a ``$`` prompt
    dropped). Whitespace inside a code span is collapsed (a span may wrap lines,
    never a paragraph: the parser's rule).
    """
    found: list[str] = []
    codes: list[str] = []
    heading = False
    for token in _MARKDOWN.parse(textwrap.dedent(text)):
        if token.type in ("heading_open", "heading_close"):
            heading = token.type == "heading_open"
        elif token.type == "inline":
            spans = (c.content for c in token.children or () if c.type == "code_inline")
            codes += [" ".join(c.split()) for c in spans]
            if not heading:
                found.append(_joined(token.content))
        elif token.type == "html_block":
            found.append(_joined(token.content))
        elif token.type == "fence":
            lines = (line.strip() for line in token.content.splitlines())
            codes += [_PROMPT.sub("", line) for line in lines if line]
            found.append(_joined(f"{token.markup}{token.info}\n{token.content}{token.markup}"))
    return Markdown(tuple(found), tuple(codes))


def _joined(content: str) -> str:
    return " ".join(line.strip() for line in content.splitlines() if line.strip())


def blocks(text: str) -> list[str]:
    """Split a requirement into blocks: each bullet or numbered item, each paragraph.

    Wrapped lines are joined; headings are dropped. A bullet is what a
    requirement says about one thing (a function, a route, an option).
    """
    return list(markdown(text).blocks)


def sentences(text: str) -> list[str]:
    """Split a requirement into sentences (cut at sentence ends outside backticks)."""
    found: list[str] = []
    for block in blocks(text):
        fenced = block[:3] in ("```", "~~~") and block.endswith(block[:3])
        found.extend([block] if fenced else _split_outside_code(block))
    return [s for s in (s.strip() for s in found) if s]


def _split_outside_code(block: str) -> Iterator[str]:
    start, inside = 0, False
    for i, char in enumerate(block):
        if char == "`":
            inside = not inside
        elif not inside and char in ".;" and block[i + 1 : i + 2] in (" ", ""):
            if char == "." and re.search(r"\b(e\.g|i\.e|etc|vs)$", block[start:i]):
                continue
            if char == ";":
                continue  # a ';' joins parts of one statement ("0 on success; 1 when ...")
            yield block[start : i + 1]
            start = i + 1
    yield block[start:]


def _about(statements: list[str], needle: str) -> tuple[str, ...]:
    return tuple(s for s in statements if needle in s)


# --- the parts -------------------------------------------------------------------------------


def _codes(text: str) -> list[str]:
    """Return the code of ``text``: its code spans and the lines of its fenced code."""
    return list(markdown(text).codes)


def _module(text: str) -> str:
    for code in _codes(text):
        run = _RUN.match(code.strip())
        if run:
            return run.group(1)
    found = _MODULE.search(text)
    return (found.group(1) or found.group(2)) if found else ""


def _balanced(params: str) -> bool:
    depth = 0
    for char in params:
        depth += (char in "([{") - (char in ")]}")
        if depth < 0:
            return False
    return depth == 0


def _functions(text: str, statements: list[str], module: str) -> tuple[Function, ...]:
    """Find the signatures written in backticks; ``statements`` are the requirement's blocks."""
    found: dict[str, Function] = {}
    for code in _codes(text):
        match = _SIGNATURE.match(code.strip())
        if match is None:
            continue
        name, params, returns = match.group(1), match.group(2).strip(), (match.group(3) or "")
        if name in found or keyword.iskeyword(name) or name == module:
            continue
        typed = ":" in params or bool(returns)
        if not typed or not _balanced(params) or "(" in params:
            continue  # a call ("f(1, 2)", "float()"), not a signature
        about = _about(statements, f"`{code}`") + tuple(  # its bullet, and its examples
            s for s in statements if f"`{name}(" in s and f"`{code}`" not in s
        )
        found[name] = Function(name, params, returns.strip().rstrip("."), about)
    names = [re.compile(rf"`{re.escape(n)}\b") for n in found]
    general = tuple(  # what the requirement says of every function: rules, steps, errors
        s for s in statements if not any(n.search(s) for n in names) and "python -m" not in s
    )
    return tuple(
        Function(f.name, f.params, f.returns, f.sentences + general) for f in found.values()
    )


_TOKEN = re.compile(r"\[[^\[\]]*\]|\S+")


def _usage(line: str, statements: list[str]) -> UsageLine | None:
    run = _RUN.match(line.strip())
    if run is None:
        return None
    module, rest = run.group(1), run.group(2) or ""
    command, positionals, options = "", [], []
    tokens = _TOKEN.findall(rest)
    merged: list[str] = []
    for token in tokens:  # "--by FIELD" outside brackets is one option with its value
        if merged and merged[-1].startswith("-") and re.fullmatch(r"[A-Z][A-Z0-9_]*", token):
            merged[-1] = f"{merged[-1]} {token}"
        else:
            merged.append(token)
    for n, token in enumerate(merged):
        optional = token.startswith("[") and token.endswith("]")
        inner = token[1:-1].strip() if optional else token
        words = inner.split()
        if not words:
            continue
        if words[0].startswith("-"):
            flags = tuple(w for w in words[0].split("|") if w.startswith("-"))
            metavar = words[1] if len(words) > 1 and not words[1].startswith("-") else None
            if metavar is not None and not re.fullmatch(r"[A-Z][A-Z0-9_]*", metavar):
                metavar = metavar.upper() if metavar.isidentifier() else "VALUE"
            about = tuple(s for s in statements if any(f"`{f}" in s for f in flags))
            options.append(Option(flags, metavar, not optional, about))
        elif re.fullmatch(r"[A-Z][A-Z0-9_]*(\.\.\.)?", inner):
            name = inner.removesuffix("...")
            positionals.append(Positional(name, inner.endswith("..."), optional))
        elif n == 0 and re.fullmatch(r"[a-z][a-z0-9-]*", inner) and not optional:
            command = inner
    return UsageLine(module, line.strip(), command, tuple(positionals), tuple(options))


def _usages(text: str, statements: list[str]) -> tuple[UsageLine, ...]:
    found: dict[str, UsageLine] = {}
    for code in _codes(text):
        usage = _usage(code, statements)
        if usage is not None and usage.line not in found:
            found[usage.line] = usage
    usages = list(found.values())
    if any(u.command for u in usages):  # "tool COMMAND VALUE" is the outline of the others
        usages = [u for u in usages if u.command or not _is_outline(u)]
    return tuple(usages)


def _is_outline(usage: UsageLine) -> bool:
    return bool(usage.positionals) and usage.positionals[0].name in ("COMMAND", "CMD", "ACTION")


def _routes(text: str, statements: list[str]) -> tuple[Route, ...]:
    """Find ``METHOD /path`` in backticks with the status codes of the blocks about it."""
    found: dict[tuple[str, str], Route] = {}
    for code in _codes(text):
        match = _ROUTE.match(code.strip())
        if match is None:
            continue
        method, path = match.group(1), match.group(2).rstrip(".,;:")
        if (method, path) in found:
            continue
        about = _about(statements, f"`{code}`")
        statuses: list[int] = []
        for sentence in about:
            for status in _STATUS.findall(sentence.replace(f"`{code}`", "")):
                if int(status) not in statuses:
                    statuses.append(int(status))
        found[(method, path)] = Route(method, path, tuple(statuses), about)
    return tuple(found.values())


def _exit_codes(statements: list[str]) -> tuple[ExitCode, ...]:
    found: dict[int, ExitCode] = {}
    for sentence in statements:
        lowered = sentence.lower()
        if "exit" not in lowered:
            continue
        for part in re.split(r";\s*|,\s+(?=\d\s+(?:on|when|if)\b)|:\s+(?=\d\s)", sentence):
            for match in _EXIT.finditer(part):
                code = int(match.group(1) or match.group(2))
                found.setdefault(code, ExitCode(code, part.strip()))
    return tuple(sorted(found.values(), key=lambda e: e.code))


def read_requirement(text: str) -> RequirementFacts:
    """Read ``text`` into the facts it states exactly (empty fields where it says nothing)."""
    statements = sentences(text)
    items = blocks(text)
    module = _module(text)
    usages = _usages(text, items)
    routes = _routes(text, items)
    lowered = text.lower()
    framework = next((f for f in _FRAMEWORKS if re.search(rf"\b{f}\b", lowered)), "")
    app = _APP.search(text)
    return RequirementFacts(
        module=module,
        functions=_functions(text, items, module),
        usages=usages,
        routes=routes,
        exit_codes=_exit_codes(statements) if usages else (),
        app=(app.group(1) or app.group(2)) if app else ("app" if routes or framework else ""),
        framework=framework or ("fastapi" if routes else ""),
        errors=tuple(dict.fromkeys(_RAISES.findall(text))),
        stdlib_only=bool(_STDLIB_ONLY.search(text)),
        sentences=tuple(statements),
    )
