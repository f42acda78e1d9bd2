"""Which links name a file of the project, and where they are looked for."""

from __future__ import annotations

from devfactory.checks.tools.docs import exists, target_of

KNOWN = {"README.md", "docs/guide.md", "src/todo/app.py"}


def test_only_links_into_the_project_are_looked_for() -> None:
    assert target_of("docs/guide.md#run") == "docs/guide.md"
    assert target_of("docs/a%20b.md?x=1") == "docs/a b.md"
    for other in ("https://example.org", "mailto:a@b.c", "#install", "//cdn.example.org/x", ""):
        assert target_of(other) is None, other


def test_a_link_is_read_from_its_documents_folder_or_the_root() -> None:
    assert exists("docs/guide.md", "../README.md", KNOWN)
    assert exists("README.md", "src/", KNOWN) and exists("README.md", "/src/todo/app.py", KNOWN)
    assert not exists("docs/guide.md", "README.md", KNOWN)  # that would be docs/README.md
    assert not exists("README.md", "../elsewhere.md", KNOWN)  # outside the project
