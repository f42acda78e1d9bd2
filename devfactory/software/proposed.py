"""The facts a model proposes where the parser read none, checked by code against the text.

Tools before models: ``software/requirement.read_requirement`` reads what a
requirement states exactly. Where it leaves the interface open (no module, or
no function, usage line or route: ``leaves_open``), a model is asked for the
rest as one JSON object under ``ProposedFacts``'s schema. Every fact carries
``quote``, the words of the requirement it came from, and ``checked`` keeps a
fact only when those words occur in the text (whitespace, case and Markdown
aside) and every name it introduces (module, function, parameter, option flag,
route path) occurs there too; anything else is dropped, counted and said.
``merged`` then fills only what the parser left empty: a parser fact is never
replaced by a model's. One thing the parser reads is also left to the model: a
usage line it made up from words in which its rules found no argument
(``arguments_open``) takes the positional arguments the model read, quoted.

``RunFacts`` is what a run keeps of it, once, in its state: the merged facts,
the examples the model read in words, and the notes on what was dropped.

Why one module: the schema the model fills, the checks of each of its facts
and the merge into the parser's facts are one contract; a fact kind added to
the schema needs its check and its merge beside it.
"""

from __future__ import annotations

import ast
import hashlib
import keyword
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal, TypeVar, cast

from pydantic import BaseModel, ConfigDict, Field

from devfactory.software.kinds import reading
from devfactory.software.requirement import (
    ExitCode,
    Function,
    Option,
    Positional,
    RequirementFacts,
    Route,
    UsageLine,
    left_open,
)
from devfactory.software.source import syntax_tree

Method = Literal["GET", "POST", "PUT", "PATCH", "DELETE"]


class Quoted(BaseModel):
    """A fact with the words of the requirement it came from."""

    model_config = ConfigDict(extra="forbid")

    quote: str = Field(description="the requirement's words this fact comes from, copied exactly")


Q = TypeVar("Q", bound=Quoted)


class ProposedModule(Quoted):
    """The module or package the requirement names."""

    name: str = Field(description="the module's name as the requirement writes it")


class ProposedParameter(BaseModel):
    """One parameter of a function: its name and its type in words or as Python."""

    model_config = ConfigDict(extra="forbid")

    name: str
    type: str = Field(default="", description="such as 'str', 'list of integers', or empty")


class ProposedFunction(Quoted):
    """A public function: its name, parameters and what it returns."""

    name: str
    parameters: list[ProposedParameter] = Field(default_factory=list)
    returns: str = Field(default="", description="the return type in words or as Python")


class ProposedOption(BaseModel):
    """An option of the command line: its flags and whether it takes a value."""

    model_config = ConfigDict(extra="forbid")

    flags: list[str] = Field(description="such as ['-o', '--output'] or ['--json']")
    takes_value: bool = False
    value_name: str = Field(default="", description="the value's name, such as 'FILE'")


class ProposedCommand(Quoted):
    """The command line: the program run with ``python -m``, its positionals and options."""

    program: str = Field(description="the module run as `python -m <program>`")
    positionals: list[str] = Field(default_factory=list, description="such as ['FILE']")
    options: list[ProposedOption] = Field(default_factory=list)


class ProposedRoute(Quoted):
    """An HTTP route: its method, its path and the status codes the requirement gives it."""

    method: Method
    path: str = Field(description="such as '/items/{id}'")
    statuses: list[int] = Field(default_factory=list)


class ProposedExitCode(Quoted):
    """An exit status of the command line and what it means."""

    code: int
    meaning: str = ""


class ProposedExample(Quoted):
    """An example the requirement states in words: a call or an input, and what is expected."""

    call: str = Field(description="the call or the input, such as 'price(1250)'")
    expected: str = Field(description="the result or the output, such as '\"$12.50\"'")


class ProposedFacts(BaseModel):
    """What a model proposes a requirement states, each fact with the words it came from."""

    model_config = ConfigDict(extra="forbid")

    module: ProposedModule | None = None
    functions: list[ProposedFunction] = Field(default_factory=list)
    command: ProposedCommand | None = None
    routes: list[ProposedRoute] = Field(default_factory=list)
    exit_codes: list[ProposedExitCode] = Field(default_factory=list)
    examples: list[ProposedExample] = Field(default_factory=list)


AskedKind = Literal["library", "command line", "web service", "unsure"]

KIND_FIELDS: dict[str, tuple[str, ...]] = {
    "library": ("module", "functions", "examples"),
    "command line": ("module", "command", "exit_codes", "examples"),
    "web service": ("module", "routes", "examples"),
    "unsure": tuple(ProposedFacts.model_fields),
}
"""The facts asked of a requirement of each kind of software (unsure: all of them)."""


class ProposedKind(BaseModel):
    """The kind of software a model says a requirement asks for, and its name: the first ask."""

    model_config = ConfigDict(extra="forbid")

    kind: AskedKind = Field(
        description="a library of functions to import, a command line run with `python -m`, "
        "a web service of HTTP routes, or unsure"
    )
    name: str = Field(
        description="the name the requirement gives the module or program, as written, or ''"
    )


class ProposedArgument(Quoted):
    """A positional argument of a command line: a value typed after its name that is no option."""

    name: str = Field(description="a name for it in capitals, such as 'FILE' or 'WORD'")
    repeats: bool = Field(default=False, description="true when several may be given")
    optional: bool = Field(default=False, description="true when it may be left out")


class ProposedArguments(BaseModel):
    """The positional arguments a model says a command line takes, each with its words."""

    model_config = ConfigDict(extra="forbid")

    arguments: list[ProposedArgument] = Field(default_factory=list)


_MANY = frozenset({"*", "+", "..."})  # nargs of several values (argparse.REMAINDER is "...")


def _nargs(call: ast.Call) -> object:
    """Return a call's ``nargs=`` as written (a constant, ``argparse.REMAINDER`` read as "...")."""
    for word in call.keywords:
        if word.arg == "nargs":
            if isinstance(word.value, ast.Constant):
                return word.value.value
            if isinstance(word.value, ast.Attribute) and word.value.attr == "REMAINDER":
                return "..."
            return "+"  # a name or expression: more than one, whatever it is
    return None


def arguments_in_parser(code: str) -> ProposedArguments:
    """Read the positional arguments a model's ``build_parser`` code adds, each with its help.

    A coder model writes a command line's parser more surely than it lists its
    arguments as facts: the code is read here, never run. An ``add_argument``
    whose first argument is a name (no leading ``-``) is a positional argument:
    its ``nargs`` says whether it repeats (``*``, ``+``, a number over one) and
    whether it may be left out (``*``, ``?``); its ``help=`` is its quote, which
    ``as_command`` checks against the requirement as it checks any. Code that
    does not parse reads as no argument.
    """
    tree = syntax_tree(code)
    if tree is None:
        return ProposedArguments()
    calls = sorted(
        (
            node
            for node in ast.walk(tree)
            if isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "add_argument"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
            and node.args[0].value
            and not node.args[0].value.startswith("-")
        ),
        key=lambda node: (node.lineno, node.col_offset),
    )  # in the order the code adds them, which is the order they are typed
    found = []
    for node in calls:
        name = str(cast(ast.Constant, node.args[0]).value)
        if not name.isidentifier():
            continue
        helped = next((w.value for w in node.keywords if w.arg == "help"), None)
        quote = helped.value if isinstance(helped, ast.Constant) else ""
        nargs = _nargs(node)
        many = nargs in _MANY or (isinstance(nargs, int) and nargs > 1)
        found.append(
            ProposedArgument(
                name=name.upper(),
                repeats=many,
                optional=nargs in ("*", "?"),
                quote=quote if isinstance(quote, str) else "",  # an f-string quotes nothing
            )
        )
    return ProposedArguments(arguments=found)


def _naming_sentence(name: str, requirement: str, limits: Limits) -> str:
    """Return the requirement's first sentence that names ``name``'s words ("" when none does).

    ``FILE_PATH`` is named by a sentence holding "file" (or "files"), ``WORDS``
    by one holding "word" or "words"; a sentence over the quote limit names nothing.
    """
    sentences = re.split(r"(?<=[.!?])\s+", " ".join(requirement.split()))
    read = [(sentence, plain(sentence)) for sentence in sentences]
    for part in (p for p in name.casefold().split("_") if len(p) >= 3):
        forms = {part, part.removesuffix("s"), f"{part.removesuffix('s')}s"}
        for sentence, words in read:
            if any(_occurs(form, words) for form in forms):
                return sentence if len(sentence) <= limits.quote_chars else ""
    return ""


def as_command(
    found: ProposedArguments,
    program: str,
    requirement: str,
    limits: Limits,
    *,
    by_name: bool = False,
) -> tuple[ProposedFacts, list[str]]:
    """Return the arguments whose quotes the requirement holds as the command fact the merge takes.

    Also say why each other one was dropped. The command's quote is its first
    argument's, so the merge's own checks hold it as they hold any command.
    With ``by_name`` (the arguments read from a parser's code, whose help a
    model words in its own way), an argument whose help is no quote is kept
    where a sentence of the requirement names its words, that sentence its quote.
    """
    text, kept, dropped = plain(requirement), [], []
    for argument in found.arguments[: limits.per_kind]:
        problem = _quote_problem(argument.quote, text, limits)
        named = _naming_sentence(argument.name, requirement, limits) if problem and by_name else ""
        if named:
            argument = argument.model_copy(update={"quote": named})
        elif problem:
            dropped.append(f"dropped argument {argument.name}: {problem}")
            continue
        positional = Positional(argument.name, argument.repeats, argument.optional)
        kept.append((positional.written, argument.quote))
    if not kept:
        return ProposedFacts(), dropped
    command = ProposedCommand(
        quote=kept[0][1], program=program, positionals=[name for name, _ in kept]
    )
    return ProposedFacts(command=command), dropped


def named_module(proposed: ProposedKind, requirement: str) -> str:
    """Return the module name the model gave, where it is a name the requirement writes."""
    name = proposed.name.strip().strip("`'\"").removesuffix(".py")
    if not _identifier(name) or not _occurs(name, plain(requirement)):
        return ""
    return "" if name.lower() in ("python", "module", "program", "library") else name


class StatedExample(BaseModel):
    """An example the requirement states in words, kept after its quote was checked."""

    model_config = ConfigDict(frozen=True)

    call: str
    expected: str
    quote: str


class RunFacts(BaseModel):
    """What a run read of its requirement, once: the facts, and what the model added or lost.

    ``digest`` names the requirement text they were read from, so a run whose
    requirement changed (a governance modify) reads its facts again.
    """

    model_config = ConfigDict(frozen=True)

    digest: str
    facts: RequirementFacts
    examples: tuple[StatedExample, ...] = ()
    proposed: int = 0  # facts the model proposed
    kept: int = 0  # of those, the ones merged in
    notes: tuple[str, ...] = ()  # why each dropped fact was dropped, and what was filled
    calls: int = 0  # model calls made for them

    def holds(self, requirement: str) -> bool:
        """Say whether these facts were read from ``requirement``."""
        return self.digest == digest_of(requirement)


def digest_of(requirement: str) -> str:
    """Return the digest that names a requirement's text."""
    return hashlib.sha256(requirement.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Limits:
    """How many facts of each kind are kept, and how long a quote may be."""

    per_kind: int
    quote_chars: int


class Checked(ProposedFacts):
    """The proposed facts that passed the checks, and why each other one was dropped."""

    proposed: int = 0
    dropped: list[str] = Field(default_factory=list)

    @property
    def kept(self) -> int:
        """Return how many facts passed."""
        singles = (self.module is not None) + (self.command is not None)
        lists = (self.functions, self.routes, self.exit_codes, self.examples)
        return singles + sum(len(x) for x in lists)


def interface_open(facts: RequirementFacts) -> bool:
    """Say whether the parser left the interface open: no module, or nothing it exposes.

    The facts are taken as their kind reads them (``kinds.reading``): a script's
    usage lines, ``python name.py ...``, are the script kind's to read.
    """
    found = reading(facts)
    read = found.facts if found is not None else facts
    return bool({"module", "interface"} & set(left_open(read)))


def arguments_open(facts: RequirementFacts) -> bool:
    """Say whether a command line's arguments are unread: its line made from words naming none.

    The parser writes a usage line from the words when the requirement writes
    none (``UsageLine.synthesised``), finding a positional argument only where
    the words say it as its rules know (a file, "takes a NOUN"). Finding none
    there is not knowing there is none: another author says it otherwise, so
    the model that reads is asked, and the rules check its quote.
    """
    return any(u.synthesised and not u.positionals and not u.command for u in facts.usages)


def leaves_open(facts: RequirementFacts) -> bool:
    """Say whether the parser left something for the model to read: the interface or arguments."""
    return interface_open(facts) or arguments_open(facts)


# --- the checks ------------------------------------------------------------------------------

_MARKUP = re.compile(r"\*\*|`|^\s*(?:#+|>|[-*+]|\d+[.)])\s+", re.M)


def plain(text: str) -> str:
    """Return ``text`` as a quote is compared: Markdown marks gone, whitespace and case folded."""
    return " ".join(_MARKUP.sub(" ", text).split()).casefold()


def _occurs(name: str, text: str) -> bool:
    """Say whether ``name`` occurs in ``text`` as a whole word (``text`` already ``plain``)."""
    return bool(re.search(rf"(?<![\w-]){re.escape(name.casefold())}(?![\w])", text))


def _path_occurs(path: str, text: str) -> bool:
    """Say whether a route's path occurs, its placeholders written ``{x}``, ``<x>`` or ``:x``."""
    parts = re.split(r"\{(\w+)\}", path.casefold())
    pattern = "".join(
        re.escape(p) if i % 2 == 0 else rf"(?:\{{{p}\}}|<{p}>|:{p})" for i, p in enumerate(parts)
    )
    return bool(pattern) and bool(re.search(rf"(?<![\w/]){pattern}(?![\w/])", text))


def _identifier(name: str) -> bool:
    return name.isidentifier() and not keyword.iskeyword(name)


def _quote_problem(quote: str, text: str, limits: Limits) -> str:
    words = plain(quote)
    lead, said, rest = words.partition(": ")  # "the requirement says: <its words>"
    if said and words not in text and len(lead) <= 40 and rest in text:
        words = rest
    if not words:
        return "it quotes no words"
    if len(quote) > limits.quote_chars:
        return f"its quote is {len(quote)} characters, over {limits.quote_chars}"
    if words not in text:
        return f"its quote {quote[:60]!r} is not in the requirement"
    return ""


def _problem(fact: Quoted, text: str, limits: Limits) -> str:
    """Say why ``fact`` is dropped ("" when it is kept); ``text`` is already ``plain``."""
    found = _quote_problem(fact.quote, text, limits)
    if found:
        return found
    if isinstance(fact, ProposedModule):
        names = [fact.name]
    elif isinstance(fact, ProposedFunction):
        names = [fact.name, *(p.name for p in fact.parameters)]
    elif isinstance(fact, ProposedCommand):
        flags = [f for o in fact.options for f in o.flags]
        if unflagged := [f for f in flags if not f.startswith("-")]:
            return f"{', '.join(repr(f) for f in unflagged)} is not an option's flag"
        names = [fact.program, *flags]
    elif isinstance(fact, ProposedRoute):
        return "" if _path_occurs(fact.path, text) else f"path {fact.path!r} not in the requirement"
    elif isinstance(fact, ProposedExitCode):
        said = re.search(rf"(?<![\w.]){fact.code}(?![\w.])", plain(fact.quote))
        return "" if said else f"its quote does not give the code {fact.code}"
    elif isinstance(fact, ProposedExample):
        expected = plain(fact.expected.strip().strip("\"'"))
        if not expected or expected not in text:
            return f"its expected value {fact.expected[:40]!r} is not in the requirement"
        return ""
    else:
        names = []
    bad = [n for n in names if n.lstrip("-") and not _identifier(n.lstrip("-").replace("-", "_"))]
    if bad:
        return f"{', '.join(repr(n) for n in bad)} is not a name"
    missing = [n for n in names if not _occurs(n, text)]
    return f"{', '.join(repr(n) for n in missing)} not in the requirement" if missing else ""


def checked(proposed: ProposedFacts, requirement: str, limits: Limits) -> Checked:
    """Keep the proposed facts whose quotes and names occur in ``requirement``; count the rest.

    At most ``limits.per_kind`` facts of each kind are kept; the rest are
    dropped as over the cap. A function, option flag or route proposed twice
    is kept once. An exit code must be in its quote; a route's status codes
    that the requirement does not write are left out of it.
    """
    text = plain(requirement)
    found = Checked()

    def keep(kind: str, facts: Sequence[Q]) -> list[Q]:
        kept: list[Q] = []
        seen: set[str] = set()
        for fact in facts:
            found.proposed += 1
            label = _label(kind, fact)
            if len(kept) >= limits.per_kind:
                found.dropped.append(f"{label}: over the cap of {limits.per_kind}")
                continue
            problem = _problem(fact, text, limits)
            if problem:
                found.dropped.append(f"{label}: {problem}")
                continue
            if label in seen:
                continue
            seen.add(label)
            kept.append(fact)
        return kept

    modules = keep("module", [proposed.module] if proposed.module else [])
    found.module = modules[0] if modules else None
    found.functions = keep("function", proposed.functions)
    commands = keep("command", [proposed.command] if proposed.command else [])
    found.command = commands[0] if commands else None
    found.routes = [  # a status the requirement does not write is not the route's
        r.model_copy(update={"statuses": [s for s in r.statuses if _occurs(str(s), text)]})
        for r in keep("route", proposed.routes)
    ]
    found.exit_codes = keep("exit code", proposed.exit_codes)
    found.examples = keep("example", proposed.examples)
    return found


def _label(kind: str, fact: Quoted) -> str:
    if isinstance(fact, ProposedModule | ProposedFunction):
        return f"{kind} {fact.name}"
    if isinstance(fact, ProposedCommand):
        return f"{kind} {fact.program}"
    if isinstance(fact, ProposedRoute):
        return f"{kind} {fact.method} {fact.path}"
    if isinstance(fact, ProposedExitCode):
        return f"{kind} {fact.code}"
    if isinstance(fact, ProposedExample):
        return f"{kind} {fact.call[:40]}"
    return kind


# --- the merge -------------------------------------------------------------------------------

_TYPE_WORDS = (
    (re.compile(r"^(?:an? )?(?:str|string|text|word|name)s?$", re.I), "str"),
    (re.compile(r"^(?:an? )?(?:int|integer|whole number|count)s?$", re.I), "int"),
    (re.compile(r"^(?:an? )?(?:float|number|decimal|real number)s?$", re.I), "float"),
    (re.compile(r"^(?:an? )?(?:bool|boolean|flag)s?$", re.I), "bool"),
)
_LIST_OF = re.compile(r"^(?:an? )?(?:list|sequence) of (.+)$", re.I)


def annotation(words: str) -> str:
    """Return a type written in words (``a list of integers``) as Python, "" when unsure."""
    words = " ".join(words.split()).strip(" .")
    if not words:
        return ""
    listed = _LIST_OF.match(words)
    if listed:
        inner = annotation(listed.group(1))
        return f"list[{inner}]" if inner else "list"
    for pattern, name in _TYPE_WORDS:
        if pattern.match(words):
            return name
    try:
        ast.parse(words, mode="eval")
    except SyntaxError:
        return ""
    return words if re.fullmatch(r"[A-Za-z_][\w\[\], .|]*", words) else ""


def _about(statements: Sequence[str], name: str, quote: str) -> tuple[str, ...]:
    """Return the quote and the requirement's sentences that name ``name``."""
    word = re.compile(rf"(?<![\w-]){re.escape(name)}(?!\w)")
    return (quote, *(s for s in statements if word.search(s) and plain(quote) not in plain(s)))


def _holding(statements: Sequence[str], quote: str) -> tuple[str, ...]:
    """Return the requirement's sentences that hold ``quote`` (the quote itself if none does)."""
    words = plain(quote)
    return tuple(s for s in statements if words in plain(s)) or (quote,)


def _function(fact: ProposedFunction, statements: Sequence[str]) -> Function:
    params = ", ".join(
        f"{p.name}: {typed}" if (typed := annotation(p.type)) else p.name for p in fact.parameters
    )
    return Function(
        fact.name, params, annotation(fact.returns), _about(statements, fact.name, fact.quote)
    )


def _positional(written: str) -> Positional | None:
    """Read one positional argument as a model writes it: ``FILE``, ``[FILE]``, ``TEXT...``."""
    text = written.strip()
    optional = text.startswith("[") and text.endswith("]")
    text = text.strip("[]").strip()
    many = text.endswith("...")
    name = text.removesuffix("...").strip().strip("<>").upper().replace("-", "_")
    return Positional(name, many, optional) if name and _identifier(name.lower()) else None


def _positionals(fact: ProposedCommand) -> tuple[Positional, ...]:
    return tuple(p for p in map(_positional, fact.positionals) if p is not None)


def _with_arguments(usage: UsageLine, positionals: tuple[Positional, ...]) -> UsageLine:
    """Return a usage line made from words, with the positional arguments the model read."""
    head = f"python -m {usage.module}"
    rest = usage.line[len(head) :] if usage.line.startswith(head) else ""
    line = " ".join([head, *(p.written for p in positionals)]) + rest
    return replace(usage, line=line, positionals=positionals)


def _usage(fact: ProposedCommand, statements: Sequence[str]) -> UsageLine:
    """Return the usage line the command stands for; each option keeps the sentences naming it."""
    positionals = _positionals(fact)
    options: list[Option] = []
    words = [f"python -m {fact.program}", *(p.written for p in positionals)]
    for option in fact.options:
        metavar = None
        if option.takes_value:
            value = option.value_name.strip().upper().replace("-", "_")
            metavar = value if re.fullmatch(r"[A-Z][A-Z0-9_]*", value) else "VALUE"
        flags = tuple(option.flags)
        named = [re.compile(rf"(?<![\w-]){re.escape(f)}(?![\w-])") for f in flags]
        about = tuple(s for s in statements if any(n.search(s) for n in named))
        options.append(Option(flags, metavar, False, about or (fact.quote,)))
        words.append(f"[{'|'.join(flags)}{' ' + metavar if metavar else ''}]")
    return UsageLine(fact.program, " ".join(words), "", positionals, tuple(options))


def merged(parsed: RequirementFacts, found: Checked) -> tuple[RequirementFacts, list[str]]:
    """Fill what the parser left empty with the checked facts; return the facts and what was filled.

    A field the parser read is never replaced; a model's function, usage line
    or route is only taken where the parser found none of that kind.
    """
    filled: list[str] = []
    module = parsed.module
    if not module and found.module is not None:
        module = found.module.name
    if not module and found.command is not None:
        module = found.command.program
    if module != parsed.module:
        filled.append(f"module {module}")
    statements = parsed.sentences
    functions = parsed.functions
    if not functions and found.functions:
        functions = tuple(_function(f, statements) for f in found.functions if f.name != module)
        filled += [f"function {f.name}" for f in functions]
    usages = parsed.usages
    if not usages and found.command is not None and found.command.program == module:
        usages = (_usage(found.command, statements),)
        filled.append(f"usage line {usages[0].line}")
    elif found.command is not None and (read := _positionals(found.command)):
        made = [  # a line the parser made from words naming no argument takes the model's
            _with_arguments(u, read) if arguments_open(replace(parsed, usages=(u,))) else u
            for u in usages
        ]
        changed = [u for u, before in zip(made, usages, strict=True) if u != before]
        if changed and found.command.program == module:
            usages = tuple(made)
            filled += [f"usage line {u.line}" for u in changed]
    routes = parsed.routes
    if not routes and found.routes:
        routes = tuple(
            Route(r.method, r.path, tuple(r.statuses), _holding(statements, r.quote))
            for r in found.routes
        )
        filled += [f"route {r.method} {r.path}" for r in routes]
    exit_codes = parsed.exit_codes
    if not exit_codes and found.exit_codes and usages:
        exit_codes = tuple(ExitCode(e.code, e.meaning or e.quote) for e in found.exit_codes)
        filled += [f"exit code {e.code}" for e in exit_codes]
    facts = replace(
        parsed,
        module=module,
        functions=functions,
        usages=usages,
        routes=routes,
        exit_codes=exit_codes,
        framework=parsed.framework or ("fastapi" if routes else ""),
        app=parsed.app or ("app" if routes else ""),
    )
    return facts, filled


def run_facts(
    requirement: str,
    parsed: RequirementFacts,
    proposals: Sequence[ProposedFacts] = (),
    *,
    limits: Limits,
    calls: int = 0,
) -> RunFacts:
    """Return what a run keeps of its requirement: the parser's facts, filled from ``proposals``.

    Each proposal is checked (``checked``) and merged in turn; a later one only
    fills what the earlier ones left empty.
    """
    facts, notes, proposed, kept = parsed, [], 0, 0
    examples: list[StatedExample] = []
    for proposal in proposals:
        found = checked(proposal, requirement, limits)
        proposed += found.proposed
        notes += [f"dropped {d}" for d in found.dropped]
        facts, filled = merged(facts, found)
        kept += len(filled)
        notes += [f"filled {f} from the model's facts" for f in filled]
        room = limits.per_kind - len(examples)
        examples += [StatedExample(call=e.call, expected=e.expected, quote=e.quote)
                     for e in found.examples[:room]]  # fmt: skip
    return RunFacts(
        digest=digest_of(requirement),
        facts=facts,
        examples=tuple(examples),
        proposed=proposed,
        kept=kept + len(examples),
        notes=tuple(notes),
        calls=calls,
    )
