r"""The outputs a requirement shows for an input, in its words: a filter's examples.

'the input "a\nb" is printed as "1 a\n2 b"', 'with --upper, "hi" becomes "HI"':
two quoted texts with what the command does between them, and the options the
clause before them gives. Each is a test that runs the command on that input
(``transform_examples``) and a call the transform's docstring shows
(``Shown.call``). Only what the words settle is read: "with the default margin"
(the option not given) and "with a margin of 2" (``--margin 2``) are read, but
an option in other words, a count in words or a flag the command does not have
makes no example. Nor does an example in parentheses of a part the words name
("each header cell lower-cased (`" Unit Price"` becomes `unit_price`)"): it shows
one step, not what the command prints for that input.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from devfactory.software.examples import Example
from devfactory.software.requirement import Option, RequirementFacts

# A text said in words: "double quoted" (backslash escapes kept), “curly quoted”, or a code span
_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"|\u201c([^\u201d]*)\u201d|`([^`]+)`')
# What stands between an input and its output: "is printed as", "becomes", "comes out as"
_SHOWN_AS = re.compile(
    r"^\s*(?:(?:is|are)\s+(?:printed|written|output|shown|displayed|rendered)(?:\s+as)?"
    r"|(?:is|are)\s+turned\s+into|becomes?|turns?\s+into|comes?\s+out\s+as"
    r"|prints|outputs|gives|yields)\s*:?\s*$",
    re.I,
)
# The input or output as a whole, or its lines: what an example in parentheses may show whole
_WHOLE = re.compile(r"\b(?:input|text|file|contents?|lines?|output|prints?|printed)\b", re.I)
_GIVEN_FLAG = re.compile(r"(?<![\w-])(--?[A-Za-z][\w-]*)")
_ESCAPE = re.compile(r"\\([tn\\\"])")


def _said(match: re.Match[str]) -> str:
    r"""Return a quoted text as it is meant: ``\t`` a tab, ``\n`` a line break."""
    if match[1] is not None:
        escapes = {"t": "\t", "n": "\n", "\\": "\\", '"': '"'}
        return _ESCAPE.sub(lambda m: escapes[m[1]], match[1])
    return match[2] if match[2] is not None else match[3]


@dataclass(frozen=True)
class Shown:
    """An output the requirement shows for an input, with the options it is given."""

    sentence: str
    text: str
    output: str
    given: tuple[tuple[str, Option, str | None], ...]  # (flag as written, option, its value)

    @property
    def argv(self) -> list[str]:
        """Return the command's arguments after the input file (``--start``, ``10``)."""
        return [a for flag, _, value in self.given for a in (flag, value) if a is not None]

    @property
    def returned(self) -> str:
        """Return the output as the transform returns it: without the command's final newline.

        ``_write_output`` adds that newline, so a result may leave it out, as most
        do: the docstring's calls then hold exactly.
        """
        return self.output.removesuffix("\n")

    def call(self, function: str, *, encoded: bool = False) -> str:
        """Return the transform's call this example makes: ``transform('hi', start=10)``.

        ``encoded``: the transform takes the input's bytes, the text's UTF-8 (``b'hi'``).
        """
        args = [repr(self.text.encode("utf-8") if encoded else self.text)]
        for _, option, value in self.given:
            if value is None:
                args.append(f"{option.dest}=True")
            else:
                args.append(f"{option.dest}={value if option.integer else repr(value)}")
        return f"{function}({', '.join(args)})"


def _given(clause: str, options: tuple[Option, ...]) -> list[tuple[str, Option, str | None]] | None:
    """Return the options a clause gives ("with --start 10": ``--start``, its option, ``10``).

    Two ways of naming an option in words settle how the command is run: "the
    default margin" (the option not given) and, for an option that takes a whole
    number, "a margin of 2" (``--margin 2``). None when the clause names a flag the
    command does not have, an option without the value it takes, or an option in
    other words ("when folding", "dimmed a little"): the example cannot then be
    run as written.
    """
    given: list[tuple[str, Option, str | None]] = []
    for option in options:
        words = option.dest.replace("_", " ")
        stem = words if len(words) <= 4 else words[:-1]  # "fold": fold, folding, folded
        said = re.search(rf"(?<![\w-]){re.escape(stem)}", clause, re.I)
        if not said or any(
            re.search(rf"(?<![\w-]){re.escape(f)}(?![\w-])", clause) for f in option.flags
        ):
            continue
        if re.search(rf"\bdefault\s+{re.escape(words)}\b", clause, re.I):
            continue  # "with the default margin": the option is not given
        counted = re.search(rf"\b{re.escape(words)}\s+of\s+(-?\d+)(?![\w.])", clause, re.I)
        if option.integer and counted:
            long = next((f for f in option.flags if f.startswith("--")), option.flags[0])
            given.append((long, option, counted[1]))  # "with a margin of 2": --margin 2
            continue
        return None
    for match in _GIVEN_FLAG.finditer(clause):
        named = next((o for o in options if match[1] in o.flags), None)
        if named is None:
            return None
        if named.metavar is None:
            given.append((match[1], named, None))
            continue
        rest = clause[match.end() :]
        value = _QUOTED.match(rest.lstrip()) or re.match(r"\s*(?:of\s+)?([^\s,;:]+)", rest)
        if value is None:
            return None
        said_value = _said(value) if value.re is _QUOTED else value[1]
        if named.integer and not re.fullmatch(r"-?\d+", said_value):
            return None  # "--start one": a count said in words is not read
        given.append((match[1], named, said_value))
    return given


def _of_a_part(sentence: str, at: int) -> bool:
    """Whether the example at ``at`` stands in parentheses that show a part, not the whole.

    "Each line is reversed (`abc` becomes `cba`)" shows the command on a one-line
    input; "each header cell lower-cased (`" Unit Price"` becomes `unit_price`)"
    shows one cell's name, which is not what the command prints for a file holding
    that cell. Only a clause that speaks of the input, its text or lines, or the
    output lets an example in parentheses stand for the whole command.
    """
    opened = sentence.rfind("(", 0, at)
    if opened < 0 or sentence.rfind(")", 0, at) > opened:
        return False
    return not _WHOLE.search(sentence[:opened])


def shown_outputs(facts: RequirementFacts, options: tuple[Option, ...]) -> list[Shown]:
    r"""Return the outputs the requirement shows for an input, in its words.

    'the input "a\nb" is printed as "1 a\n2 b"', 'with --upper, "hi" becomes
    "HI"': two quoted texts with what the command does between them, and the
    options the clause before them gives. An example naming an option the
    command does not have, or one only in words, is no example; nor is one in
    parentheses that shows a part of the input (``_of_a_part``).
    """
    shown_all: list[Shown] = []
    seen: set[tuple[str, ...]] = set()
    for sentence in facts.sentences:
        quoted = list(_QUOTED.finditer(sentence))
        start = 0
        for given, shown in zip(quoted, quoted[1:], strict=False):
            if given.start() < start or not _SHOWN_AS.match(sentence[given.end() : shown.start()]):
                continue
            if _of_a_part(sentence, given.start()):
                continue
            said = _given(sentence[start : given.start()], options)
            start = shown.end()
            if said is None:
                continue
            example = Shown(sentence, _said(given), _said(shown), tuple(said))
            key = (example.text, example.output, *example.argv)
            if key not in seen:
                seen.add(key)
                shown_all.append(example)
    return shown_all


def transform_examples(
    facts: RequirementFacts, options: tuple[Option, ...], unit: str
) -> list[Example]:
    """Return the tests of the outputs the requirement shows (``shown_outputs``).

    The input is written to a file the command is run on, and its output is
    compared as shown. An output shown without a final newline may be printed
    with one (``_write_output`` adds it) or, by a command that keeps the line
    breaks as they are, without: the words settle the text, not that newline.
    """
    tests: list[Example] = []
    for shown in shown_outputs(facts, options):
        output = shown.output
        if output.endswith("\n") or not output:
            compared = f"done.stdout == {output!r}"
        else:
            compared = f"done.stdout in ({output + chr(10)!r}, {output!r})"
        args = "".join(f", {a!r}" for a in shown.argv)
        why = f"{shown.call(unit)} must return {shown.returned!r}"  # what a repair is shown
        printed = f"{why}; it printed: "
        body = (
            "    source = tmp_path / 'input.txt'\n"
            f"    source.write_text({shown.text!r}, encoding='utf-8')\n"
            f"    done = run_cli(str(source){args})\n"
            # a failure says what was asked, then what the command printed on both streams
            f"    assert done.returncode == 0, {printed!r} + done.stdout + done.stderr\n"
            f"    assert {compared}, {why!r}\n"
        )
        tests.append(Example("output", shown.sentence, body, unit))
    return tests
