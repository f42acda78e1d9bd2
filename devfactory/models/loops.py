"""A model reply that loops: the same paragraphs or lines written over until the token limit.

Small models fall into loops: a design document repeats its sections word for
word, a tests file writes one ``parametrize`` row forty times (the 1.5B coder
did in the demo's QA stage, three attempts of three). More tokens only repeat
the loop, so a reply that ends in one is never continued. Prose keeps what came
before the loop (``drop_repeats``: the repeated paragraphs are dropped; a list
written over line by line ends after its first copy, ``line_loop``); code is asked for
again, sampled wider and with a repeat penalty, and a draft that loops again is
reported with the line it repeated (``line_loop``), so the next attempt is told
what went wrong. A loop inside a line (``phrase_loop``: the same few words over
and over) makes a markdown reply asked for again the same way; one that loops
again ends after the phrase's first copy.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n")
MIN_REPEAT_CHARS: Final = 60  # shorter paragraphs (headings, "- Inputs:") may repeat by design
MAX_LOOP_PERIOD: Final = 6  # lines in the block a loop repeats
MIN_LOOP_LINES: Final = 12  # lines of repeats before a reply counts as looping
MIN_LOOP_COPIES: Final = 4  # copies of the block, the first one included
MIN_LOOP_CHARS: Final = 8  # a block of blank lines or closing brackets is no loop
_NUMBER = re.compile(r"\d+")
_WORD = re.compile(r"\S+")
MAX_PHRASE_WORDS: Final = 40  # words in the phrase a loop inside a line repeats
MIN_PHRASE_COPIES: Final = 6  # copies of the phrase, the first one included
MIN_PHRASE_LOOP_WORDS: Final = 60  # words of repeats before a reply counts as looping


def drop_repeats(text: str, *, cut: bool) -> tuple[str, int, bool]:
    """Drop the paragraphs a looping reply repeats word for word.

    Return the text, how many paragraphs went, and whether the reply ended in
    the loop (its last paragraph went).

    A run of paragraphs that each repeat an earlier one goes when it holds one
    of ``MIN_REPEAT_CHARS`` or more (a repeated section, its headings with it);
    a run of short repeats alone ("### Inputs" under each component) stays.
    When the reply was ``cut`` at the token limit, a last paragraph that is the
    start of an earlier one counts as a long repeat. The text is returned
    unchanged when nothing goes.
    """
    paragraphs = _PARAGRAPH_BREAK.split(text.strip())
    keys = [" ".join(p.split()) for p in paragraphs]
    repeats = [k in keys[:i] for i, k in enumerate(keys)]
    long = [r and len(k) >= MIN_REPEAT_CHARS for r, k in zip(repeats, keys, strict=True)]
    if cut and any(k != keys[-1] and k.startswith(keys[-1]) for k in keys[:-1]):
        repeats[-1] = long[-1] = True
    drop = [False] * len(keys)
    start = 0
    while start < len(keys):
        end = start
        while end < len(keys) and repeats[end]:
            end += 1
        if any(long[start:end]):
            drop[start:end] = [True] * (end - start)
        start = end + 1
    if not any(drop):
        return text, 0, False
    kept = [p for p, gone in zip(paragraphs, drop, strict=True) if not gone]
    return "\n\n".join(kept).strip("\n"), sum(drop), drop[-1]


@dataclass(frozen=True)
class LineLoop:
    """The block of lines a reply cut off at the token limit kept repeating to its end."""

    kept: str  # the reply up to the end of the block's first copy
    block: tuple[str, ...]  # the repeated lines
    copies: int  # how many times it was written, the first one included

    def describe(self) -> str:
        """Say in one line what was repeated, for the stage's feedback and record."""
        first = next(line.strip() for line in self.block if line.strip())
        shown = first if len(first) <= 80 else first[:77] + "..."
        lines = "line" if len(self.block) == 1 else f"{len(self.block)}-line block with"
        return f"the {lines} `{shown}` written {self.copies} times"


def line_loop(text: str, *, prose: bool = False) -> LineLoop | None:
    """Return the loop a reply cut off at the token limit ends in; None when it ends in none.

    The reply's last line is left out (the limit cut it); before it, the same
    block of one to ``MAX_LOOP_PERIOD`` lines must repeat back to back at least
    ``MIN_LOOP_COPIES`` times over ``MIN_LOOP_LINES`` lines or more, and hold a
    line of ``MIN_LOOP_CHARS`` characters: a few equal assertions or blank
    lines are not a loop, a test table of one row forty times is. In ``prose``
    numbers are not compared: a document counting up is a loop too (the 1.5B wrote
    "21. The input text will not contain ..." to item 49 of a business analysis
    and a table row "| CC1 | CC1.1 | ... |" to CC80, 3 attempts of 3); in code a
    table of cases that differ in their numbers is no loop.
    """
    kept_lines = text.splitlines()[:-1]
    lines = [_NUMBER.sub("#", line) for line in kept_lines] if prose else kept_lines
    best: LineLoop | None = None
    for period in range(1, MAX_LOOP_PERIOD + 1):
        block = lines[len(lines) - period :]
        if len(block) < period or max((len(x.strip()) for x in block), default=0) < MIN_LOOP_CHARS:
            continue
        start = len(lines) - period
        while start >= period and lines[start - period : start] == block:
            start -= period
        copies = (len(lines) - start) // period
        if copies < MIN_LOOP_COPIES or copies * period < MIN_LOOP_LINES:
            continue
        if best is None or copies * period > best.copies * len(best.block):
            kept = "\n".join(kept_lines[: start + period]) + "\n"
            best = LineLoop(kept, tuple(kept_lines[start : start + period]), copies)
    return best


@dataclass(frozen=True)
class PhraseLoop:
    """The phrase a reply cut off at the token limit kept repeating to its end, within lines."""

    kept: str  # the reply up to the end of the phrase's first copy
    phrase: str  # the repeated words
    copies: int  # how many times it was written, the first one included

    def describe(self) -> str:
        """Say in one line what was repeated, for the stage's feedback and record."""
        shown = self.phrase if len(self.phrase) <= 80 else self.phrase[:77] + "..."
        return f"the words `{shown}` written {self.copies} times"


def phrase_loop(text: str) -> PhraseLoop | None:
    """Return the loop of words a reply cut off at the token limit ends in; None when none.

    ``line_loop`` sees a block of lines written over; a model can loop inside
    one line as well (the 1.5B's business analysis listed an open question
    that grew by "and leading and trailing zeros and hyphens and spaces" until
    the token limit, 3 attempts of 3). The reply's last word is left out (the
    limit cut it); before it, the same 2 to ``MAX_PHRASE_WORDS`` words must
    repeat back to back at least ``MIN_PHRASE_COPIES`` times over
    ``MIN_PHRASE_LOOP_WORDS`` words or more. Line breaks count as spaces, and
    numbers are compared as they are.
    """
    spans = [m.span() for m in _WORD.finditer(text)][:-1]
    words = [text[a:b] for a, b in spans]
    best: PhraseLoop | None = None
    for period in range(2, MAX_PHRASE_WORDS + 1):
        end = len(words)
        start = end - period
        if start < period:
            break
        while start >= period and words[start - period : start] == words[start : start + period]:
            start -= period
        while start > 0 and words[start - 1] == words[start - 1 + period]:
            start -= 1  # the loop's first copy begins where the repeats begin, in any phase
        copies = (end - start) // period
        if copies < MIN_PHRASE_COPIES or copies * period < MIN_PHRASE_LOOP_WORDS:
            continue
        if best is None or copies * period > best.copies * len(best.phrase.split()):
            last = start + period - 1
            best = PhraseLoop(
                text[: spans[last][1]], " ".join(words[start : start + period]), copies
            )
    return best
