"""A run's files leave the factory inert: text or a download, never markup a browser runs."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from devfactory.api.records import inert
from devfactory.chat.view import artifact_files, attachment_mime, left_out_markdown
from devfactory.factory.artifacts import write_file
from devfactory.settings import Settings

PAGE = b"<!doctype html><script>fetch('/operations/stop', {method: 'POST'})</script>"


def test_markup_is_served_as_plain_text_with_no_script_allowed() -> None:
    response = inert(PAGE, "evil.html")
    assert response.body == PAGE
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["content-security-policy"] == "sandbox; default-src 'none'"
    assert "content-disposition" not in response.headers


def test_bytes_that_are_not_utf8_are_a_download_under_a_safe_name() -> None:
    response = inert(b"\xff\xfe<svg onload=alert(1)>", 'r\u00e9sum\u00e9 "x".svg')
    assert response.headers["content-type"] == "application/octet-stream"
    disposition = response.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="r_sum___x_.svg"')
    assert disposition.endswith("filename*=UTF-8''r%C3%A9sum%C3%A9%20%22x%22.svg")
    assert "sandbox" in response.headers["content-security-policy"]


def test_the_chat_serves_an_attachment_as_text_or_bytes_never_by_its_name() -> None:
    assert attachment_mime(PAGE) == "text/plain"
    assert attachment_mime(b"\x89PNG\r\n\x1a\n\xff") == "application/octet-stream"


def stage(*paths: str) -> dict[str, object]:
    return {
        "outcome": "PASSED",
        "result": {"artifacts": [{"path": p} for p in paths]},
    }


def test_the_chat_attaches_up_to_its_cap_in_all_and_names_what_it_left_out(
    tmp_path: Path,
) -> None:
    for name, size in (("a.md", 400), ("b.md", 600), ("SUMMARY.md", 23)):
        write_file(tmp_path, name, "x" * (size - 1))  # the writer ends each with a newline
    (tmp_path / "empty.md").touch()
    records = [stage("a.md", "b.md", "missing.md", "empty.md")]
    at_cap = artifact_files(tmp_path, records, file_limit=600, total_limit=1023)
    assert [p for p, _ in at_cap.attached] == ["a.md", "b.md", "SUMMARY.md"]
    assert at_cap.left_out == []  # the missing and the empty file have nothing to attach
    past = artifact_files(tmp_path, records, file_limit=600, total_limit=1022)
    assert [p for p, _ in past.attached] == ["a.md", "b.md"]
    assert past.left_out == [("SUMMARY.md", "past the 1022 bytes the chat attaches")]
    one_file = artifact_files(tmp_path, records, file_limit=599, total_limit=10_000)
    assert dict(one_file.left_out) == {"b.md": "is larger than 599 bytes"}
    assert "`b.md`: is larger than 599 bytes" in left_out_markdown(one_file.left_out)
    assert left_out_markdown([]) == ""


@pytest.mark.parametrize(
    ("name", "low", "high"),
    [
        ("run_file_max_bytes", 64 * 1024, 1024 * 1024 * 1024),
        ("run_files_listed", 100, 1_000_000),
        ("chat_attachment_bytes", 64 * 1024, 1024 * 1024 * 1024),
    ],
)
def test_the_run_file_caps_are_bounded(tmp_path: Path, name: str, low: int, high: int) -> None:
    for good in (low, high):
        assert Settings(data_dir=tmp_path, **{name: good}).flat()[name] == good
    for bad in (low - 1, high + 1):
        with pytest.raises(ValidationError):
            Settings(data_dir=tmp_path, **{name: bad})
