"""The console's pages run only its own script files, and its sanitizer is the one recorded.

Every page of the console's ``pages`` router carries ``PAGE_POLICY`` (with the
edge's ``frame-ancestors`` merged in); its HTML holds no inline script, handler
or style; DOMPurify is served from the console's own folder, byte for byte the
npm package's file that ``vendor/vendored.json`` records.
"""

from __future__ import annotations

import hashlib
import json
import re
from html.parser import HTMLParser

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from devfactory.api import console_pages
from devfactory.webguard import SecurityHeaders

VENDOR = console_pages.STATIC / "vendor"
RECORD = json.loads((VENDOR / "vendored.json").read_text("utf-8"))


def test_the_vendored_dompurify_is_the_recorded_version_byte_for_byte() -> None:
    record = RECORD["dompurify"]
    assert re.fullmatch(r"3\.\d+\.\d+", record["version"])
    assert record["integrity"].startswith("sha512-")
    for name, entry in record["files"].items():
        found = hashlib.sha256((VENDOR / name).read_bytes()).hexdigest()
        assert found == entry["sha256"], f"{name} is not the file vendored.json records"
    script = (VENDOR / "dompurify" / "purify.min.js").read_text("utf-8")
    assert script.startswith(f"/*! @license DOMPurify {record['version']} ")
    assert "Apache License" in (VENDOR / "dompurify" / "LICENSE").read_text("utf-8")
    on_disk = {p.relative_to(VENDOR).as_posix() for p in VENDOR.rglob("*") if p.is_file()}
    assert on_disk == {*record["files"], "vendored.json", "README.md"}  # nothing unrecorded


class Tags(HTMLParser):
    """Collect a page's scripts, and every inline script, handler and style it holds."""

    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[str] = []
        self.inline: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        for name, _ in attrs:
            if name.startswith("on") or name == "style":
                self.inline.append(f"{tag} {name}")
        if tag == "style":
            self.inline.append("style element")
        if tag == "script":
            self._in_script = True
            self.scripts.append(str(found.get("src") or ""))

    def handle_endtag(self, tag: str) -> None:
        self._in_script = self._in_script and tag != "script"

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline.append("script body")


@pytest.mark.parametrize("page", ["console.html", "signin.html"])
def test_a_console_page_holds_no_inline_script_handler_or_style(page: str) -> None:
    tags = Tags()
    tags.feed((console_pages.STATIC / page).read_text("utf-8"))
    assert tags.inline == []
    assert tags.scripts and all(s.startswith("/console/static/") for s in tags.scripts)


def test_the_console_loads_dompurify_before_its_own_script() -> None:
    tags = Tags()
    tags.feed((console_pages.STATIC / "console.html").read_text("utf-8"))
    assert tags.scripts == [
        "/console/static/vendor/dompurify/purify.min.js",
        "/console/static/console.js",
    ]


def test_the_console_script_has_no_blocklist_of_its_own() -> None:
    script = (console_pages.STATIC / "console.js").read_text("utf-8")
    assert (
        "DOMPurify.sanitize(" in script
        and "USE_PROFILES: { svg: true, svgFilters: true }" in script
    )
    assert "foreignObject, iframe" not in script  # the hand-written blocklist is gone
    assert not re.search(r"setAttribute\(\s*[\"']style", script)  # the policy refuses inline style


def served_pages() -> TestClient:
    """Serve the console's pages behind the edge's headers, as ``create_app`` does."""
    app = FastAPI()
    app.include_router(console_pages.pages)
    app.add_middleware(SecurityHeaders, frame_ancestors=())
    return TestClient(app)


def page_paths() -> list[str]:
    return sorted(
        route.path
        for route in console_pages.pages.routes
        if isinstance(route, APIRoute) and "GET" in route.methods
    )


def test_every_console_page_route_carries_the_policy() -> None:
    routes = [r for r in console_pages.pages.routes if isinstance(r, APIRoute)]
    assert routes and all(isinstance(r, console_pages.ConsolePage) for r in routes)
    assert {"/console", "/console/", "/console/signin"} <= set(page_paths())


@pytest.mark.parametrize("path", page_paths())
def test_each_console_page_is_served_with_a_policy_that_runs_only_its_own_scripts(
    path: str,
) -> None:
    with served_pages() as http:
        answer = http.get(path)
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/html")
    directives = {
        d.split()[0]: d.split()[1:] for d in answer.headers["content-security-policy"].split("; ")
    }
    assert directives["script-src"] == ["'self'"]
    assert directives["default-src"] == ["'self'"]
    assert directives["object-src"] == ["'none'"] and directives["base-uri"] == ["'none'"]
    assert directives["form-action"] == ["'self'"] and directives["style-src"] == ["'self'"]
    assert directives["frame-ancestors"] == ["'none'"]  # the edge's framing, merged in
    assert len(answer.headers.get_list("content-security-policy")) == 1
