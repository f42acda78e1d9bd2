"""A command line that reads one input and writes one output, wired by tools.

Many command lines are filters: ``python -m tool FILE [--flag] [--output OUT]``
reads one file (or standard input), turns its text into other text, and prints
it or writes it to OUT; an unreadable file exits 1 with ``tool: FILE: reason``
on stderr. The reading, the writing and those exit statuses follow from the
usage line alone, so tools write them exactly, and the model is asked for the
one thing that needs judgement: ``transform(text, options...) -> str``, a pure
function from the input's text to the output's, which raises ``ValueError`` to
refuse an input (the command then prints ``tool: message`` on stderr and exits
with the requirement's error status, writing nothing).

A usage line qualifies when it has no subcommand and exactly one positional,
single (not ``FILE...``), that names a file (``FILE``, ``INPUT``, ``LOGFILE``,
``DATA_CSV``), or that the requirement reads from standard input; any other
command line keeps a ``run(args)`` the model writes whole. A filter's own
runner is ``_run``, private like the helpers it calls: what tools wrote is no
part of the interface the tests are asked to check (``main`` and the transform).

A filter is planned, tested and smoke-run as a command line (``command_line.py``):
only its skeleton differs.

Why one module: what the requirement says of the filter (its input, output, options,
statuses and refusals) is read for the skeleton written here and nowhere else.
"""

from __future__ import annotations

import ast
import keyword
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from devfactory.software.examples import ExampleSet
from devfactory.software.kinds.command_line import CommandLine, command_head, main_lines
from devfactory.software.kinds.filter_examples import Shown, shown_outputs, transform_examples
from devfactory.software.kinds.shape import Comparison, StartPart
from devfactory.software.plan import Named, SoftwareKind
from devfactory.software.requirement import Option, RequirementFacts
from devfactory.software.skeleton import Skeleton, Unit, UnitKind, doc, tidy

TRANSFORM = "transform"
TEXT = "text"  # the transform's first parameter: the input's text
DATA = "data"  # the same, where the input is read as bytes (``Stream.binary``)
RUNNER = "_run"  # reads, transforms, writes: called by ``main``
_OUTPUT = re.compile(r"^(OUT|OUTPUT|OUTFILE|OUTPUT_FILE|DEST|TARGET)$", re.I)
_STDIN = re.compile(r"standard input|\bstdin\b", re.I)
_READ_FAILS = re.compile(r"\b(read|exist|missing|unreadable|open|found)\b", re.I)
_FAULTS = r"invalid|malformed|refus\w*|bad|not an?"  # words of input the command refuses
_ERRORS = re.compile(rf"\b(errors?|{_FAULTS})\b", re.I)
_REFUSED_INPUT = re.compile(
    r"\b(?:invalid|malformed|bad|refus\w*|reject\w*)\s+(?:input|line|value|number|data|text)",
    re.I,
)
_INPUT_FAULT = re.compile(rf"\b({_FAULTS})\b|\bcannot be parsed\b", re.I)  # no bare "error"
_CLAUSE = re.compile(r"[,;:]|\bor\b")
_CSV = re.compile(r"\bCSV\b")
_MADE = re.compile(  # before "CSV" in its clause: it is what the command makes, not reads
    r"\b(?:output|outputs|prints?|writes?)\b[^,;:]*$|\b(?:to|into)\s+(?:an?\s+|the\s+)?(?:[\w-]+\s+)?$"
)
# the input is bytes, not text: "writes a hex dump", "any binary data". Not every word of
# bytes: a text's size in bytes, a count of them, a byte-order mark are said of text too
_BINARY = re.compile(
    r"\bhex(?:adecimal)?\s*dump\b|\bbinary\s+(?:files?|data|input)\b"
    r"|\b(?:an?|the|its|any|one)\s+(?:input\s+)?file'?s\s+(?:raw\s+)?bytes\b",
    re.I,
)
_ABOUT_MESSAGES = re.compile(r"stderr|standard error|message", re.I)
_PREFIXED = re.compile(r"`([A-Za-z][\w-]*):(?:\s[^`]*)?`")  # `oops: <message>`, `oops:`
_READING = r"\b(?:reads?|opens?|loads?|takes?|accepts?)\b"  # a verb that takes the input in
_READS = re.compile(_READING + r".*\b(?:files?|standard input|stdin)\b", re.I)
_UNREADABLE = re.compile(
    r"\b(?:cannot|can't|can not|could not|couldn't)\s+be\s+(?:read|opened|found)\b(?!\s+as\b)"
    r"|\b(?:does not|doesn't)\s+exist\b|\bunreadable\b|\bno such file\b",
    re.I,
)
_CLAUSES = re.compile(r"(,\s+and\s+|;\s+)")
_OPTION = re.compile(r"(?<![\w-])--?[A-Za-z]")
_READS_VERB = re.compile(r"(.*?)" + _READING, re.I)  # what comes before it: the subject


@dataclass(frozen=True)
class Stream:
    """What a filter command line reads, writes, and how it fails."""

    source: str  # the positional's attribute (``file``)
    stdin: bool  # read standard input when the positional is left out or is ``-``
    output: Option | None  # ``--output OUT``: where the output goes instead of stdout
    options: tuple[Option, ...]  # every other option: the transform's parameters
    unreadable: int  # the exit status of an input that cannot be read
    refused: int  # the exit status of an input the transform refuses
    prefix: str  # what an error message starts with: ``tool:``, or the word the text writes
    refuses: bool  # the requirement says of some input that it is refused
    csv: str = ""  # the input is CSV: "rows", or "header" (its first row names the columns)
    binary: bool = False  # the input is read as bytes, not as UTF-8 text

    @property
    def parameter(self) -> str:
        """Return the transform's first parameter, as its signature writes it."""
        return f"{DATA}: bytes" if self.binary else f"{TEXT}: str"


def _status(facts: RequirementFacts, about: re.Pattern[str], default: int) -> int:
    """Return the non-zero exit status whose meaning matches ``about`` (2 is argparse's)."""
    for code in facts.exit_codes:
        if code.code not in (0, 2) and about.search(code.meaning):
            return code.code
    return default


def _says_refused(facts: RequirementFacts) -> bool:
    """Say whether the requirement refuses some input: an error status not about reading.

    Where it refuses none, the transform is not told how to refuse: a small
    model told so adds checks of its own that refuse what the requirement wants.
    """
    return any(
        code.code not in (0, 2)
        and (
            (_ERRORS.search(code.meaning) and not _READ_FAILS.search(code.meaning))
            or any(  # one status for both: "a glow not a number, or a file it cannot open"
                _INPUT_FAULT.search(c) and not _READ_FAILS.search(c)
                for c in _CLAUSE.split(code.meaning)
            )
        )
        for code in facts.exit_codes
    ) or any(_REFUSED_INPUT.search(s) for s in facts.sentences)


def stream(facts: RequirementFacts) -> Stream | None:
    """Return the filter the requirement's usage line describes, or None when it is not one."""
    if len(facts.usages) != 1 or facts.usages[0].command or facts.functions:
        return None
    [usage] = facts.usages
    if len(usage.positionals) != 1 or usage.positionals[0].many:
        return None
    positional = usage.positionals[0]
    text = " ".join(facts.sentences)
    stdin = bool(_STDIN.search(text))
    if not positional.file and not stdin:
        return None
    outputs = [
        o for o in usage.options if o.metavar and (_OUTPUT.match(o.metavar) or o.dest == "output")
    ]
    options = tuple(o for o in usage.options if o not in outputs[:1])
    binary = _binary_input(facts.sentences)
    names = [DATA if binary else TEXT, *(o.dest for o in options)]  # the transform's parameters
    if len(set(names)) < len(names) or not positional.dest.isidentifier():
        return None  # `--text`, an option given twice: no such transform can be written
    if any(not o.dest.isidentifier() or keyword.iskeyword(o.dest) for o in options):
        return None
    written = _prefixes(facts)
    prefix = f"{written[0]}:" if written and facts.module not in written else f"{facts.module}:"
    return Stream(
        source=positional.dest,
        stdin=stdin and (positional.optional or "`-`" in text),
        output=outputs[0] if outputs else None,
        options=options,
        unreadable=_status(facts, _READ_FAILS, 1),
        refused=_status(facts, _ERRORS, 1),
        refuses=_says_refused(facts),
        prefix=prefix,
        csv="" if binary else _csv_input(facts.sentences),
        binary=binary,
    )


def _binary_input(sentences: Sequence[str]) -> bool:
    """Say whether the input is bytes: a sentence, outside code spans, speaks of bytes.

    ``writes a hex dump``, ``any binary data``, ``the input file's raw bytes``: the
    command reads the file as it is, in binary, and the transform takes its bytes
    (read as UTF-8 text, a dump of any byte outside it would fail to read). A size
    or a count in bytes is no such word: a text has them too.
    """
    return any(_BINARY.search(re.sub(r"`[^`]*`", "", s)) for s in sentences)


def _csv_input(sentences: Sequence[str]) -> str:
    """Say whether the input is CSV: "header" when its first row names the columns, else "rows".

    A sentence calls it CSV (``sums a CSV table``, ``DATA is CSV, its first row the
    column names``) outside code spans, where the words before it in its clause do
    not make it the output (``the output is CSV``, ``turns JSON into CSV``).
    """
    for sentence in sentences:
        plain = re.sub(r"`[^`]*`", "", sentence)
        for found in _CSV.finditer(plain):
            if not _MADE.search(plain[: found.start()]):
                return "header" if re.search(r"\bheader\b", plain, re.I) else "rows"
    return ""


def _prefixes(facts: RequirementFacts) -> list[str]:
    """Return the words the requirement's messages start with (`oops: <message>` on stderr).

    A code span that starts with a word and a colon, in a sentence about
    messages or standard error (not a ``key: value`` line an input may hold);
    the command's own name among them wins.
    """
    return [
        m[1] for s in facts.sentences if _ABOUT_MESSAGES.search(s) for m in _PREFIXED.finditer(s)
    ]


def about_output(sentences: Sequence[str]) -> list[str]:
    """Return the requirement's sentences about the transform: what the output is.

    How the input is read and what an unreadable one does are the tools' part
    (``_read_input``, ``_run``), so the clauses that say only that go: one about
    an unreadable input, and one that only reads the input, from a path or
    stdin (``It reads the file named on the command line, ...``); an ellipsis
    (``...``) marks where a sentence lost its start. A small model shown those
    words in the transform's docstring opened its text as a file name. A clause
    that reads and does more (``it reads the file and counts ...``) stays.
    """
    kept = []
    for sentence in sentences:
        parts = _CLAUSES.split(sentence)  # clause, separator, clause, ...
        clauses, joins = parts[::2], ["", *parts[1::2]]
        said = [i for i, clause in enumerate(clauses) if not _tools_part(clause)]
        if not said:
            continue
        text = clauses[said[0]] + "".join(joins[i] + clauses[i] for i in said[1:])
        if said[0] > 0:  # it lost its start: keep the subject of a reading clause
            subject = None if _UNREADABLE.search(clauses[0]) else _READS_VERB.match(clauses[0])
            text = f"{subject[1] if subject else ''}... {text}"
        kept.append(text)
    return kept


def _tools_part(clause: str) -> bool:
    """Say whether ``clause`` says only what tools do: read the input, or fail to.

    A clause that names an option describes a parameter, and one that reads and
    does more (``reads the file and counts ...``) describes the output: both stay.
    """
    if _OPTION.search(clause):
        return False
    reads = bool(_READS.search(clause)) and " and " not in clause
    return reads or bool(_UNREADABLE.search(clause))


def _parameter(option: Option) -> str:
    """Return the transform's parameter for ``option``, with the default the command passes.

    A default the requirement says, of the option's own type (a whole number for a
    count, a quoted text for a text), is the parameter's too; else it is None.
    """
    if option.metavar is None:
        return f"{option.dest}: bool = False"
    kind = "int" if option.integer else "str"
    said = option.default or ""
    if re.fullmatch(r"-?\d+", said) if option.integer else said.startswith('"'):
        return f"{option.dest}: {kind} = {said}"
    return f"{option.dest}: {kind} | None = None"


_CSV_TOLD = {
    "header": "`text` is CSV whose first row names the columns: read it with "
    "`csv.DictReader(io.StringIO(text))` (rows by column name) or "
    "`csv.reader(io.StringIO(text))`, which follow CSV's quoting; `csv` and `io` are imported.",
    "rows": "`text` is CSV: read its rows with `csv.reader(io.StringIO(text))`, which follows "
    "CSV's quoting; `csv` and `io` are imported.",
}


def told_of(found: Stream) -> list[str]:
    """Return what its docstring and its tests' request (``Unit.told``) say of the transform."""
    said = (
        f"the input's bytes `{DATA}` (already read, in binary, from the file or standard input)"
        if found.binary
        else f"the input `{TEXT}` (already read from the file or standard input)"
    )
    told = [
        f"Return, as one string, what the command outputs for {said}. Print nothing: the "
        "command writes the string this returns.",
        *(
            f"`{o.dest}` is the option {'/'.join(o.flags)}"
            + (" (True when given)." if o.metavar is None else f" ({o.default} when not given).")
            for o in found.options
        ),
        *([_CSV_TOLD[found.csv]] if found.csv else []),
    ]
    if found.refuses:
        told.append(
            f"To refuse the input, raise `ValueError(message)`: the command prints "
            f"`{found.prefix} message` on stderr and exits {found.refused}."
        )
    return told


def lines_of(
    found: Stream,
    about: list[str],
    doc: Callable[[list[str], str], str],
    shown: Sequence[Shown] = (),
) -> tuple[list[str], list[str]]:
    """Return the transform's stub and the command's tool-written code, as source lines.

    ``doc`` renders a docstring (``skeleton.doc``): the transform's quotes the
    requirement, which the model reads when it writes the body, and ends with
    the outputs it shows (``shown``) as calls of the transform, exactly.
    """
    params = ", ".join([found.parameter, *(_parameter(o) for o in found.options)])
    written = doc([*told_of(found), "The requirement says:", *about], "    ").rstrip("\n")
    calls = [f"{e.call(TRANSFORM, encoded=found.binary)} == {e.returned!r}" for e in shown]
    calls = [c for c in calls if '"""' not in c]
    if calls and written.endswith('"""') and written.count('"""') == 2:
        head = written[: -len('"""')].rstrip()
        head = head if "\n" in head else head.replace('"""', '"""\n    ', 1)
        written = "\n".join(
            [
                head,
                "",
                "    Examples (the command adds a final newline when the result has none):",
                *(f"        {c}" for c in calls),
                '    """',
            ]
        )
    stub = [f"def {TRANSFORM}({params}) -> str:", written]
    stub += ["    raise NotImplementedError", "", ""]
    return stub, _wiring(found)


def _wiring(found: Stream) -> list[str]:
    """Write ``_read_input``, ``_write_output`` and ``_run``: everything but the transform.

    They are private: the command's interface is ``main`` and the transform.
    """
    source = f"args.{found.source}"
    empty = "path is None or path == '-'" if found.stdin else "path is None"
    of_stdin = ", or of stdin" if found.stdin else ""
    reading = (
        [
            "def _read_input(path: str | None) -> bytes:",
            f'    """Return the bytes of ``path``{of_stdin}, as they are."""',
            f"    if {empty}:",
            "        return sys.stdin.buffer.read()",
            '    with open(path, "rb") as handle:',
            "        return handle.read()",
        ]
        if found.binary
        else [
            "def _read_input(path: str | None) -> str:",
            # A byte-order mark is how some editors and spreadsheets mark a file as UTF-8,
            # never part of its text: any filter drops it, whatever the requirement says.
            '    """Return the UTF-8 text of ``path`` (without a byte-order mark)'
            + (', or of stdin."""' if found.stdin else '."""'),
            f"    if {empty}:",
            "        return sys.stdin.read()",
            '    with open(path, encoding="utf-8-sig") as handle:',
            "        return handle.read()",
        ]
    )
    reading += [
        "",
        "",
        "def _write_output(text: str, path: str | None) -> None:",
        '    """Write ``text``, ending with a newline, to ``path``, or print it when None."""',
        '    if text and not text.endswith("\\n"):',
        '        text += "\\n"',
        "    if path is None:",
        "        sys.stdout.write(text)",
        "        return",
        '    with open(path, "w", encoding="utf-8") as handle:',
        "        handle.write(text)",
        "",
        "",
    ]
    keywords = ", ".join(f"{o.dest}=args.{o.dest}" for o in found.options)
    read = DATA if found.binary else TEXT
    call = f"{TRANSFORM}({read}{', ' + keywords if keywords else ''})"
    target = f"args.{found.output.dest}" if found.output else "None"
    prefix = found.prefix
    run = [
        f"def {RUNNER}(args: argparse.Namespace) -> int:",
        '    """Read the input, transform it, write the output; return the exit status."""',
        "    try:",
        f"        {read} = _read_input({source})",
        "    except (OSError, UnicodeDecodeError) as exc:",
        "        reason = getattr(exc, 'strerror', None) or exc",
        f'        print(f"{prefix} {{{source}}}: {{reason}}", file=sys.stderr)',
        f"        return {found.unreadable}",
        "    try:",
        f"        output = {call}",
        "    except ValueError as exc:",
        f'        print(f"{prefix} {{exc}}", file=sys.stderr)',
        f"        return {found.refused}",
        "    try:",
        f"        _write_output(output, {target})",
        "    except OSError as exc:",
        f'        print(f"{prefix} {{{target}}}: {{exc.strerror or exc}}", file=sys.stderr)',
        f"        return {found.unreadable}",
        "    return 0",
    ]
    return reading + run


def as_written(outcome: str) -> str:
    """Return a transform's result as ``_write_output`` writes it (ending with a newline)."""
    try:
        value = ast.literal_eval(outcome)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return outcome  # a raise (``!ValueError``), or a result cut to its first characters
    if isinstance(value, str) and value and not value.endswith("\n"):
        return repr(value + "\n")
    return outcome


class TextFilter(CommandLine):
    """The filter kind (``SoftwareShape``): a command line whose transform the model writes."""

    name = "filter"
    plan_kinds: tuple[SoftwareKind, ...] = ()  # a plan says "cli": the command line answers

    def read(self, facts: RequirementFacts) -> RequirementFacts | None:
        """Take a command line that reads one input and writes one output (``stream``)."""
        return facts if stream(facts) is not None else None

    def starting(self, named: Named, package: str) -> StartPart | None:
        """Leave it to the command line: names alone do not tell a filter from another command."""
        return None

    def skeleton(self, facts: RequirementFacts, summary: str) -> Skeleton:
        """Return the parser, the transform's stub and the reading and writing around it."""
        found = stream(facts)
        if found is None:
            raise ValueError("not a filter: its usage line reads no one input")
        lines, units, said = command_head(facts, summary)
        if found.csv:  # the transform is told to read its text with these
            lines.insert(lines.index("import argparse") + 1, "import csv")
            lines.insert(lines.index("import csv") + 1, "import io")
        about = about_output(said)
        stub, wiring = lines_of(found, about, doc, shown_outputs(facts, found.options))
        lines += ["", "", *stub, *wiring, "", "", *main_lines(RUNNER)]
        units.append(Unit(TRANSFORM, UnitKind.COMMAND, tuple(about), tuple(told_of(found))))
        return Skeleton(f"{facts.module}.py", tidy(lines), tuple(units))

    def examples(self, facts: RequirementFacts) -> ExampleSet:
        """Return the command line's examples, and the outputs its sentences show for an input.

        An input shown with its output (``transform_examples``) is run through
        the command itself: its tests are about the transform, the one unit the
        model writes, so they choose among its candidates.
        """
        own = super().examples(facts)
        found = stream(facts)
        if found is None:
            return own
        return ExampleSet(
            tests=(*own.tests, *transform_examples(facts, found.options, TRANSFORM)),
            imports=own.imports,
            setup=own.setup,
            helpers=own.helpers,
        )

    def compared(self, facts: RequirementFacts, unit: str) -> Comparison | None:
        """Call the transform on the model's tests; compare its results as the command writes them.

        Its examples (``--help``, a usage error) stop no body, so its candidates
        are judged by the tests the model writes of it (``software/agreement``).
        """
        if unit != TRANSFORM or stream(facts) is None:
            return None
        return Comparison(written=as_written)


TEXT_FILTER = TextFilter()
