"""Read the links of Markdown documents with markdown-it-py; run in the sandbox, with the tools.

Usage: python -I -B md_links.py WORKSPACE REPORT PATH...

Each PATH (relative to WORKSPACE) is parsed as CommonMark; every link and image it
holds is reported with the line of the block it is in. REPORT gets ``{"tool":
"markdown-it-py", "version": ..., "files": {PATH: [{"line": N, "url": ...}]}}``.
"""

from __future__ import annotations

import json
import sys
from importlib.metadata import version
from pathlib import Path
from typing import Any

MAX_LINKS = 200


def links(text: str) -> list[dict[str, Any]]:
    """Return every link and image target of one document, with its block's first line."""
    from markdown_it import MarkdownIt

    found: list[dict[str, Any]] = []
    for block in MarkdownIt("commonmark").parse(text):
        line = block.map[0] + 1 if block.map else 0
        for token in block.children or []:
            target = token.attrs.get("href") if token.type == "link_open" else None
            if token.type == "image":
                target = token.attrs.get("src")
            if isinstance(target, str):
                found.append({"line": line, "url": target})
    return found[:MAX_LINKS]


def main(workspace: str, report: str, *paths: str) -> None:
    """Read each document's links; write the report."""
    root = Path(workspace)
    files = {p: links((root / p).read_text(encoding="utf-8", errors="replace")) for p in paths}
    out = {"tool": "markdown-it-py", "version": version("markdown-it-py"), "files": files}
    Path(report).write_text(json.dumps(out), encoding="utf-8")


if __name__ == "__main__":
    main(*sys.argv[1:])
