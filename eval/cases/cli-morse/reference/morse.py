"""Translate text to International Morse code, and Morse code back to text."""

from __future__ import annotations

import argparse
import string
import sys

CODES = dict(
    zip(
        string.ascii_uppercase + string.digits,
        (
            ".- -... -.-. -.. . ..-. --. .... .. .--- -.- .-.. -- -. --- .--. --.- .-. ... - "
            "..- ...- .-- -..- -.-- --.. ----- .---- ..--- ...-- ....- ..... -.... --... "
            "---.. ----."
        ).split(),
        strict=True,
    )
)
LETTERS = {code: letter for letter, code in CODES.items()}


class Untranslatable(ValueError):
    """A character or code has no translation."""


def encode(text: str) -> str:
    """Return ``text`` in Morse code: codes split by a space, words by `` / ``."""
    words = []
    for word in text.split():
        try:
            words.append(" ".join(CODES[char] for char in word.upper()))
        except KeyError as exc:
            raise Untranslatable(f"cannot encode {exc.args[0]!r}") from None
    return " / ".join(words)


def decode(code: str) -> str:
    """Return the upper-case text that Morse ``code`` spells."""
    words = []
    for word in code.split("/"):
        try:
            words.append("".join(LETTERS[part] for part in word.split()))
        except KeyError as exc:
            raise Untranslatable(f"no letter has the code {exc.args[0]!r}") from None
    return " ".join(words)


def main(argv: list[str] | None = None) -> int:
    """Run the command; return its exit code."""
    parser = argparse.ArgumentParser(prog="morse", description=__doc__)
    parser.add_argument("text", nargs="+", help="the text to translate")
    parser.add_argument("--decode", action="store_true", help="read Morse code, print text")
    args = parser.parse_args(argv)
    text = " ".join(args.text)
    try:
        print(decode(text) if args.decode else encode(text))
    except Untranslatable as exc:
        print(f"morse: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
