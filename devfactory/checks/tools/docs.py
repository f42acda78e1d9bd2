"""Documentation's links: every file a document links to exists (markdown-it-py reads them)."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from devfactory.checks.tools.tool_frame import DriverCheck, Finding, Read, Tool, ToolContext

_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*:", re.I)


def target_of(url: str) -> str | None:
    """Return the file a link names in the project (None: another site, mail, or a heading)."""
    url = url.strip()
    if not url or url.startswith(("#", "//")) or _SCHEME.match(url):
        return None
    return unquote(url.split("#", 1)[0].split("?", 1)[0]) or None


def exists(document: str, target: str, known: set[str]) -> bool:
    """Say whether a link's target is a known file, or a folder holding one.

    It is read from ``document``'s folder, or from the project's root when it starts
    with ``/``; one that leads outside the project leads to nothing delivered.
    """
    base = "" if target.startswith("/") else posixpath.dirname(document)
    wanted = posixpath.normpath(posixpath.join(base, target.lstrip("/")))
    if wanted.startswith("../") or wanted == "..":
        return False  # outside the project: nothing delivered is there
    return wanted in known or any(path.startswith(wanted.rstrip("/") + "/") for path in known)


@dataclass(frozen=True)
class DocLinksCheck(DriverCheck):
    """Every file a document links to is one written so far or one the plan gives."""

    name = "doc_links"
    tool = Tool("markdown-it-py")
    driver = "md_links.py"
    invocation = "markdown-it-py links of"
    what = "the link reader"
    promise = (
        "Every link and image in your Markdown that names a file of the project (not another "
        "site, not a heading of the same page) leads to a file written so far or one the build "
        "plan gives, read from the document's own folder (or from the project's root when it "
        "starts with `/`); markdown-it-py reads the links as CommonMark does."
    )

    def judges(self, path: str) -> bool:
        """Look at the team's Markdown documents."""
        return path.endswith((".md", ".markdown"))

    def read(self, report: dict[str, Any], context: ToolContext, paths: Sequence[str]) -> Read:
        """Look for what each document's links name (read in the sandbox)."""
        documents = report["files"]
        known = set(context.files) | set(context.planned)
        findings = []
        for path in paths:
            for item in documents.get(path) or []:
                target = target_of(str(item.get("url", ""))) if isinstance(item, dict) else None
                if target is not None and not exists(path, target, known):
                    said = f"links to {target!r}, which no file written so far or planned is"
                    findings.append(Finding(path, f"line {item.get('line')}: {said}"))
        return Read(paths, findings)
