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
"""

from __future__ import annotations

import re

CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
BIDI = re.compile(r"[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _visible(match: re.Match[str]) -> str:
    return f"<U+{ord(match.group(0)):04X}>"


def shown(value: object) -> str:
    """Return ``value`` as text safe to show: controls dropped, bidi controls made visible."""
    return BIDI.sub(_visible, CONTROL.sub("", str(value)))
