"""The one way in to a run's files: inside its folder, through no link, regular files, capped."""

from __future__ import annotations

import errno
import os
import socket
import time
from pathlib import Path

import pytest

from devfactory.runfiles import (
    MAX_DEPTH,
    ArtifactWriteError,
    RefusedFileError,
    is_regular_file,
    list_files,
    open_within,
    read_file,
    read_head,
    remove_tree,
    write_file,
)

SECRET = "root-only secret\n"


@pytest.fixture
def run(tmp_path: Path) -> Path:
    """A run's folder beside a 0600 secret outside it, with links to the secret planted."""
    secret = tmp_path / "secret"
    secret.write_text(SECRET)
    secret.chmod(0o600)
    folder = tmp_path / "run"
    folder.mkdir()
    write_file(folder, "src/app.py", "print('hi')")
    (folder / "SUMMARY.md").symlink_to(secret)  # a link in the last component
    (folder / "up").symlink_to(tmp_path, target_is_directory=True)  # a link as a folder
    (folder / "docs").mkdir()
    (folder / "docs" / "deep").symlink_to(tmp_path, target_is_directory=True)
    return folder


def refused(folder: Path, relative: str, limit: int = 1000) -> RefusedFileError:
    with pytest.raises(RefusedFileError) as caught:
        read_file(folder, relative, limit)
    assert caught.value.filename == relative
    return caught.value


def test_a_file_is_read_inside_the_folder_and_nothing_else(run: Path) -> None:
    assert read_file(run, "src/app.py", 100) == b"print('hi')\n"
    assert refused(run, "src/missing.py").errno == errno.ENOENT
    assert refused(run, "src").errno == errno.EINVAL  # a folder is not a file
    assert refused(run, "src/app.py/x").errno == errno.ENOENT  # a file where a folder belongs
    assert refused(run, "src/app.py", 5).errno == errno.EFBIG
    assert refused(run, "x" * 300).errno == errno.ENOENT  # longer than a name may be
    assert refused(run, f"{'x' * 300}/app.py").errno == errno.ENOENT


def test_a_link_in_the_last_component_is_refused_and_nothing_of_its_target_read(
    run: Path,
) -> None:
    found = refused(run, "SUMMARY.md")
    assert found.errno == errno.ELOOP and "symbolic link" in str(found.strerror)
    with pytest.raises(RefusedFileError):
        read_head(run, "SUMMARY.md", 100)
    assert not is_regular_file(run, "SUMMARY.md")


@pytest.mark.parametrize("relative", ["up/secret", "docs/deep/secret", "docs/deep/run/src/app.py"])
def test_a_link_in_a_middle_folder_is_refused(run: Path, relative: str) -> None:
    found = refused(run, relative)
    assert found.errno == errno.ELOOP and "symbolic link" in str(found.strerror)
    assert not is_regular_file(run, relative)


@pytest.mark.parametrize(
    "relative",
    ["../secret", "src/../../secret", "/etc/shadow", "", "a//b", "./src/app.py", "src/"],
)
def test_a_path_that_leaves_the_folder_is_refused_before_anything_is_opened(
    run: Path, relative: str
) -> None:
    with pytest.raises(ValueError, match="must be relative"):
        read_file(run, relative, 1000)
    assert not is_regular_file(run, relative)


@pytest.mark.parametrize("relative", [".git/config", ".GIT/HEAD", "sub/.git/config"])
def test_the_git_history_is_never_read(run: Path, relative: str) -> None:
    (run / ".git").mkdir()
    (run / ".git" / "config").write_text("[core]\n")
    with pytest.raises(ValueError, match="git repository"):
        read_file(run, relative, 1000)


def test_a_fifo_is_refused_at_once_and_never_waited_on(run: Path) -> None:
    os.mkfifo(run / "pipe")
    started = time.monotonic()
    assert refused(run, "pipe").errno == errno.EINVAL
    with pytest.raises(RefusedFileError, match="a FIFO"):
        read_head(run, "pipe", 10)
    assert time.monotonic() - started < 1  # nobody writes to it: a blocking open never returns
    assert not is_regular_file(run, "pipe")


def test_a_socket_is_refused(run: Path) -> None:
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(run / "sock"))
        found = refused(run, "sock")
    assert found.errno == errno.EINVAL and "a socket" in str(found.strerror)


def test_an_oversized_file_is_refused_whole_and_its_head_is_read(run: Path) -> None:
    (run / "big.log").write_bytes(b"x" * 5000 + b"tail")
    found = refused(run, "big.log", 4096)
    assert found.errno == errno.EFBIG and "larger than 4096" in str(found.strerror)
    assert read_head(run, "big.log", 10) == b"x" * 10
    assert read_file(run, "big.log", 5004).endswith(b"tail")  # exactly at the cap: whole


def test_a_folder_that_is_itself_a_link_is_not_opened(tmp_path: Path, run: Path) -> None:
    (tmp_path / "alias").symlink_to(run, target_is_directory=True)
    with pytest.raises(RefusedFileError, match="is a link"):
        read_file(tmp_path / "alias", "src/app.py", 100)
    with pytest.raises(RefusedFileError):
        list_files(tmp_path / "alias", 100)


def test_a_listing_has_regular_files_only_and_no_history(run: Path) -> None:
    os.mkfifo(run / "pipe")
    (run / ".git").mkdir()
    (run / ".git" / "config").write_text("[core]\n")
    (run / "vendor" / ".git").mkdir(parents=True)
    (run / "vendor" / ".git" / "HEAD").write_text("ref\n")
    (run / "docs" / "guide.md").write_text("# Guide\n")
    found = list_files(run, 100)
    assert found.files == [("docs/guide.md", 8), ("src/app.py", 12)]
    assert not found.more


def test_a_listing_stops_at_its_cap_and_says_so(run: Path) -> None:
    for n in range(50):
        (run / f"f{n:02}.txt").write_text("x")
    capped = list_files(run, 20)
    # every entry counts: SUMMARY.md (a link), docs, docs/deep (a link), then 17 files
    assert capped.more and capped.files[-1] == ("f16.txt", 1) and len(capped.files) == 17
    whole = list_files(run, 100)
    assert not whole.more and len(whole.files) == 51


def test_a_tree_deeper_than_the_walk_goes_is_listed_to_its_depth_and_removed_whole(
    tmp_path: Path,
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "precious").write_text("keep me")
    root = tmp_path / "run"
    root.mkdir()
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    for _ in range(MAX_DEPTH + 1000):  # deeper than Python's recursion limit
        os.mkdir("d", dir_fd=fd)
        child = os.open("d", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
        os.close(fd)
        fd = child
    os.symlink(outside, "out", dir_fd=fd)
    os.close(fd)
    (root / "top.txt").write_text("t")
    (root / "link").symlink_to(outside, target_is_directory=True)
    assert list_files(root, 100_000).files == [("top.txt", 1)]
    remove_tree(root)
    assert not root.exists()
    assert (outside / "precious").read_text() == "keep me"  # nothing reached through a link


def test_a_listing_counts_what_it_left_out_too_deep_or_not_a_file(tmp_path: Path) -> None:
    """Issue 58 item 13 (c): a file deeper than the walk goes is counted, not silently gone."""
    root = tmp_path / "run"
    root.mkdir()
    deepest = root.joinpath(*["d"] * (MAX_DEPTH + 1))  # the last folder is never entered
    deepest.mkdir(parents=True)
    (deepest / "hidden.txt").write_text("x")
    (deepest.parent / "at-depth.txt").write_text("y")  # inside MAX_DEPTH folders: listed
    (root / "top.txt").write_text("t")
    os.mkfifo(root / "pipe")
    (root / "link").symlink_to(root / "top.txt")
    found = list_files(root, 100_000)
    assert [path for path, _ in found.files] == [
        "/".join(["d"] * MAX_DEPTH) + "/at-depth.txt",
        "top.txt",
    ]
    assert (found.deep, found.not_regular, found.more) == (1, 2, False)
    shallow = root / "shallow"
    shallow.mkdir()
    (shallow / "f.txt").write_text("z")
    whole = list_files(shallow, 100)
    assert (whole.deep, whole.not_regular) == (0, 0)


def test_the_writer_refuses_links_and_fifos_on_its_way(run: Path, tmp_path: Path) -> None:
    with pytest.raises(ArtifactWriteError, match="symbolic link"):
        write_file(run, "up/secret", "overwritten")
    with pytest.raises(ArtifactWriteError, match="link"):
        write_file(run, "SUMMARY.md", "overwritten")
    os.mkfifo(run / "pipe")
    started = time.monotonic()
    with pytest.raises(ArtifactWriteError):
        write_file(run, "pipe", "x")
    assert time.monotonic() - started < 1
    assert (tmp_path / "secret").read_text() == SECRET
    with pytest.raises(RefusedFileError):
        os.close(open_within(run, ["up"], make=True))
