"""A page's HTML parsed as browsers do (html5lib), what it loads found, its parts labelled."""

from __future__ import annotations

import posixpath
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from devfactory.checks.tools.tool_frame import DriverCheck, Finding, Read, Tool, ToolContext


def resolves(page: str, url: str, known: set[str]) -> bool:
    """Say whether a page's local reference names a known file.

    A relative reference is read from the page's folder; one from the site's root
    (``/static/app.css``) names any known file whose path ends with it, since where the
    site's root lies in the project is the server's to say.
    """
    if url.startswith("/"):
        tail = posixpath.normpath(url)
        return any(("/" + path).endswith(tail) for path in known)
    wanted = posixpath.normpath(posixpath.join(posixpath.dirname(page), url))
    return wanted in known or any(("/" + p).endswith("/" + url.lstrip("./")) for p in known)


@dataclass(frozen=True)
class HtmlCheck(DriverCheck):
    """The HTML parses without error, loads only files that exist, and labels its parts."""

    name = "html_valid"
    tool = Tool("html5lib")
    driver = "html_check.py"
    what = "the parser"
    promise = (
        "Each HTML page parses with no error by html5lib, which follows the browsers' parsing "
        "algorithm (a doctype first, tags closed in order, nothing misplaced); every local "
        "script, stylesheet or image it loads is a file written so far or one the build plan "
        "gives; every image has `alt` text and every form control a `<label>` (or "
        "`aria-label`, `aria-labelledby`, `title`)."
    )

    def judges(self, path: str) -> bool:
        """Look at the team's HTML pages."""
        return path.endswith((".html", ".htm"))

    def read(self, report: dict[str, Any], context: ToolContext, paths: Sequence[str]) -> Read:
        """Read each page's parse errors (parsed in the sandbox), then look for what it loads."""
        pages = report["files"]
        known = set(context.files) | set(context.planned)
        findings: list[Finding] = []
        for path in paths:
            page = pages.get(path)
            if not isinstance(page, dict):
                continue
            for item in page.get("errors") or []:
                findings.append(Finding(path, f"line {item.get('line')}: {item.get('message')}"))
            for item in page.get("assets") or []:
                url = str(item.get("url", ""))
                if not resolves(path, url, known):
                    said = f"loads {url!r}, which no file written so far or planned is"
                    findings.append(Finding(path, f"line {item.get('line')}: {said}"))
            for item in page.get("unlabelled") or []:
                findings.append(Finding(path, f"line {item.get('line')}: {item.get('message')}"))
        return Read(paths, findings)
