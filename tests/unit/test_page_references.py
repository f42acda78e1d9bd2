"""What a page loads: which references are the site's own, and where they are looked for."""

from __future__ import annotations

from devfactory.checks.tools.drivers.html_check import local
from devfactory.checks.tools.frontend import resolves

KNOWN = {"web/index.html", "web/static/app.css", "src/todo/static/app.js"}


def test_only_the_sites_own_files_are_references_to_look_for() -> None:
    assert local("static/app.css") and local("/static/app.js") and local("../img/a.png")
    for other in (
        "https://cdn.example.org/x.js",
        "//cdn.example.org/x.js",
        "data:image/png;base64,AA",
        "#top",
        "mailto:a@b.c",
        "",
    ):
        assert not local(other), other


def test_a_reference_is_read_from_the_page_or_from_the_sites_root() -> None:
    assert resolves("web/index.html", "static/app.css", KNOWN)
    assert resolves("web/index.html", "./static/app.css", KNOWN)
    assert resolves("web/index.html", "/static/app.js", KNOWN)  # the server says where / is
    assert not resolves("web/index.html", "static/theme.css", KNOWN)
    assert not resolves("web/index.html", "/static/theme.css", KNOWN)
