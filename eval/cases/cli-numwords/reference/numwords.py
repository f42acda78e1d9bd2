"""Write whole numbers from 0 to 999999 in English words, or as ordinals."""

from __future__ import annotations

import argparse
import sys

ONES = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen"
).split()
TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
ORDINAL = {"one": "first", "two": "second", "three": "third", "five": "fifth"}
ORDINAL |= {"eight": "eighth", "nine": "ninth", "twelve": "twelfth"}
LARGEST = 999_999


def _below_thousand(number: int) -> list[str]:
    words = []
    hundreds, rest = divmod(number, 100)
    if hundreds:
        words += [ONES[hundreds], "hundred"]
    if rest >= 20:
        tens, ones = divmod(rest, 10)
        words.append(TENS[tens] + (f"-{ONES[ones]}" if ones else ""))
    elif rest:
        words.append(ONES[rest])
    return words


def in_words(number: int) -> str:
    """Return ``number`` (0 to 999999) in words: ``twenty-one``, ``one hundred five``."""
    if not 0 <= number <= LARGEST:
        raise ValueError(f"{number} is not from 0 to {LARGEST}")
    if number == 0:
        return "zero"
    thousands, rest = divmod(number, 1000)
    words = [*_below_thousand(thousands), "thousand"] if thousands else []
    return " ".join(words + _below_thousand(rest))


def ordinal(number: int) -> str:
    """Return the position ``number`` names: ``first``, ``twenty-first``, ``one hundredth``."""
    head, _, last = in_words(number).rpartition(" ")
    stem, hyphen, unit = last.rpartition("-")
    if unit in ORDINAL:
        unit = ORDINAL[unit]
    elif unit.endswith("y"):
        unit = unit[:-1] + "ieth"
    else:
        unit += "th"
    return f"{head} {stem}{hyphen}{unit}".strip()


def main(argv: list[str] | None = None) -> int:
    """Run the program; return its exit code."""
    parser = argparse.ArgumentParser(prog="numwords", description=__doc__)
    parser.add_argument("numbers", nargs="+", metavar="N")
    parser.add_argument("--ordinal", action="store_true", help="name positions")
    args = parser.parse_args(argv)
    lines = []
    for text in args.numbers:
        try:
            number = int(text)
            lines.append(ordinal(number) if args.ordinal else in_words(number))
        except ValueError:
            print(f"numwords: not a whole number from 0 to {LARGEST}: {text}", file=sys.stderr)
            return 1
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
