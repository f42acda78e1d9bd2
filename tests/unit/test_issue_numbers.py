"""The package never cites an issue number: a comment says why, not which ticket asked for it.

An issue number means nothing to a reader of the code without the tracker, and
it stays behind when the code it named changes. The package's Python, its
YAML (policy, models, pipelines, team specs) and its Markdown (team identity
files, prompts) are read; vendored third-party files are not ours to word.
"""

from __future__ import annotations

import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "devfactory"
ISSUE = re.compile(r"\bissue\s*#?\s*\d+", re.IGNORECASE)
SUFFIXES = (".py", ".yaml", ".yml", ".md")


def test_no_file_of_the_package_cites_an_issue_number() -> None:
    found = []
    for path in sorted(PACKAGE.rglob("*")):
        if path.suffix not in SUFFIXES or "vendor" in path.parts or not path.is_file():
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if ISSUE.search(line):
                found.append(f"{path.relative_to(PACKAGE)}:{number}: {line.strip()}")
    assert not found, "issue numbers in the package (say why instead):\n" + "\n".join(found)


def test_the_pattern_finds_every_way_an_issue_is_cited() -> None:
    for cited in ("(issue 29, part 3)", "Issue #12", "see issue#7", "ISSUE  40"):
        assert ISSUE.search(cited), cited
    for plain in ("a tissue 3 ply", "no issue with 3 files", "issues found: 2"):
        assert not ISSUE.search(plain), plain
