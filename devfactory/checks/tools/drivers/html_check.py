"""Parse HTML as browsers do (html5lib) and read what it refers to; run in the sandbox.

Usage: python -I -B html_check.py WORKSPACE REPORT PATH...

Each PATH (relative to WORKSPACE) is parsed by html5lib, which follows the WHATWG
parsing algorithm and reports each parse error a strict parser would stop at. From
the tree it also reads the local files the page loads (``script src``, ``link
href``, ``img src``, ``source src``), every image without ``alt`` and every form
control a person cannot tell the purpose of (no ``label``, ``aria-label``,
``aria-labelledby`` or ``title``). REPORT gets ``{"tool": "html5lib", "version":
..., "files": {PATH: {"errors": [{"line", "message"}], "assets": [{"line",
"url"}], "unlabelled": [{"line", "message"}]}}}``.
"""

from __future__ import annotations

import json
import sys
from importlib.metadata import version
from pathlib import Path
from typing import Any

MAX_ITEMS = 20
CONTROLS = ("input", "select", "textarea")
UNLABELLED_INPUTS = ("hidden", "submit", "button", "image", "reset")
LOADS = (("script", "src"), ("link", "href"), ("img", "src"), ("source", "src"), ("iframe", "src"))


def local(url: str) -> bool:
    """Say whether a reference names a file of the site (not another origin, data, a fragment)."""
    url = url.strip()
    return (
        bool(url)
        and not url.startswith(("#", "//", "data:", "mailto:", "javascript:"))
        and (":" not in url.split("/")[0])
    )


def check(root: Path, path: str) -> dict[str, Any]:
    """Parse one page; return its parse errors, the local files it loads, its unlabelled parts."""
    import html5lib
    from html5lib.constants import E

    text = (root / path).read_text(encoding="utf-8", errors="replace")
    parser = html5lib.HTMLParser(tree=html5lib.getTreeBuilder("etree"), namespaceHTMLElements=False)
    document = parser.parse(text)
    errors = []
    for (line, _col), code, variables in parser.errors[:MAX_ITEMS]:
        template = E.get(code, code)
        try:
            message = template % variables if variables else template
        except (TypeError, KeyError, ValueError):
            message = str(code)
        errors.append({"line": line, "message": str(message)[:300]})
    # html5lib's etree keeps no line numbers: a part is placed where its attribute is written
    lines = text.splitlines()

    def line_of(attribute: str, value: str, tag: str) -> int:
        written = [f'{attribute}="{value}"', f"{attribute}='{value}'", f"{attribute}={value}"]
        for needles in (written if value else [], [f"<{tag}"]):
            for number, line in enumerate(lines, 1):
                if any(n in line for n in needles):
                    return number
        return 0

    assets = []
    for tag, attribute in LOADS:
        for element in document.iter(tag):
            url = element.get(attribute) or ""
            if tag == "link" and "stylesheet" not in (element.get("rel") or "").lower():
                continue
            if local(url):
                place = line_of(attribute, url, tag)
                assets.append({"line": place, "url": url.split("#")[0].split("?")[0]})
    labelled = {e.get("for") for e in document.iter("label") if e.get("for")}
    inside = {id(c) for label in document.iter("label") for c in label.iter() if c is not label}
    unlabelled = []
    for element in document.iter("img"):
        if element.get("alt") is None:
            src = element.get("src") or ""
            place = line_of("src", src, "img")
            unlabelled.append({"line": place, "message": f"<img src={src!r}> has no alt text"})
    for tag in CONTROLS:
        for element in document.iter(tag):
            if tag == "input" and (element.get("type") or "text").lower() in UNLABELLED_INPUTS:
                continue
            named = (
                element.get("aria-label") or element.get("aria-labelledby") or element.get("title")
            )
            ident = element.get("id")
            if named or id(element) in inside or (ident and ident in labelled):
                continue
            attribute = "name" if element.get("name") else "id"
            name = element.get(attribute) or ""
            place = line_of(attribute, name, tag)
            unlabelled.append(
                {"line": place, "message": f"<{tag} {attribute}={name!r}> has no label"}
            )
    return {
        "errors": errors,
        "assets": assets[: MAX_ITEMS * 5],
        "unlabelled": unlabelled[:MAX_ITEMS],
    }


def main(workspace: str, report: str, *paths: str) -> None:
    """Check each of ``paths``; write the report."""
    files = {path: check(Path(workspace), path) for path in paths}
    out = {"tool": "html5lib", "version": version("html5lib"), "files": files}
    Path(report).write_text(json.dumps(out), encoding="utf-8")


if __name__ == "__main__":
    main(*sys.argv[1:])
