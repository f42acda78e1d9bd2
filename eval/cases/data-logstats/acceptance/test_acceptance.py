"""Acceptance tests for `python -m logstats`, written from the requirement alone."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

LOG = """\
127.0.0.1 - - [10/Oct/2023:13:55:36 +0000] "GET /index.html HTTP/1.1" 200 2326
10.0.0.2 - frank [10/Oct/2023:13:55:37 +0000] "POST /api/items HTTP/1.1" 201 512
127.0.0.1 - - [10/Oct/2023:13:55:38 +0000] "GET /index.html?ref=mail HTTP/1.1" 200 2326
10.0.0.3 - - [10/Oct/2023:13:55:39 +0000] "GET /missing HTTP/1.1" 404 -
this line is not a log line

10.0.0.2 - - [10/Oct/2023:13:55:40 +0000] "DELETE /api/items HTTP/1.1" 204 0
10.0.0.4 - - [10/Oct/2023:13:55:41 +0000] "GET /about HTTP/1.0" 200 100
"""


def logstats(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "logstats", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=30,
    )


@pytest.fixture
def summary(tmp_path: Path) -> dict:
    (tmp_path / "access.log").write_text(LOG, encoding="utf-8")
    result = logstats("access.log", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_prints_exactly_the_stated_keys(summary: dict) -> None:
    assert set(summary) == {
        "requests",
        "malformed",
        "bytes",
        "status",
        "methods",
        "top_paths",
        "unique_hosts",
    }


def test_counts_requests_and_malformed_lines(summary: dict) -> None:
    assert summary["requests"] == 6
    assert summary["malformed"] == 2


def test_sums_bytes_with_dash_as_zero(summary: dict) -> None:
    assert summary["bytes"] == 2326 + 512 + 2326 + 0 + 0 + 100


def test_counts_by_status_and_method(summary: dict) -> None:
    assert summary["status"] == {"200": 3, "201": 1, "404": 1, "204": 1}
    assert summary["methods"] == {"GET": 4, "POST": 1, "DELETE": 1}


def test_top_paths_drop_the_query_and_break_ties_by_path(summary: dict) -> None:
    assert summary["top_paths"] == [["/api/items", 2], ["/index.html", 2], ["/about", 1]]


def test_unique_hosts(summary: dict) -> None:
    assert summary["unique_hosts"] == 4


def test_top_option_limits_the_paths(tmp_path: Path) -> None:
    (tmp_path / "access.log").write_text(LOG, encoding="utf-8")
    result = logstats("access.log", "--top", "1", cwd=tmp_path)
    assert result.returncode == 0
    assert json.loads(result.stdout)["top_paths"] == [["/api/items", 2]]


def test_unreadable_file_exits_1_and_bad_top_exits_2(tmp_path: Path) -> None:
    missing = logstats("nope.log", cwd=tmp_path)
    assert missing.returncode == 1
    assert missing.stderr
    (tmp_path / "access.log").write_text(LOG, encoding="utf-8")
    assert logstats("access.log", "--top", "0", cwd=tmp_path).returncode == 2
