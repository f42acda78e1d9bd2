"""Text shown to people: nothing in it may act on the terminal or reorder what is read.

Requirements, answers, model output and code reach terminals (the CLI,
``git log`` of a run's folder) and documents (``SUMMARY.md``). Two kinds of
character there are not text: C0/C1 control characters (escape sequences,
bells, carriage returns that overwrite a line) and Unicode's bidirectional
controls (U+202A-U+202E, U+2066-U+2069, the marks U+200E, U+200F and U+061C),
which make a terminal show characters in another order than they are stored
("Trojan Source", CVE-2021-42574). Control characters are dropped; a
bidirectional control is replaced by its visible code point (``<U+202E>``),
so a reader sees that someone tried.

Two stricter forms, for what must stay one line:

- ``one_line``: a log line or a field of a record (``INCIDENTS.md``). Every
  control character, newlines included, is written as Python writes it in a
  string (a backslash, then ``n`` or ``x1b``) and every invisible formatting
  character as its code point (``<U+202E>``), so a value can neither start a
  forged line nor hide what it says.
- ``name_problem``: what no name a person gives may hold (a project, a
  user, a pipeline, a filter, a branch): a name is refused, not repaired, where
  it enters (the API's schemas, the CLI's options, ``reports.checked_name``).
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
import unicodedata
from collections.abc import Sequence
from pathlib import Path

CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
BIDI = re.compile(r"[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
# Every control character (C0 with newline and tab, DEL, C1) and the invisible formatting
# characters: the bidi controls, the Mongolian vowel separator, zero-width spaces and
# joiners, the line and paragraph separators, word joiners and invisible operators, the
# byte order mark and the interlinear annotation marks.
UNSEEN = re.compile(
    r"[\x00-\x1f\x7f-\x9f\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb]"
)
_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
# The Unicode categories of characters a name may not hold: controls, formatting
# characters (bidi controls, zero-width ones, tags), line and paragraph separators, and
# surrogates (half a character, never valid text).
_HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs"})


def _visible(match: re.Match[str]) -> str:
    return f"<U+{ord(match.group(0)):04X}>"


def shown(value: object) -> str:
    """Return ``value`` as text safe to show: controls dropped, bidi controls made visible."""
    return BIDI.sub(_visible, CONTROL.sub("", str(value)))


def _escaped(match: re.Match[str]) -> str:
    char = match.group(0)
    code = ord(char)
    if char in _ESCAPES:
        return _ESCAPES[char]
    return f"\\x{code:02x}" if code < 0x100 else f"<U+{code:04X}>"


def one_line(value: object) -> str:
    """Return ``value`` as one line: every control and invisible character a visible escape."""
    return UNSEEN.sub(_escaped, str(value))


def hidden_character(text: str) -> str | None:
    """Return the first character of ``text`` not shown as itself, as ``U+XXXX``; None if none."""
    for char in text:
        if unicodedata.category(char) in _HIDDEN_CATEGORIES:
            return f"U+{ord(char):04X}"
    return None


def name_problem(name: str, what: str) -> str | None:
    """Say what is wrong with a name a person gave (None: nothing), as a refusal says it.

    A name is shown on one line in logs, records and terminals, so it may hold no
    control character (newlines, NUL, escape sequences) and no invisible
    formatting character (bidirectional controls, zero-width characters): with
    one, a name could forge a line or read as another name.
    """
    found = hidden_character(name)
    if found is None:
        return None
    return f"{what} holds a control or invisible character ({found}); a name is one line of text"


# Words that start with a vowel letter but a consonant sound ("a user"), and the reverse.
_SAYS_CONSONANT = ("eu", "one", "uni", "use", "usu", "uti")
_SAYS_VOWEL = ("hour", "honest", "honour")


def with_article(word: str) -> str:
    """Return ``word`` after "a" or "an", as it is said ("an approver", "a user", "a review")."""
    low = word.lower()
    vowel = low[:1] in set("aeiou") and not low.startswith(_SAYS_CONSONANT)
    return f"{'an' if vowel or low.startswith(_SAYS_VOWEL) else 'a'} {word}"


# What a host path is made of, after its known start: the characters up to a space, a quote,
# a bracket or a separator that ends a path in a message (``file.py:12``, ``(path)``).
_PATH_REST = r"(?:/[^\s'\"()\[\]{}:,;<>|`]*)*"


def host_places(*extra: str | os.PathLike[str]) -> tuple[str, ...]:
    """Return the places of this machine a message may name: home, Python's, the temp folder.

    ``extra`` adds the factory's own (its data directory); each is given as it
    resolves, and only where it is more than ``/``.
    """
    places = {
        str(Path.home()),
        sys.prefix,
        sys.base_prefix,
        sys.exec_prefix,
        tempfile.gettempdir(),
        str(Path(__file__).resolve().parent.parent),  # the factory's own sources
        *(str(p) for p in extra),
    }
    return tuple(sorted({p.rstrip("/") for p in places if p.rstrip("/")}, key=len, reverse=True))


def unhosted(
    text: str, root: str | os.PathLike[str] | None = None, places: Sequence[str] = ()
) -> str:
    """Return ``text`` without this machine's paths: names relative to ``root``, else the last name.

    A path inside ``root`` (the run's folder) becomes the name a reader of the
    run knows it by (``tests/test_x.py``; the folder itself ``.``); one inside
    any of ``places`` (``host_places()``: home, Python's, the temp folder) keeps
    only its last name (``…/__init__.py``), so neither the machine's layout nor
    its user names reach a commit, a record or a screen. Any ``/home/<name>`` or
    ``/Users/<name>`` left is written ``~``.
    """
    if root is not None:
        start = re.escape(str(root).rstrip("/"))
        text = re.sub(
            rf"(?<![\w.~/-]){start}({_PATH_REST})",
            lambda m: m.group(1).lstrip("/") or ".",
            text,
        )
    for place in places or host_places():
        text = re.sub(
            rf"(?<![\w.~/-]){re.escape(place)}({_PATH_REST})",
            lambda m: "…/" + (m.group(1).rstrip("/").rsplit("/", 1)[-1] or "…"),
            text,
        )
    return re.sub(r"(?<![\w.~/-])/(?:home|Users)/[^\s/'\"]+", "~", text)
