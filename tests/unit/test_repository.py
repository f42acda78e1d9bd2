"""A repository a run delivers into: its source and base checked, the clone, push and merge."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from pydantic import ValidationError

from devfactory.api.schemas import RunRequest
from devfactory.factory.intake import CloneOrder, check_clone, checkout, clone_into_run
from devfactory.repos.cloning import CloneLimits
from devfactory.repos.repository import (
    RepositoryError,
    base_files,
    branch_of,
    changed_files,
    check_ref,
    check_source,
    clone_for_run,
    delivery_of,
    folder_bytes,
    is_url,
    local_path_of,
    merge_into_base,
    push_branch,
    shown_source,
)
from devfactory.repos.workspace import Workspace
from devfactory.settings import Settings
from devfactory.store.runs_table import RunInputError
from tests.repos import git

MB = 2**20


@pytest.fixture
def source(tmp_path: Path) -> Path:
    """A repository with a module, a test, a binary file, on ``main`` and a branch ``dev``."""
    work = tmp_path / "src"
    (work / "pkg").mkdir(parents=True)
    (work / "pkg" / "core.py").write_text("def run(x: int) -> int:\n    return x\n")
    (work / "test_core.py").write_text("from pkg.core import run\n\ndef test_run():\n    pass\n")
    (work / "logo.bin").write_bytes(b"\x00\x01\x02")
    git("init", "-q", "-b", "main", cwd=work)
    git("add", ".", cwd=work)
    git("commit", "-q", "-m", "first", cwd=work)
    git("branch", "dev", cwd=work)
    return work


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("--upload-pack=touch /tmp/x", "must not start with '-'"),
        ("-x", "must not start with '-'"),
        ("ext::sh -c touch% /tmp/pwned", "transport helper"),
        ("fd::17", "transport helper"),
        ("https://host/repo\n.git", "control characters"),
        ("ftp://host/repo.git", "scheme 'ftp'"),
        ("git://host/repo.git", "neither authenticated nor encrypted"),
        ("x" * 2001, "longer than 2000"),
    ],
)
def test_a_source_git_could_misread_is_refused_with_the_reason(text: str, why: str) -> None:
    with pytest.raises(RepositoryError, match=why):
        check_source(text)


@pytest.mark.parametrize(
    "text",
    ["https://github.com/org/repo.git", "ssh://git@host/repo", "git@github.com:org/repo.git",
     "/srv/repos/calc", "file:///srv/repos/calc.git", "./calc"],
)  # fmt: skip
def test_paths_and_urls_git_can_reach_are_taken(text: str) -> None:
    assert check_source(f"  {text} ") == text


@pytest.mark.parametrize(
    "name",
    ["", "-main", "--force", "a..b", "a b", "a~1", "a^", "a:b", "a?", "a*", "a[", "a\\b",
     "@", "a@{1}", "/main", "main/", "main.", ".hidden", "a/.b", "x.lock", "a//b",
     "refs/heads/main", "main\x00", "x" * 201],
)  # fmt: skip
def test_a_base_git_would_not_take_as_a_branch_is_refused(name: str) -> None:
    with pytest.raises(RepositoryError):
        check_ref(name)


@pytest.mark.parametrize("name", ["main", "release/1.2", "feature_x-y", "v2"])
def test_ordinary_branch_names_are_taken(name: str) -> None:
    assert check_ref(name) == name
    assert branch_of("20261125-010203-abcdef") == "devfactory/20261125-010203-abcdef"


def test_credentials_in_a_url_are_never_shown() -> None:
    shown = shown_source("https://ann:s3cret-token@git.example.com/org/repo.git")
    assert "s3cret" not in shown and "ann" not in shown
    assert shown == "https://[REDACTED]@git.example.com/org/repo.git"
    assert shown_source("/srv/repos/calc") == "/srv/repos/calc"


def test_a_local_path_is_told_from_a_url() -> None:
    assert is_url("https://host/repo") and is_url("git@host:org/repo.git")
    assert not is_url("/srv/repos/calc")
    assert local_path_of("file:///srv/repos/calc%20x.git") == Path("/srv/repos/calc x.git")
    assert local_path_of("/srv/repos/calc") == Path("/srv/repos/calc")
    assert local_path_of("https://host/repo") is None


def test_a_clone_works_on_its_own_branch_and_records_where_it_came_from(
    source: Path, tmp_path: Path
) -> None:
    dest = tmp_path / "run"
    found = clone_for_run(str(source), None, "r1", dest, timeout=60, max_bytes=10 * MB)
    assert found.base == "main" and found.branch == "devfactory/r1" and found.local
    assert found.base_commit == git("rev-parse", "main", cwd=source)
    assert git("symbolic-ref", "--short", "HEAD", cwd=dest) == "devfactory/r1"
    assert delivery_of(dest) == found and delivery_of(dest, "another-run") is None
    assert Workspace(dest).exists()  # the recorder commits into it like any run folder
    files, left = base_files(dest, found.base_commit, max_bytes=MB, timeout=60)
    assert set(files) == {"pkg/core.py", "test_core.py"} and left == ["logo.bin"]
    assert git("status", "--porcelain", cwd=source) == ""


def test_the_base_tree_is_read_within_its_byte_cap(source: Path, tmp_path: Path) -> None:
    found = clone_for_run(str(source), "dev", "r1", tmp_path / "run", timeout=60, max_bytes=MB)
    assert found.base == "dev"
    files, left = base_files(tmp_path / "run", found.base_commit, max_bytes=40, timeout=60)
    assert sum(len(t) for t in files.values()) <= 40
    assert "pkg/core.py" in left or "test_core.py" in left


def test_an_unknown_base_or_a_repository_too_large_leaves_no_folder(
    source: Path, tmp_path: Path
) -> None:
    with pytest.raises(RepositoryError, match="no branch 'nope'"):
        clone_for_run(str(source), "nope", "r1", tmp_path / "a", timeout=60, max_bytes=10 * MB)
    assert not (tmp_path / "a").exists()
    with pytest.raises(RepositoryError, match="more than 0 MiB"):
        clone_for_run(str(source), None, "r1", tmp_path / "b", timeout=60, max_bytes=10)
    assert not (tmp_path / "b").exists()
    with pytest.raises(RepositoryError, match="not a folder"):
        clone_for_run(str(tmp_path / "missing"), None, "r1", tmp_path / "c", timeout=60,
                      max_bytes=MB)  # fmt: skip


def test_a_folder_that_holds_files_is_never_cloned_into(source: Path, tmp_path: Path) -> None:
    dest = tmp_path / "run"
    dest.mkdir()
    (dest / "mine.txt").write_text("keep me\n")
    with pytest.raises(RepositoryError, match="not empty"):
        clone_for_run(str(source), None, "r1", dest, timeout=60, max_bytes=MB)
    assert (dest / "mine.txt").read_text() == "keep me\n"


def commit_feature(dest: Path, value: int = 1) -> None:
    (dest / "pkg" / "extra.py").write_text(f"def more() -> int:\n    return {value}\n")
    workspace = Workspace(dest)
    workspace.init()
    workspace.commit_stage("backend-engineering", "Backend Engineering", ["pkg/extra.py"], "more")


def test_the_branch_is_pushed_back_and_the_checked_out_base_is_never_moved(
    source: Path, tmp_path: Path
) -> None:
    dest = tmp_path / "run"
    found = clone_for_run(str(source), None, "r1", dest, timeout=60, max_bytes=MB)
    before = git("rev-parse", "main", cwd=source)
    commit_feature(dest)
    assert changed_files(dest, found, timeout=60) == ["A pkg/extra.py"]
    pushed = push_branch(dest, found, timeout=60)
    assert pushed.ok and git("rev-parse", "devfactory/r1", cwd=source) == git(
        "rev-parse", "HEAD", cwd=dest
    )
    merged = merge_into_base(dest, found, timeout=60)
    assert not merged.ok and "checked out" in merged.message
    assert git("rev-parse", "main", cwd=source) == before


def test_a_merge_fast_forwards_the_base_only_while_it_has_not_moved(
    source: Path, tmp_path: Path
) -> None:
    bare = tmp_path / "bare.git"
    git("clone", "-q", "--bare", str(source), str(bare), cwd=tmp_path)
    first = clone_for_run(str(bare), None, "r1", tmp_path / "one", timeout=60, max_bytes=MB)
    second = clone_for_run(str(bare), None, "r2", tmp_path / "two", timeout=60, max_bytes=MB)
    commit_feature(tmp_path / "one")
    commit_feature(tmp_path / "two", 2)
    assert merge_into_base(tmp_path / "one", first, timeout=60).ok
    again = merge_into_base(tmp_path / "one", first, timeout=60)  # a resumed merge node
    assert again.ok and "merged into main" in again.message
    assert git("rev-parse", "main", cwd=bare) == git("rev-parse", "HEAD", cwd=tmp_path / "one")
    moved = merge_into_base(tmp_path / "two", second, timeout=60)
    assert not moved.ok and "moved since the run started" in moved.message
    assert git("rev-parse", "main", cwd=bare) == git("rev-parse", "HEAD", cwd=tmp_path / "one")
    assert git("rev-parse", "devfactory/r2", cwd=bare)  # the branch stays for review


def test_a_delivery_s_summary_commits_nothing_and_the_run_s_records_stay_in_its_folder(
    source: Path, tmp_path: Path
) -> None:
    dest = tmp_path / "run"
    clone_for_run(str(source), None, "r1", dest, timeout=60, max_bytes=MB)
    (dest / "run.json").write_text("{}\n")
    (dest / "SUMMARY.md").write_text("# Run\n")
    (dest / "notes.md").write_text("kept\n")
    workspace = Workspace(dest)
    workspace.init()
    before = workspace.head()
    assert workspace.commit_all("devfactory: run summary") is None
    assert workspace.head() == before
    assert (dest / "notes.md").read_text() == "kept\n"  # in the folder, never on the branch


def test_checkout_refuses_bad_input_as_the_client_s_mistake(
    settings: Settings, source: Path, tmp_path: Path
) -> None:
    with pytest.raises(RunInputError, match="must not start with '-'"):
        checkout(settings, "--upload-pack=x", None, run_id="r1", out_dir=tmp_path / "a")
    with pytest.raises(RunInputError, match="not a branch name"):
        checkout(settings, str(source), "a..b", run_id="r1", out_dir=tmp_path / "b")
    with pytest.raises(RunInputError, match="no branch 'nope'") as caught:
        checkout(settings, str(source), "nope", run_id="r1", out_dir=tmp_path / "c")
    assert "Traceback" not in str(caught.value)
    run_id, out = checkout(settings, str(source), None, run_id=None, out_dir=None)
    assert out == settings.storage.run_folder(run_id) and delivery_of(out, run_id) is not None


def test_the_api_refuses_a_bad_repository_or_base_in_the_body() -> None:
    with pytest.raises(ValidationError, match="must not start with '-'"):
        RunRequest(requirement="x", repo="-oProxyCommand=evil")
    with pytest.raises(ValidationError, match="not a branch name"):
        RunRequest(requirement="x", repo="https://host/r.git", base="a..b")
    with pytest.raises(ValidationError, match="give repo too"):
        RunRequest(requirement="x", base="main")
    body = RunRequest(requirement="x", repo="https://host/r.git", base="main")
    assert (body.repo, body.base) == ("https://host/r.git", "main")


def test_the_api_takes_a_local_path_only_under_the_configured_roots(tmp_path: Path) -> None:
    from devfactory.api.errors import ApiError
    from devfactory.api.run_routes import local_source_allowed

    allowed = tmp_path / "repos"
    (allowed / "calc").mkdir(parents=True)
    local_source_allowed(allowed / "calc", [allowed])  # inside: taken
    for outside in (tmp_path / "elsewhere", allowed / ".." / "elsewhere", Path("/etc")):
        with pytest.raises(ApiError) as refused:
            local_source_allowed(outside, [allowed])
        assert refused.value.status == 422 and "repo_local_roots" in str(refused.value)
    with pytest.raises(ApiError):
        local_source_allowed(allowed / "calc", [])  # no roots: the API takes URLs only


def test_a_repository_file_that_does_not_compile_is_not_the_run_s_to_fix() -> None:
    from devfactory.checks.code.importing import own_failures

    output = (
        "compile legacy/py2.py:3: SyntaxError: Missing parentheses in call to 'print'\n"
        "ok calc\n"
        "compiled 3 file(s), 1 error(s); imported 1 of 1 module(s)\n"
    )
    assert own_failures(output, {"calc.py": "x = 1\n"}) == []
    mine = output.replace("legacy/py2.py", "calc.py")
    assert own_failures(mine, {"calc.py": "x = 1\n"}) == [mine.splitlines()[0]]


def test_the_run_s_diff_on_a_delivery_is_what_the_branch_changes(
    source: Path, tmp_path: Path
) -> None:
    dest = tmp_path / "run"
    clone_for_run(str(source), None, "r1", dest, timeout=60, max_bytes=MB)
    commit_feature(dest)
    diff = Workspace(dest).diff()
    assert "+++ b/pkg/extra.py" in diff
    assert "pkg/core.py" not in diff and "test_core.py" not in diff  # the base is not news


def big_repository(root: Path, mib: int) -> Path:
    """A repository whose one commit holds ``mib`` MiB of bytes no compression shrinks."""
    work = root / "big"
    work.mkdir()
    (work / "blob.bin").write_bytes(os.urandom(mib * MB))
    git("init", "-q", "-b", "main", cwd=work)
    git("add", ".", cwd=work)
    git("commit", "-q", "-m", "big", cwd=work)
    return work


def peak_bytes_while(dest: Path, clone: Callable[[], object]) -> tuple[int, BaseException | None]:
    """Run ``clone``; return the most bytes ``dest`` ever held meanwhile, and what it raised."""
    peak, done = [0], threading.Event()

    def watch() -> None:
        while not done.is_set():
            if dest.exists():
                peak[0] = max(peak[0], folder_bytes(dest, 1 << 40))
            time.sleep(0.002)

    watcher = threading.Thread(target=watch)
    watcher.start()
    raised: BaseException | None = None
    try:
        clone()
    except RepositoryError as exc:
        raised = exc
    finally:
        done.set()
        watcher.join()
    return peak[0], raised


def test_a_clone_past_the_size_cap_is_refused_before_it_reaches_the_disk(
    tmp_path: Path,
) -> None:
    source = big_repository(tmp_path, 40)
    dest = tmp_path / "run"
    peak, raised = peak_bytes_while(
        dest, lambda: clone_for_run(str(source), None, "r1", dest, timeout=60, max_bytes=5 * MB)
    )
    assert isinstance(raised, RepositoryError), raised
    assert "more than 5 MiB (repo_max_mb)" in str(raised)
    assert "No space left on device" in raised.detail  # it filled its tmpfs, not the disk
    assert peak <= 5 * MB  # the run's folder never held more than the cap (it held nothing)
    assert not dest.exists()


def test_without_the_sandbox_each_file_of_a_clone_is_capped(tmp_path: Path) -> None:
    source = big_repository(tmp_path, 40)
    dest = tmp_path / "run"
    bare = CloneLimits(sandboxed=False)
    peak, raised = peak_bytes_while(
        dest,
        lambda: clone_for_run(
            str(source), None, "r1", dest, timeout=60, max_bytes=5 * MB, limits=bare
        ),
    )
    assert isinstance(raised, RepositoryError) and "more than 5 MiB" in str(raised), raised
    assert peak <= 6 * MB + 256 * 1024  # RLIMIT_FSIZE: the cap and a MiB, a file
    assert not dest.exists()


def test_a_local_clone_reads_nothing_of_the_host_beyond_its_source(
    source: Path, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "elsewhere.git"
    git("clone", "-q", "--bare", str(source), str(elsewhere), cwd=tmp_path)
    borrowing = tmp_path / "borrowing"  # its objects are another repository's (alternates)
    git("clone", "-q", "--shared", str(elsewhere), str(borrowing), cwd=tmp_path)
    with pytest.raises(RepositoryError, match="not a repository git can read") as refused:
        clone_for_run(str(borrowing), None, "r1", tmp_path / "run", timeout=60, max_bytes=MB)
    assert "alternate" in refused.value.detail
    assert not (tmp_path / "run").exists()


def test_a_queued_clone_empties_what_an_earlier_attempt_left_in_the_run_s_folder(
    settings: Settings, source: Path, tmp_path: Path
) -> None:
    out = tmp_path / "run"
    (out / "half" / "deep").mkdir(parents=True)
    (out / "half" / "deep" / "pack.tmp").write_bytes(b"\0" * 1000)
    secret = tmp_path / "secret.txt"
    secret.write_text("keep\n")
    (out / "link").symlink_to(secret)
    order = check_clone(settings, str(source), "dev")
    found = clone_into_run(settings, order, "r1", out)
    assert found.base == "dev" and delivery_of(out, "r1") == found
    assert not (out / "half").exists() and not (out / "link").is_symlink()
    assert secret.read_text() == "keep\n"  # the link was removed, never followed
    assert sorted(p.name for p in out.iterdir()) == [".git", "logo.bin", "pkg", "test_core.py"]


def test_a_queued_clone_is_checked_without_any_name_resolved(
    settings: Settings, source: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("a request resolved a name")

    monkeypatch.setattr(socket, "getaddrinfo", never)
    listed = settings.with_overrides(repo_allowed_hosts=("git.example.com",))
    order = check_clone(listed, "https://git.example.com/org/repo.git", "main")
    assert order == CloneOrder(source="https://git.example.com/org/repo.git", base="main")
    # a path is kept with its links resolved: the worker opens that one, with no link in it
    assert check_clone(listed, f"file://{source}", None).source == str(source.resolve())
    for repo, why in (
        ("https://gitlab.com/org/repo.git", "gitlab.com is not listed"),
        ("http://169.254.169.254/latest/meta-data", "169.254.169.254 is not listed"),
        ("http://10.0.0.1/x.git", "10.0.0.1 is not listed"),
        ("git://git.example.com/org/repo.git", "neither authenticated nor encrypted"),
        (str(source / "missing"), "not a folder"),
    ):
        with pytest.raises(RunInputError, match=why):
            check_clone(listed, repo, None)
    with pytest.raises(RunInputError, match="repo_allowed_hosts setting is empty"):
        check_clone(settings, "https://github.com/org/repo.git", None)


def test_a_failed_clone_reads_the_same_whatever_the_host_answered() -> None:
    from devfactory.repos.cloning import CloneFailure
    from devfactory.repos.repository import _refusal

    origin = "http://127.0.0.1:8080/r.git"
    answers = [
        CloneFailure("git", "fatal: unable to access: Failed to connect: Connection refused"),
        CloneFailure("git", "fatal: unable to access: Received HTTP/0.9 when not allowed"),
        CloneFailure("git", "remote: SSH-2.0-OpenSSH_9.6 secret-banner fatal: not valid"),
        CloneFailure("time", "git-remote-http: nothing read"),
        CloneFailure("git", "fatal: Authentication failed for 'http://127.0.0.1:8080/r.git/'"),
    ]
    said = [_refusal(a, origin, None, remote=True, timeout=5, max_bytes=MB) for a in answers]
    assert len({str(s) for s in said}) == 1, [str(s) for s in said]
    assert "secret-banner" not in str(said[2]) and "secret-banner" in said[2].detail
    assert "took longer than 5 s" in said[3].detail


@pytest.mark.parametrize(
    ("name", "low", "high"),
    [
        ("repo_clone_cpu_s", 10, 86_400),
        ("repo_clone_memory_mb", 256, 16_384),
        ("repo_clone_processes", 8, 1024),
        ("repo_max_clones", 1, 64),
        ("repo_clone_retry_s", 0.5, 600.0),
        ("repo_resolve_timeout_s", 0.5, 120.0),
    ],
)
def test_each_clone_limit_is_bounded(name: str, low: float, high: float) -> None:
    assert Settings(**{name: low}).flat()[name] == low
    assert Settings(**{name: high}).flat()[name] == high
    for beyond in (low - 0.5 if isinstance(low, float) else low - 1, high * 2):
        with pytest.raises(ValidationError):
            Settings(**{name: beyond})


def test_with_any_host_allowed_a_refusal_never_says_what_a_name_resolves_to(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 58 item 11: no DNS oracle; a refused address reads as a host that did not answer."""
    import ipaddress

    from devfactory.repos import remotes
    from devfactory.repos.cloning import CloneFailure
    from devfactory.repos.remotes import HostPolicy, RemoteRefusedError
    from devfactory.repos.repository import _refusal

    answers = {
        "internal.example": [ipaddress.ip_address("10.1.2.3")],
        "metadata.example": [ipaddress.ip_address("169.254.169.254")],
        "loop.example": [ipaddress.ip_address("127.0.0.1")],
    }

    def resolver(host: str, port: int, timeout: float) -> list[object]:
        if host not in answers:
            raise RemoteRefusedError(f"the host name {host} does not resolve")
        return answers[host]  # type: ignore[return-value]

    monkeypatch.setattr(remotes, "system_resolver", resolver)
    said, details = set(), []
    for host in (*answers, "nowhere.example"):
        url = f"https://{host}/org/repo.git"
        with pytest.raises(RepositoryError) as refused:
            clone_for_run(url, None, "r1", tmp_path / host, timeout=5, max_bytes=MB,
                          hosts=HostPolicy.parse(["*"]))  # fmt: skip
        said.add(str(refused.value).replace(host, "HOST"))
        details.append(refused.value.detail)
    # and the same words as a host that was reached and did not answer as git
    failed = _refusal(CloneFailure("git", "Connection refused"), "https://HOST/org/repo.git",
                      None, remote=True, timeout=5, max_bytes=MB)  # fmt: skip
    assert said == {str(failed)}, said
    assert not any(a in s for s in said for a in ("10.1.2.3", "169.254", "127.0.0.1", "resolve"))
    assert "10.1.2.3" in details[0] and "does not resolve" in details[-1]  # the operator's log
