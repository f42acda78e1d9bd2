"""The factory's folders and files are its user's alone (issue 58 item 10).

``keep_private`` sets every entry point's umask and narrows a data directory an
earlier version left open; the parts another user must read say so where they
are made (the sandbox's /etc files). The whole of a real run is walked in
``tests/integration/test_private_files.py``.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

import pytest

from devfactory.private_files import keep_private, narrow
from devfactory.repos.workspace import Workspace
from devfactory.runfiles import write_file
from devfactory.sandbox.isolation import support_etc
from devfactory.sandbox.ownership import SANDBOX_HOST_ID


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def test_an_open_data_directory_is_narrowed_and_the_log_says_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Issue 58 item 10: 0755 from an earlier version becomes 0700, in a warning."""
    data = tmp_path / "data"
    data.mkdir()
    data.chmod(0o755)
    with caplog.at_level(logging.WARNING, logger="devfactory.private_files"):
        keep_private(data, None, tmp_path / "not-there-yet")
    assert mode(data) == 0o700
    assert any(str(data) in r.getMessage() and "0755" in r.getMessage() for r in caplog.records)
    assert not (tmp_path / "not-there-yet").exists()  # made later, under the umask
    caplog.clear()
    keep_private(data)
    assert not caplog.records  # nothing to say the second time


def test_a_runs_files_and_history_are_private_whatever_the_umask(tmp_path: Path) -> None:
    """Issue 58 item 10: under a library caller's umask 0022, run files 0600 and .git 0700."""
    os.umask(0o022)
    write_file(tmp_path, "pkg/module.py", "x = 1\n")
    assert mode(tmp_path / "pkg") == 0o700 and mode(tmp_path / "pkg" / "module.py") == 0o600
    workspace = tmp_path / "run"
    workspace.mkdir()
    Workspace(workspace).init()
    assert mode(workspace / ".git") == 0o700


@pytest.mark.skipif(os.geteuid() != 0, reason="another user's folder needs root to make")
def test_a_data_directory_holding_another_users_folder_stays_passable_never_listable(
    tmp_path: Path,
) -> None:
    """Issue 58 item 10: as root, Postgres' own user must pass through to its folder."""
    data = tmp_path / "data"
    (data / "pg").mkdir(parents=True)
    os.chown(data / "pg", SANDBOX_HOST_ID, SANDBOX_HOST_ID)  # as pgserver gives it to its user
    data.chmod(0o755)  # as pgserver leaves every folder above it
    assert narrow(data) == 0o755
    assert mode(data) == 0o711
    assert narrow(data) is None


def test_the_sandboxs_etc_files_are_readable_by_its_user_under_a_private_umask(
    tmp_path: Path,
) -> None:
    """Issue 58 item 10: the sandbox's user (not ours, for a root factory) reads /etc/passwd."""
    keep_private(tmp_path)
    files = support_etc(tmp_path / "etc", network=False)
    for name in ("passwd", "group", "hosts"):
        assert mode(files[f"/etc/{name}"]) == 0o644
    (tmp_path / "etc" / "passwd").chmod(0o600)  # as a private umask made it before
    support_etc(tmp_path / "etc", network=False)
    assert mode(tmp_path / "etc" / "passwd") == 0o644
