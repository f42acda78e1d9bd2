"""What a Dockerfile copies, read as Docker reads it, and looked for in the build context."""

from __future__ import annotations

from devfactory.checks.tools.devops import (
    copy_sources,
    found,
    instructions,
    is_dockerfile,
    missing_sources,
)


def test_instructions_join_continuations_and_skip_comments() -> None:
    text = (
        "# syntax=docker/dockerfile:1\n\nFROM python:3.12-slim\n"
        "RUN pip install \\\n    httpx \\\n  # a note\n    rich\nCOPY a b\n"
    )
    assert list(instructions(text)) == [
        (3, "FROM", "python:3.12-slim"),
        (4, "RUN", "pip install httpx rich"),
        (8, "COPY", "a b"),
    ]


def test_copy_sources_read_flags_json_and_refuse_stages_and_heredocs() -> None:
    assert copy_sources("--chown=app:app src/ pyproject.toml /app/") == ["src/", "pyproject.toml"]
    assert copy_sources('["a b.txt", "c", "/dest/"]') == ["a b.txt", "c"]
    assert copy_sources("--from=build /out/app /app") is None
    assert copy_sources("<<EOF /app/conf\nx\nEOF") is None


def test_a_source_is_found_as_a_file_a_folder_or_a_pattern() -> None:
    known = {"src/todo/__init__.py", "pyproject.toml", "requirements-dev.txt"}
    assert found("src", known) and found("./src/", known) and found("src/todo", known)
    assert (
        found("requirements*.txt", known) and found(".", known) and found("/pyproject.toml", known)
    )
    assert not found("requirements.txt", known) and not found("sr", known)


def test_only_what_no_file_or_plan_holds_is_missing() -> None:
    files = {"Dockerfile": "FROM x:1\nCOPY ${APP} app.py docs/ https://example.org/f /x/\n"}
    [finding] = missing_sources("Dockerfile", {**files, "app.py": ""}, frozenset())
    assert finding.text.startswith("line 2: COPY 'docs/': no file or folder")
    assert (
        missing_sources("Dockerfile", {**files, "app.py": ""}, frozenset({"docs/index.md"})) == []
    )


def test_dockerfiles_are_told_by_name() -> None:
    assert all(map(is_dockerfile, ["Dockerfile", "infra/Dockerfile.prod", "infra/app.dockerfile"]))
    assert not any(map(is_dockerfile, ["dockerfile.md", "infra/ci.yml", "Dockerfiles/x.txt"]))
