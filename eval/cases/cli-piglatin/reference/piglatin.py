"""Translate English into Pig Latin, from the words given or from standard input."""

from __future__ import annotations

import argparse
import re
import sys

WORD = re.compile(r"[A-Za-z]+")
VOWELS = "aeiouAEIOU"


def translate_word(word: str, dashes: bool = False) -> str:
    """Return the Pig Latin of one word of ASCII letters."""
    dash = "-" if dashes else ""
    first = next((i for i, letter in enumerate(word) if letter in VOWELS), len(word))
    if first == 0:
        result = word + dash + "way"
    elif first == len(word):
        result = word + dash + "ay"
    else:
        result = word[first:] + dash + word[:first] + "ay"
    if word[0].isupper():
        result = result[0].upper() + result[1:].lower()
    return result


def translate(text: str, dashes: bool = False) -> str:
    """Translate every word of ``text``, leaving everything else as it is."""
    return WORD.sub(lambda match: translate_word(match.group(), dashes), text)


def main(argv: list[str] | None = None) -> int:
    """Run the command; return its exit code."""
    parser = argparse.ArgumentParser(prog="piglatin", description=__doc__)
    parser.add_argument("words", nargs="*", help="words to translate (default: standard input)")
    parser.add_argument("--dashes", action="store_true", help="a hyphen before the moved part")
    args = parser.parse_args(argv)
    if args.words:
        print(translate(" ".join(args.words), args.dashes))
    else:
        sys.stdout.write(translate(sys.stdin.read(), args.dashes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
