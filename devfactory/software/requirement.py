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
"exit codes"). A requirement that marks no interface with code spans is read
for the same facts in its words ("a module called X", "run as python -m X",
"--top followed by a number", "a GET request to /x/{id}", "a function called f
that takes a string"); a usage line those words describe is rendered by the
parser and marked ``synthesised``. ``left_open`` names what neither reading
found, for whatever fills it from the words (facts that quote the text).

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
import sys
import textwrap
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace

from markdown_it import MarkdownIt

_IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
_MODULE = re.compile(
    rf"\b(?:module|package)\s+(?:named\s+|called\s+)?`({_IDENT})`|`({_IDENT})`\s+(?:module|package)\b"
)
_RUN = re.compile(rf"^python3?\s+-m\s+({_IDENT})(?:\s+(.*))?$")
_SIGNATURE = re.compile(rf"^({_IDENT})\((.*)\)\s*(?:->\s*(.+?))?\s*$")
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
    default: str | None = None  # its value when not given, where the words say it ("3")
    stored: str = ""  # the attribute its usage line names it by (``-o OUTPUT``: output), if any

    @property
    def dest(self) -> str:
        """Return the attribute argparse stores it under (``stored``, else its flag's name)."""
        if self.stored:
            return self.stored
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

    @property
    def written(self) -> str:
        """Return it as a usage line writes it: ``FILE``, ``[FILE]``, ``FILE...``."""
        name = f"{self.name}..." if self.many else self.name
        return f"[{name}]" if self.optional else name


@dataclass(frozen=True)
class UsageLine:
    """One ``python -m module ...`` line: its subcommand, positionals and options."""

    module: str
    line: str
    command: str = ""  # a literal subcommand ("to-metres"), "" when there is none
    positionals: tuple[Positional, ...] = ()
    options: tuple[Option, ...] = ()
    # True when the requirement states it in words and ``line`` is the parser's rendering of
    # them, never words the requirement wrote (what quotes the requirement must not quote it)
    synthesised: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "options", _stored_by_value(self.positionals, self.options))


def _stored_by_value(
    positionals: tuple[Positional, ...], options: tuple[Option, ...]
) -> tuple[Option, ...]:
    """Name each option given by a short flag alone after its value (``-o OUTPUT``: ``output``).

    argparse would store ``-o OUTPUT`` as ``o``; a person writing the parser, and the
    tests a model writes of it, name it as the usage line does. A name that is no
    identifier, a keyword, one letter, or already another argument's keeps the flag's.
    """
    taken = {p.dest for p in positionals} | {o.dest for o in options if o.stored or _long(o)}
    named: list[Option] = []
    for option in options:
        name = (option.metavar or "").lower()
        if option.stored or _long(option) or not _storable(name) or name in taken:
            named.append(option)
            continue
        taken.add(name)
        named.append(replace(option, stored=name))
    return tuple(named)


def _long(option: Option) -> bool:
    return any(f.startswith("--") for f in option.flags)


def _storable(name: str) -> bool:
    return len(name) > 1 and name.isidentifier() and not keyword.iskeyword(name) and name != "help"


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


def _module(text: str) -> str:
    for code in markdown(text).codes:
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
    for code in markdown(text).codes:
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


def parse_usage(line: str, statements: Sequence[str] = ()) -> UsageLine | None:
    """Read a ``python -m module ...`` line: its subcommand, positionals and options.

    ``statements``: the requirement's sentences, each option given those naming it.
    None when ``line`` is no such line.
    """
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
    for usage in filter(None, (parse_usage(code, statements) for code in markdown(text).codes)):
        found.setdefault(usage.line, usage)
    usages = list(found.values())
    if any(u.command for u in usages):  # "tool COMMAND VALUE" is the outline of the others
        usages = [u for u in usages if u.command or not _is_outline(u)]
    return tuple(usages)


def _is_outline(usage: UsageLine) -> bool:
    return bool(usage.positionals) and usage.positionals[0].name in ("COMMAND", "CMD", "ACTION")


def _routes(text: str, statements: list[str]) -> tuple[Route, ...]:
    """Find ``METHOD /path`` in backticks with the status codes of the blocks about it."""
    found: dict[tuple[str, str], Route] = {}
    for code in markdown(text).codes:
        match = _ROUTE.match(code.strip())
        if match is None:
            continue
        method, path = match.group(1), match.group(2).rstrip(".,;:")
        if (method, path) in found:
            continue
        about = _about(statements, f"`{code}`")
        said = (_STATUS.findall(sentence.replace(f"`{code}`", "")) for sentence in about)
        statuses = tuple(dict.fromkeys(int(status) for each in said for status in each))
        found[(method, path)] = Route(method, path, statuses, about)
    return tuple(found.values())


def _exit_codes(statements: list[str]) -> tuple[ExitCode, ...]:
    found: dict[int, ExitCode] = {}
    for sentence in (s for s in statements if "exit" in s.lower()):
        for part in re.split(r";\s*|,\s+(?=\d\s+(?:on|when|if)\b)|:\s+(?=\d\s)", sentence):
            for match in _EXIT.finditer(part):
                code = int(match.group(1) or match.group(2))
                found.setdefault(code, ExitCode(code, part.strip()))
    return tuple(sorted(found.values(), key=lambda e: e.code))


# --- the same facts stated in words ----------------------------------------------------------
#
# A requirement written as prose names its module, its options, its routes and its
# functions in plain words. These rules read them where no code span marks the
# interface: a requirement that marks it says exactly what it means in its code spans,
# and its prose explains them.

_QUOTED = rf"[`\"'*]{{0,2}}({_IDENT})[`\"'*]{{0,2}}"
_STOP_WORDS = frozenset(
    "a an the that which who whose to for with of in on at by and or is are it its this "
    "called named providing offering exposing containing holding implementing".split()
)
_MODULE_IN_WORDS = re.compile(
    rf"\b(?:module|package)\s+(?:called|named)\s+{_QUOTED}"
    rf"|\b[Pp]ython\s+(?:module|package)\s+(?!(?:called|named)\b){_QUOTED}"
)
_RUN_IN_WORDS = re.compile(rf"(?<![\w-])python3?\s+-m\s+[`\"']?({_IDENT})\b(?!\.\w)")
_PROGRAM_IN_WORDS = re.compile(
    r"\b(?:tool|program|script|utility|command|service|application|library)\s+"
    rf"(?:called|named)\s+{_QUOTED}"
)
# "run as a module", "invoked with python -m": the program named runs with -m
_RUN_AS_MODULE = re.compile(
    r"\b(?:run|started|invoked|used)\s+(?:as|like)\s+an?\s+(?:Python\s+)?module\b"
    r"|\b(?:run|started|invoked)\s+with\s+python3?\s+-m\b(?!\s+\w)",
    re.I,
)
# what `python -m` runs in a requirement without being the software itself
_TOOLS = frozenset(sys.stdlib_module_names) | {
    "pytest", "pip", "uvicorn", "gunicorn", "hypercorn", "flask", "black", "ruff", "mypy",
    "twine", "build", "coverage", "pylint", "flake8", "isort", "tox", "nox",
}  # fmt: skip


def _module_in_words(items: list[str]) -> str:
    """Return the module the words name: run with ``-m``, "a module called X", "a tool called X".

    A program's name is the module it is run as, where no module is named.
    """
    for pattern in (_RUN_IN_WORDS, _MODULE_IN_WORDS, _PROGRAM_IN_WORDS):
        for item in items:
            for match in pattern.finditer(item):
                name = next(g for g in match.groups() if g)
                if name.lower() not in _STOP_WORDS and name not in _TOOLS:
                    return name
    return ""


_FLAG = re.compile(r"(?<![\w-])(--[a-z][a-z0-9]*(?:-[a-z0-9]+)*)(?![\w-])")
_SHORT_BEFORE = r"(?<![\w-])(-[A-Za-z])\s*(?:/|\||,|\bor\b)\s*`?$"
_SHORT_AFTER = re.compile(r"^`?\s*(?:/|\||,|\bor\b|\()\s*`?(-[A-Za-z])(?![\w-])")
_NUMBER_WORDS = re.compile(r"\b(?:number|integer|int|count|digits?|amount)s?\b", re.I)
_TEXT_WORDS = re.compile(r"\b(?:string|value|text|argument)s?\b", re.I)
_FILE_WORDS = re.compile(r"\b(?:file\s*name|filename|file)s?\b", re.I)
_NOUN_STOP = re.compile(r"\s*(?:\b(?:and|or|that|which|to|for|as|of|with|when|if|giving|"
                        r"saying|naming)\b|[,.;:()])", re.I)  # fmt: skip
_VALUE_SAID = re.compile(
    r"^\s*(?:option|flag)?\s*,?\s*(?:(?:which|that)\s+)?(?:is\s+)?"
    r"(?:followed\s+by|takes|accepts|expects|requires|needs|sets|given|with"
    r"|whose\s+(?:value|argument)\s+(?:is|must\s+be|should\s+be))\s+"
    r"(?:(?:a|an|one|the)\s+)?(.{1,40})",
    re.I,
)
_SWITCH_SAID = re.compile(r"^\s*(?:is\s+)?(?:an?\s+)?(?:switch|flag)\b", re.I)
_CAPITALS = re.compile(r"^\s*=?\s*<?([A-Z][A-Z0-9_]*)>?(?![\w-])")
_ANGLED = re.compile(r"^\s*=?\s*<([A-Za-z][\w -]*)>")
_NUMERAL = re.compile(r"^\s*=?\s*-?\d+(?:\.\d+)?\b")
# "is 7 if omitted", "defaults to 7", "(default: 7)": the value of an option left out
_OPTION_DEFAULT = re.compile(
    r"^[^.;]{0,80}?\b(?:is|are)\s+(-?\d+(?:\.\d+)?|\"[^\"]*\")\s+(?:when|if)\s+(?:it\s+is\s+)?"
    r"(?:not\s+given|omitted|left\s+out)|^[^.;]{0,80}?\bdefault(?:s\s+to|\s+is|:)?\s+"
    r"(-?\d+(?:\.\d+)?|\"[^\"]*\")",
    re.I,
)
_NEAR = 200  # characters either side of an option's flag that may speak of it
_HEAD_NOUNS = frozenset(
    "name number path file string value character size code id date time word list count "
    "format pattern prefix suffix key".split()
)
_NOT_NAMES = frozenset({"A", "I", "OR", "AND", "TO", "IS", "IF", "ON", "IN", "OF"})


def _metavar_of(phrase: str) -> str:
    """Name what a phrase says an option takes: a number is N, a file FILE, else the noun.

    The noun is the phrase's first word, or its second where that is a head noun
    ("a colour name": NAME); what follows is the sentence going on.
    """
    words = _NOUN_STOP.split(phrase, maxsplit=1)[0].split()[:2]
    if len(words) == 2 and words[1].lower().rstrip("s") not in _HEAD_NOUNS:
        words = words[:1]
    said = " ".join(words)
    if _NUMBER_WORDS.search(said):
        return "N"
    if _FILE_WORDS.search(said):
        return "FILE"
    if not words or _TEXT_WORDS.search(said):
        return "VALUE"
    noun = re.sub(r"[^A-Za-z0-9]+", "_", words[-1]).strip("_").upper()
    return noun if noun and noun[0].isalpha() else "VALUE"


def _value_of(rest: str) -> str | None:
    """Return the value's name an option's words give right after it (None: a switch)."""
    if _SWITCH_SAID.match(rest):
        return None
    angled = _ANGLED.match(rest)
    if angled:
        return _metavar_of(angled.group(1)) if " " in angled.group(1) else angled.group(1).upper()
    capitals = _CAPITALS.match(rest)
    if capitals and capitals.group(1) not in _NOT_NAMES:
        return capitals.group(1)
    if _NUMERAL.match(rest):
        return "N"  # `--top 5`: a number
    said = _VALUE_SAID.match(rest)
    return _metavar_of(said.group(1)) if said else None


def _options_in_words(items: list[str]) -> tuple[Option, ...]:
    """Read each ``--flag`` the words write: its short flag, its value, its sentences."""
    said: dict[str, list[str]] = {}
    shorts: dict[str, str] = {}
    values: dict[str, str | None] = {}
    required: set[str] = set()
    defaults: dict[str, str] = {}
    for statement in (s for item in items for s in _split_outside_code(item) if s.strip()):
        for match in _FLAG.finditer(statement):
            flag = match.group(1)
            if flag == "--help":
                continue  # argparse's own
            if statement not in said.setdefault(flag, []):
                said[flag].append(statement.strip())
            # what is said of an option is said near it: a window each side keeps this linear
            rest = statement[match.end() : match.end() + _NEAR].lstrip("`")
            before = statement[max(0, match.start() - _NEAR) : match.start()]
            short = re.search(_SHORT_BEFORE, before) or _SHORT_AFTER.match(rest)
            if short:
                shorts.setdefault(flag, short.group(1))
            if values.get(flag) is None:
                values[flag] = _value_of(_SHORT_AFTER.sub("", rest, count=1).lstrip("`"))
            if re.search(r"\brequired\b|\bmust (?:always )?be given\b", rest, re.I):
                required.add(flag)
            default = _OPTION_DEFAULT.search(rest)
            if default:
                defaults.setdefault(flag, default.group(1) or default.group(2))
            if re.search(r"\bwithout\s+(?:the\s+)?(?:option\s+)?`?$", before, re.I) and re.search(
                r"\berror\b", statement, re.I
            ):
                required.add(flag)  # "without --by it is a usage error"
    return tuple(
        Option(
            (shorts[flag], flag) if flag in shorts else (flag,),
            values.get(flag),
            flag in required,
            tuple(dict.fromkeys(s.strip() for s in sentences_of)),
            defaults.get(flag) if values.get(flag) else None,
        )
        for flag, sentences_of in said.items()
    )


_GIVEN = r"(?:takes|accepts|expects|receives|requires|is\s+given|gets|reads)"
_ARGUMENT = r"(?:as\s+(?:its|an|the|a)\s+(?:only\s+|first\s+|single\s+|sole\s+)?argument"
_ARGUMENT += r"|as\s+(?:its\s+)?arguments|on\s+the\s+command[- ]line|as\s+(?:a\s+)?positional)"
_MANY = r"(?:one\s+or\s+more|several|many|any\s+number\s+of|a\s+list\s+of|multiple)"
_FILE_ARGUMENT = re.compile(
    rf"\b{_GIVEN}\s+(?:(?:a|an|the|one|({_MANY}))\s+)?(?:(?:path|name)s?\s+(?:of|to)\s+"
    rf"(?:(?:a|an|the|one|({_MANY}))\s+)?)?(?:[\w-]+\s+)?"
    r"(?:file\s*names?|filenames?|files?|paths?)\b",
    re.I,
)
_NOUN_ARGUMENT = re.compile(
    rf"\b{_GIVEN}\s+(?:(?:a|an|the|one|({_MANY}))\s+)?([a-z]+?)s?\s+{_ARGUMENT}", re.I
)
_NO_FILE = re.compile(
    r"(?:standard input|\bstdin\b)[^.;]*\b(?:no|without)\b[^.;]*\b(?:file|path|argument)"
    r"|\b(?:no|without)\b[^.;]*\b(?:file|path|argument)[^.;]*(?:standard input|\bstdin\b)"
    r"|(?:file|path|argument)\s+is\s+(?:omitted|left out|not given|missing)[^.;]*"
    r"(?:standard input|\bstdin\b)"
    r"|(?:standard input|\bstdin\b)[^.;]*(?:file|path|argument)\s+is\s+"
    r"(?:omitted|left out|not given|missing)"
    r"|(?:standard input|\bstdin\b)\s*,?\s+or\s+(?:from\s+)?(?:a|an|the)\s+(?:[\w-]+\s+)?"
    r"(?:file|path)|\b(?:a|an|the)\s+(?:[\w-]+\s+)?(?:file|path)\s*,?\s+or\s+(?:from\s+)?"
    r"(?:standard input|\bstdin\b)",
    re.I,
)


def _positionals_in_words(items: list[str]) -> tuple[Positional, ...]:
    """Read the argument a command takes in words: a file (maybe many, maybe left out)."""
    text = " ".join(items)
    optional = bool(_NO_FILE.search(text))
    found = _FILE_ARGUMENT.search(text)
    if found or optional:
        many = bool(found and (found.group(1) or found.group(2)))
        return (Positional("FILE", many, optional),)
    noun = _NOUN_ARGUMENT.search(text)
    if noun and noun.group(2).lower() not in _STOP_WORDS:
        return (Positional(noun.group(2).upper(), bool(noun.group(1))),)
    return ()


def _rendered(module: str, positionals: tuple[Positional, ...], options: tuple[Option, ...]) -> str:
    """Write the usage line the words describe, as a usage line is written."""
    parts = [f"python -m {module}", *(p.written for p in positionals)]
    for o in options:
        flags = "|".join(o.flags) + (f" {o.metavar}" if o.metavar else "")
        parts.append(flags if o.required else f"[{flags}]")
    return " ".join(parts)


# A usage token written in plain text: ``[...]``, ``--flag``, ``-x``, ``FILE``, ``FILE...``
_USAGE_TOKEN = re.compile(
    r"\s+(\[[^\[\]]*\]|--?[A-Za-z][\w-]*|[A-Z][A-Z0-9_]*(?:\.\.\.)?)(?=[\s.,;:]|$)"
)


def _written_line(module: str, text: str) -> str:
    """Return the usage line written in plain text (``python -m tool FILE [--top N]``), if any.

    It is ``python -m module`` and the usage tokens right after it; a plain
    ``python -m module`` followed by words is no usage line.
    """
    for match in _RUN_IN_WORDS.finditer(text):
        if match.group(1) != module:
            continue
        tokens, at = [], match.end()
        while (token := _USAGE_TOKEN.match(text, at)) is not None:
            tokens.append(token.group(1))
            at = token.end()
        if tokens:
            return " ".join([f"python -m {module}", *tokens])
    return ""


def _usage_in_words(module: str, items: list[str], told: bool = False) -> UsageLine | None:
    """Return the command line the words describe: run with ``-m``, or a command line's options.

    A program run with ``python -m`` is a command line; so is one the text calls
    a command line and gives ``--options``; so is one the model that reads said is one
    (``told``). A usage line written in plain text
    is read as written, where it names every option the words give; otherwise
    the line is synthesised from the words, and marked so.
    """
    if not module:
        return None
    text = " ".join(items)
    runs = any(m.group(1) == module for m in _RUN_IN_WORDS.finditer(text))
    runs = runs or bool(_RUN_AS_MODULE.search(text))
    options = _options_in_words(items)
    if not (runs or told or (options and re.search(r"\bcommand[- ]line\b", text, re.I))):
        return None
    written = parse_usage(_written_line(module, text), items) if runs else None
    if written is not None:
        said = {o.flags[-1]: o for o in options}
        options_written = tuple(
            replace(o, sentences=said[o.flags[-1]].sentences) if o.flags[-1] in said else o
            for o in written.options
        )
        if set(said) <= {o.flags[-1] for o in options_written}:
            return replace(written, options=options_written)
    positionals = written.positionals if written else _positionals_in_words(items)
    line = _rendered(module, positionals, options)
    if "--help" in _FLAG.findall(text):
        line += " [--help]"  # argparse's own, so no option of the parser; the line names it
    return UsageLine(module, line, "", positionals, options, synthesised=True)


_METHOD_PATH = re.compile(
    r"(?<![\w/])(GET|POST|PUT|PATCH|DELETE)\s+(?:(?:requests?|calls?)\s+)?"
    r"(?:(?:to|on|at|for|against)\s+)?(?:the\s+)?(?:(?:path|endpoint|route|url)\s+)?"
    r"[`\"']?(/[A-Za-z0-9_{}<>/.:-]*)(?:\s+followed\s+by\s+(?:a|an|the|its)\s+([a-z_]+))?"
)
_HTTP_STATUSES = frozenset(
    {200, 201, 202, 204, 301, 302, 303, 304, 307, 308, 400, 401, 403, 404, 405, 406, 409, 410,
     411, 412, 413, 415, 422, 429, 500, 501, 502, 503}
)  # fmt: skip


def _path_in_words(path: str) -> str:
    """Write a path's parameters one way (``<id>``, ``<int:id>``, ``:id`` are ``{id}``)."""
    path = path.rstrip(".,;:)`\"'")
    path = re.sub(r"<(?:\w+:)?([A-Za-z_]\w*)>", r"{\1}", path)
    path = re.sub(r"(?<=/):([A-Za-z_]\w*)", r"{\1}", path)
    return path.rstrip("/") or "/"


def _routes_in_words(items: list[str]) -> tuple[Route, ...]:
    """Read ``METHOD /path`` in the words, with the statuses the sentences about it give.

    A sentence is about the routes it names, and a sentence that names none
    about the last route its block named; a number is a status only where it is
    one HTTP uses, and only after the route's mention, before the next one's.
    """
    said: dict[tuple[str, str], list[str]] = {}
    statuses: dict[tuple[str, str], list[int]] = {}

    def add(key: tuple[str, str], sentence: str, part: str) -> None:
        if sentence not in said[key]:
            said[key].append(sentence)
        for status in map(int, _STATUS.findall(part)):
            if status in _HTTP_STATUSES and status not in statuses[key]:
                statuses[key].append(status)

    for item in items:
        last: tuple[str, str] | None = None
        for sentence in (s.strip() for s in _split_outside_code(item) if s.strip()):
            mentions = list(_METHOD_PATH.finditer(sentence))
            if not mentions:
                if last is not None:
                    add(last, sentence, sentence)
                continue
            for n, match in enumerate(mentions):
                path = match.group(2)
                if path.endswith("/") and match.group(3):  # "/items/ followed by an id"
                    path += "{" + match.group(3) + "}"
                last = (match.group(1), _path_in_words(path))
                said.setdefault(last, [])
                statuses.setdefault(last, [])
                end = mentions[n + 1].start() if n + 1 < len(mentions) else len(sentence)
                add(last, sentence, sentence[match.end() : end])
    return tuple(
        Route(method, path, tuple(statuses[(method, path)]), tuple(said[(method, path)]))
        for method, path in said
        if path.startswith("/")
    )


_VERBS = r"(?:takes|accepts|receives|returns|gives|is\s+given|is\s+called)\b"
_FUNCTION_IN_WORDS = re.compile(  # its name said ("called f", "`f`"), or right before a verb
    rf"\bfunction\s+(?:(?:called|named)\s+{_QUOTED}|[`\"']({_IDENT})[`\"']"
    rf"|({_IDENT})(?=\s+{_VERBS}))(?:\(\))?(?P<rest>(?:[^.;]|\.(?=\d))*)",
    re.I,
)
_TAKES = re.compile(
    r"\b(?:takes|accepts|receives|is\s+given|is\s+called\s+with|taking|accepting)\s+(.*?)"
    r"(?=\s*,?\s*(?:and\s+)?(?:returns?|returning|gives\s+back|giving\s+back)\b|$)",
    re.I,
)
_RETURNS = re.compile(r"\b(?:returns?|returning|gives\s+back|giving\s+back)\s+(.*)$", re.I)
_TYPE_WORDS: tuple[tuple[re.Pattern[str], str, str], ...] = (  # phrase, type, a name for it
    (re.compile(r"\b(?:list|sequence)\s+of\s+(?:strings|words|texts|names|lines)\b", re.I),
     "list[str]", "items"),
    (re.compile(r"\b(?:list|sequence)\s+of\s+(?:whole\s+numbers|integers|ints)\b", re.I),
     "list[int]", "numbers"),
    (re.compile(r"\btrue\s+or\s+false\b|\bboolean\b|\bbool\b", re.I), "bool", "flag"),
    (re.compile(r"\b(?:whole\s+numbers?|integers?|int)\b", re.I), "int", "n"),
    (re.compile(r"\b(?:decimal\s+numbers?|floating[- ]point\s+numbers?|floats?)\b", re.I),
     "float", "x"),
    (re.compile(r"\b(?:strings?|str)\b", re.I), "str", "text"),
)  # fmt: skip
_ARTICLE = re.compile(r"^(?:a|an|the|one|some|its|two|three)\s+", re.I)


def _typed(phrase: str) -> tuple[str, str, str]:
    """Return (type, a name for it, the rest of the phrase) of a phrase ("" where none)."""
    for pattern, kind, name in _TYPE_WORDS:
        found = pattern.search(phrase)
        if found:
            return kind, name, (phrase[: found.start()] + " " + phrase[found.end() :]).strip()
    return "", "", phrase


def _parameter_in_words(phrase: str) -> tuple[str, str]:
    """Return a parameter's (name, type) from its words: "a string text", "the width".

    The name is the last word before what describes it ("a slack from 2 to 8":
    ``slack``), or the type's usual name where the words give only a type.
    """
    kind, by_type, rest = _typed(phrase)
    quoted = re.search(rf"[`\"']({_IDENT})[`\"']", phrase)
    rest = _DESCRIBED.sub("", _ARTICLE.sub("", rest.strip()))
    words = [
        w for w in re.findall(rf"{_IDENT}", rest)
        if w.lower() not in _STOP_WORDS and w.lower() not in ("called", "named")
    ]  # fmt: skip
    name = quoted.group(1) if quoted else (words[-1] if words else by_type)
    name = re.sub(r"\W", "_", name.lower()) if not quoted else name
    if not name.isidentifier() or keyword.iskeyword(name):
        name = by_type or "value"
    return name, kind


_DESCRIBED = re.compile(
    r"\s+(?:from|to|of|in|with|that|which|between|as|for|followed|where|whose)\b.*$", re.I
)
_COUNT = {"two": 2, "three": 3, "four": 4, "five": 5}
_DEFAULT = re.compile(
    r",?\s*(?:which|that)\s+(?:is|defaults\s+to)\s+(-?\d+(?:\.\d+)?|\"[^\"]*\"|'[^']*')\s+"
    r"(?:when|if)\s+(?:it\s+is\s+)?(?:not\s+given|omitted|left\s+out)\s*,?",
    re.I,
)
_MARK = "\x00"  # where a default was said, in the phrase of the parameter before it
_MOST_PARAMETERS = 12  # more is a sentence misread as a list, not a signature


def _parameters_in_words(phrase: str) -> list[str]:
    """Return the parameters a "takes ..." phrase gives, with the defaults it says.

    A list joins its last item with "and" ("a string, a width and a fill");
    without one, what follows a comma describes the first ("a tag, a short
    label," is one). "two integers, low and high" names two; "two ropes"
    makes ``rope1, rope2``; ", which is 4 when omitted" is the default of the
    parameter before it.
    """
    phrase = _DEFAULT.sub(lambda m: f" {_MARK}{m.group(1)}{_MARK}", phrase)
    if re.search(r"\band\b", phrase):
        pieces = [p for p in re.split(r"\s*,\s*(?:and\s+)?|\s+and\s+", phrase) if p.strip()]
    else:
        pieces = [phrase.split(",")[0]]
    params: list[tuple[str, str, str]] = []  # name, type, default
    while pieces:
        piece = pieces.pop(0)
        default = piece.split(_MARK)[1] if piece.count(_MARK) == 2 else ""
        piece = piece.split(_MARK)[0]
        count = _COUNT.get(piece.strip().split(" ", 1)[0].lower(), 1)
        name, kind = _parameter_in_words(piece)
        if count == 1:
            params.append((name, kind, default))
            continue
        named = pieces[:count]
        if len(named) == count and all(re.fullmatch(_IDENT, n.strip()) for n in named):
            del pieces[:count]
            params += [(n.strip(), kind, "") for n in named]
        else:
            params += [(f"{name.rstrip('s')}{i}", kind, "") for i in range(1, count + 1)]
    params = params[:_MOST_PARAMETERS]
    written: list[str] = []
    taken: set[str] = set()
    for n, (name, kind, default) in enumerate(params):
        while name in taken:
            name += "_"
        taken.add(name)
        param = f"{name}: {kind}" if kind else name
        if default and all(d for _, _, d in params[n:]):  # only where all after have one too
            param += f" = {default}" if kind else f"={default}"
        written.append(param)
    return written


def _returns_in_words(phrase: str) -> str:
    """Return the type the words say a function returns ("" where they say none)."""
    phrase = _ARTICLE.sub("", phrase.strip())
    if re.match(r"(?:true|false)\b", phrase, re.I):
        return "bool"
    if re.match(r"(?:the\s+)?number\s+of\b|how\s+many\b", phrase, re.I):
        return "int"
    tupled = re.match(
        r"tuple\s+of\s+(two|three|four|five)\s+(?:whole\s+numbers|integers|strings)\b", phrase, re.I
    )
    if tupled:
        item = "str" if tupled.group(0).lower().endswith("strings") else "int"
        return f"tuple[{', '.join([item] * _COUNT[tupled.group(1).lower()])}]"
    kind, _, rest = _typed(phrase.split(",")[0])
    return kind if kind and len(rest.split()) <= 3 else ""


def _functions_in_words(items: list[str], module: str) -> tuple[Function, ...]:
    """Read "a function called NAME that takes A and B and returns C" (types only where said)."""
    found: dict[str, Function] = {}
    for item in items:
        for match in _FUNCTION_IN_WORDS.finditer(item):
            name = match.group(1) or match.group(2) or match.group(3)
            if name in found or keyword.iskeyword(name) or name == module:
                continue
            if name.lower() in _STOP_WORDS:
                continue
            rest = match.group("rest")
            takes = _TAKES.search(rest)
            params: list[str] = []
            if takes and not re.match(r"no\s+(?:arguments|parameters)", takes.group(1), re.I):
                params = _parameters_in_words(takes.group(1))
            returns = _RETURNS.search(rest)
            found[name] = Function(
                name,
                ", ".join(params),
                _returns_in_words(returns.group(1)) if returns else "",
                (),
            )
    names = {n: re.compile(rf"(?<!\w){re.escape(n)}\b") for n in found}
    general = tuple(  # what the words say of every function: blocks that name none of them
        s for s in items if not any(n.search(s) for n in names.values()) and "python -m" not in s
    )
    return tuple(
        replace(f, sentences=tuple(s for s in items if names[f.name].search(s)) + general)
        for f in found.values()
    )


_NUMBER_NAMED = {"zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5}
_EXIT_IN_WORDS = re.compile(
    r"\bexit(?:s|ing|ed)?\s+(?:with\s+)?(?:an?\s+)?(?:exit\s+)?(?:status|code)\s+(?:of\s+)?"
    r"(\d|zero|one|two|three|four|five)\b"
    r"|\bexit\s+(?:status|code)\s+(?:is|will\s+be|should\s+be|must\s+be|becomes)\s+"
    r"(\d|zero|one|two|three|four|five)\b"
    r"|\b(?:returns?|with)\s+(?:an?\s+)?exit\s+(?:status|code)\s+(?:of\s+)?"
    r"(\d|zero|one|two|three|four|five)\b",
    re.I,
)


def _exit_codes_in_words(statements: list[str]) -> tuple[ExitCode, ...]:
    """Read "exits with status N when ...", "the exit code is N if ..." (a clause per status).

    A sentence that gives two statuses gives each its own clause: it ends where
    the next status's clause begins (at its comma or "and").
    """
    found: dict[int, ExitCode] = {}
    for sentence in statements:
        for part in re.split(r";\s*", sentence):
            matches = list(_EXIT_IN_WORDS.finditer(part))
            if not matches:
                continue
            starts = [0] + [
                _clause_start(part, before.end(), m.start())
                for before, m in zip(matches, matches[1:], strict=False)
            ]
            ends = starts[1:] + [len(part)]
            for match, start, end in zip(matches, starts, ends, strict=True):
                said = next(g for g in match.groups() if g).lower()
                code = _NUMBER_NAMED[said] if said in _NUMBER_NAMED else int(said)
                meaning = re.sub(r"[\s,]+(?:and|but|while)?$", "", part[start:end].strip())
                found.setdefault(code, ExitCode(code, meaning.strip()))
    return tuple(sorted(found.values(), key=lambda e: e.code))


def _exit_codes_either(statements: list[str]) -> tuple[ExitCode, ...]:
    """Return the exit codes the words give and those written as code (its meaning kept)."""
    said = {e.code: e for e in _exit_codes_in_words(statements)}
    said.update({e.code: e for e in _exit_codes(statements)})
    return tuple(sorted(said.values(), key=lambda e: e.code))


def _clause_start(part: str, after: int, at: int) -> int:
    """Return where the clause holding ``at`` begins: after the last comma or "and" before it.

    Only what follows the previous status (``after``) is searched.
    """
    between = re.compile(r"(?:,\s*|\s+)(?:and|but|while)\s+|,\s*")
    cuts = [m.end() for m in between.finditer(part, after, at)]
    return cuts[-1] if cuts else at


def left_open(facts: RequirementFacts) -> tuple[str, ...]:
    """Name the facts a requirement leaves open, for whatever fills them from its words.

    ``module``: no module is named; ``interface``: no function, usage line or
    route is found; ``exit_codes``: a command line whose exit statuses are not
    said. A filler gives back facts (``RequirementFacts`` is made of them) that
    quote the requirement's words.
    """
    missing = []
    if not facts.module:
        missing.append("module")
    if not (facts.functions or facts.usages or facts.routes):
        missing.append("interface")
    if facts.usages and not facts.exit_codes:
        missing.append("exit_codes")
    return tuple(missing)


def as_command_line(text: str, facts: RequirementFacts) -> RequirementFacts:
    """Return ``facts`` read again as a command line's, where the model said it is one.

    The rules make a usage line from the words only where the text says the
    program runs with ``-m`` (or as a module, or calls itself a command line);
    told that it is a command line, they make it from the words all the same
    (the options its flags name, the arguments they find) and read its exit
    codes. Facts that already give an interface are returned as they are.
    """
    if not facts.module or facts.usages or facts.routes or facts.functions:
        return facts
    usage = _usage_in_words(facts.module, blocks(text), told=True)
    if usage is None:
        return facts
    return replace(facts, usages=(usage,), exit_codes=_exit_codes_either(list(facts.sentences)))


def read_requirement(text: str) -> RequirementFacts:
    """Read ``text`` into the facts it states exactly (empty fields where it says nothing)."""
    statements = sentences(text)
    items = blocks(text)
    module = _module(text) or _module_in_words(items)
    usages = _usages(text, items)
    routes = _routes(text, items)
    functions = _functions(text, items, module)
    exit_codes = _exit_codes(statements) if usages else ()
    if not (usages or routes or functions):  # no code marks the interface: read the words
        usage = _usage_in_words(module, items)
        usages = (usage,) if usage is not None else ()
        routes = _routes_in_words(items)
        functions = _functions_in_words(items, module)
        exit_codes = _exit_codes_either(statements) if usages else ()
    lowered = text.lower()
    framework = next((f for f in _FRAMEWORKS if re.search(rf"\b{f}\b", lowered)), "")
    app = _APP.search(text)
    return RequirementFacts(
        module=module,
        functions=functions,
        usages=usages,
        routes=routes,
        exit_codes=exit_codes,
        app=(app.group(1) or app.group(2)) if app else ("app" if routes or framework else ""),
        framework=framework or ("fastapi" if routes else ""),
        errors=tuple(dict.fromkeys(_RAISES.findall(text))),
        stdlib_only=bool(_STDLIB_ONLY.search(text)),
        sentences=tuple(statements),
    )
