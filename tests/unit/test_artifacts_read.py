"""Reading a run's file: inside its folder, through no link, up to a size."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from devfactory.artifacts import ArtifactTooLargeError, read_file, write_file


def test_a_file_is_read_inside_the_folder_and_nothing_else(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    write_file(run, "src/app.py", "print('hi')")
    (tmp_path / "secret").write_text("outside")
    os.symlink(tmp_path / "secret", run / "leak")
    os.symlink(tmp_path, run / "up")
    assert read_file(run, "src/app.py", 100) == b"print('hi')\n"
    with pytest.raises(ValueError):
        read_file(run, "../secret", 100)
    with pytest.raises(ValueError):
        read_file(run, ".git/config", 100)
    with pytest.raises(PermissionError):
        read_file(run, "leak", 100)
    with pytest.raises(PermissionError):
        read_file(run, "up/secret", 100)
    with pytest.raises(FileNotFoundError):
        read_file(run, "src/missing.py", 100)
    with pytest.raises(FileNotFoundError):
        read_file(run, "src", 100)  # a folder is not a file
    with pytest.raises(FileNotFoundError):
        read_file(run, "src/app.py/x", 100)  # a file where a folder belongs
    with pytest.raises(ArtifactTooLargeError):
        read_file(run, "src/app.py", 5)
