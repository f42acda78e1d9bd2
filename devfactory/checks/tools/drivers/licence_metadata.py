"""Read the licences of installed distributions from their metadata; run in the sandbox.

Usage: python -I -B licence_metadata.py WORKSPACE REPORT NAME...

Run with the project's own environment, so that what is read is what was installed
for it. For each distribution NAME, REPORT gets its version, its ``License-Expression``
(PEP 639), its ``License`` field (its first 2,000 characters: some packages put the
whole text there) and its ``License ::`` classifiers, or ``"missing": true``.
"""

from __future__ import annotations

import json
import sys
from importlib.metadata import PackageNotFoundError, metadata
from pathlib import Path


def read(name: str) -> dict[str, object]:
    """Return what one distribution's metadata says of its licence."""
    try:
        found = metadata(name)
    except PackageNotFoundError:
        return {"missing": True}
    return {
        "version": found["Version"] or "",
        "expression": found["License-Expression"] or "",
        "license": (found["License"] or "")[:2000],
        "classifiers": [c for c in found.get_all("Classifier") or [] if c.startswith("License ::")],
    }


def main(workspace: str, report: str, *names: str) -> None:
    """Read each of ``names``; write the report."""
    out = {"distributions": {name: read(name) for name in names}}
    Path(report).write_text(json.dumps(out), encoding="utf-8")


if __name__ == "__main__":
    main(*sys.argv[1:])
