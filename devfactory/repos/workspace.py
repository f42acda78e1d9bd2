"""A run's folder as a git repository: one commit per passed stage, by its team.

``Workspace`` drives the ``git`` command line through ``repos/git.py``, in a
controlled environment: no
system or user configuration, no hooks, no pager, no external diff or textconv
program, no background maintenance, literal pathspecs, an explicit git dir (a
folder without its own ``.git`` is never mistaken for part of a repository
above it), and a timeout on every call. Paths come from model output, so they
are passed as arguments after ``--`` and never through a shell. Every failure
(git missing, a corrupted repository, a full disk, a timeout) is a
``WorkspaceError`` with git's own reason; the recorder reports it and the run
goes on.

A repository devfactory made carries a mark file in its ``.git``; ``init``
refuses a folder that is already someone else's repository (an ``--out``
pointing at a project checkout) rather than committing into it. A clone made
for a run that delivers into an existing repository (``repos/repository.py``)
carries the mark too, and a ``DELIVERY`` record beside it.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from devfactory.contracts import check_relative_path
from devfactory.repos.git import GitError, clean_env, run_git

GIT_TIMEOUT_S = 30.0
DOMAIN = "devfactory.local"
FACTORY = f"devfactory <factory@{DOMAIN}>"  # the committer, and the author of the summary
MARK = "devfactory-workspace"  # a file in .git: this repository is a run's, made by devfactory
DELIVERY = "devfactory-delivery.json"  # in .git: the run delivers into a repository's branch
RECORDS = ("run.json", "SUMMARY.md")  # the run's own records: never on a delivery's branch
_EXCLUDE = "# devfactory: every file of the run is committed, a BLOCKED stage's as NOT ACCEPTED\n"
_PERSON = re.compile(r"^([^<>\n]+) <([^<>\s]+)>$")


# the message from stdin; "whitespace" cleanup keeps a line that starts with "#" (a heading)
_MESSAGE = ("--cleanup=whitespace", "--no-verify", "--file=-")
# a commit's summary names the commit unabbreviated ("[main (root-commit) <sha>] subject"):
# a repository devfactory made has SHA-1 names (git runs without configuration or GIT_*
# variables from outside), so 40 is the whole name
_FULL_NAMES = ("-c", "core.abbrev=40")
_SUMMARY = re.compile(r"\[[^\]\n]*\b([0-9a-f]{40})\] ")


class WorkspaceError(RuntimeError):
    """A git command on the run's folder failed, or the folder cannot be a workspace."""


@dataclass(frozen=True)
class Commit:
    """One commit of a run's history."""

    sha: str
    author: str  # "Name <email>"
    subject: str
    body: str
    files: tuple[str, ...]  # the paths it changed


def team_author(team_slug: str, team_name: str) -> str:
    """Return the author a team's commits carry: ``Team Name <team-slug@devfactory.local>``."""
    return f"{team_name} <{team_slug}@{DOMAIN}>"


def _person(who: str) -> tuple[str, str]:
    """Split ``Name <email>``; refuse anything git would read differently."""
    found = _PERSON.match(who.strip())
    if found is None:
        raise WorkspaceError(f"not an author git can record as given: {who!r}")
    return found.group(1).strip(), found.group(2)


def _message(text: str) -> str:
    """Return a commit message git accepts: never empty, no NUL."""
    text = text.replace("\0", "")
    return text if text.strip() else "(no message)"


def _checked_paths(paths: Sequence[str]) -> list[str]:
    """Refuse paths that leave the folder or reach into a ``.git`` (any case)."""
    checked = []
    for path in paths:
        try:
            check_relative_path(path)
        except ValueError as exc:
            raise WorkspaceError(str(exc)) from None
        if any(part.casefold() == ".git" for part in path.split("/")):
            raise WorkspaceError(f"refused to commit {path!r}: it is inside a .git folder")
        checked.append(path)
    return checked


class Workspace:
    """The git repository of one run's folder.

    Args:
        root: the run's folder (resolved; the repository is ``root/.git``).
        git: the git program.
        timeout: the most seconds one git command may take.

    """

    def __init__(self, root: Path, *, git: str = "git", timeout: float = GIT_TIMEOUT_S) -> None:
        self.root = Path(root).resolve()
        self.git_dir = self.root / ".git"
        self.program, self.timeout = git, timeout

    def exists(self) -> bool:
        """Say whether the folder is a workspace devfactory made (runs before it had none)."""
        return self.git_dir.is_dir() and not self.git_dir.is_symlink() and self._marked()

    def _marked(self) -> bool:
        return (self.git_dir / MARK).is_file()

    def init(self) -> None:
        """Make the folder a repository on branch ``main``, or check it is one already.

        Idempotent. A new repository is made only in an empty folder, so that
        nothing that was there before the run is ever committed.
        Lock files a killed git left behind are removed: only the run's single
        driver (it holds the run's lease) ever writes to the repository.
        """
        try:
            if not self.git_dir.exists() and not self.git_dir.is_symlink():
                if any(self.root.iterdir()):  # e.g. --out pointing at a home or a project
                    raise WorkspaceError(
                        f"{self.root} held files before the run: a history starts only in "
                        "an empty folder (runs from before histories were kept have none)"
                    )
            self.git_dir.mkdir(mode=0o700, exist_ok=False)  # its config may name a remote
            (self.git_dir / MARK).write_text("made by devfactory for the run in this folder\n")
        except FileExistsError:
            if self.git_dir.is_symlink() or not self.git_dir.is_dir():
                raise WorkspaceError(f"{self.git_dir} is not a folder; not using it") from None
            if not self._marked():
                raise WorkspaceError(
                    f"{self.root} is already a git repository devfactory did not make; "
                    "leaving it alone (give the run a folder of its own)"
                ) from None
        except OSError as exc:
            raise WorkspaceError(f"cannot make {self.git_dir}: {exc.strerror}") from None
        self._run(["init", "--quiet", "--template=", str(self.root)], git_dir=False)
        try:
            for stale in ("index.lock", "HEAD.lock", "refs/heads/main.lock"):
                (self.git_dir / stale).unlink(missing_ok=True)
            (self.git_dir / "info").mkdir(exist_ok=True)
            (self.git_dir / "info" / "exclude").write_text(_EXCLUDE)
        except OSError as exc:
            raise WorkspaceError(f"cannot prepare {self.git_dir}: {exc.strerror}") from None

    def commit_stage(
        self, team_slug: str, team_name: str, paths: Sequence[str], message: str
    ) -> str | None:
        """Commit exactly ``paths`` as the team's work; return the sha (None: nothing changed).

        The paths are added even where a ``.gitignore`` would hide them: a
        deliverable is named on purpose. Anything else staged stays out of it.
        """
        checked = _checked_paths(paths)
        if not checked:
            return None
        self._run(["add", "--force", "--", *checked])
        args = ["commit", "--only", *_MESSAGE, "--", *checked]
        return self._commit(args, checked, message, team_author(team_slug, team_name))

    def delivers(self) -> bool:
        """Say whether the folder is a clone on a run's branch of an existing repository."""
        record = self.git_dir / DELIVERY
        return record.is_file() and not record.is_symlink()

    def commit_all(self, message: str, author: str = FACTORY) -> str | None:
        """Commit everything in the folder; return the sha (None: no change).

        On a delivery's branch nothing is: the branch carries only the software's
        files, each committed by the stage that wrote it, for review. What else
        is in the folder is the run's own record (``RECORDS``, the documents the
        stages wrote), kept there, and a file of the same name in the repository
        is never replaced by the run's.
        """
        if self.delivers():
            return None
        self._run(["add", "--all"])
        return self._commit(["commit", *_MESSAGE], (), message, author)

    def _commit(
        self, args: Sequence[str], paths: Sequence[str], message: str, author: str
    ) -> str | None:
        """Run a ``git commit`` of what is staged at ``paths``; return its sha (None: no change).

        One git process where nothing goes wrong: git refuses a commit that
        changes nothing with exit status 1, and only then is the index compared
        with ``HEAD`` to tell that from a failure; the sha is read from the
        commit's summary line.
        """
        done = self._run(
            args, stdin=_message(message), author=author, ok=(0, 1), options=_FULL_NAMES
        )
        if done.returncode == 1:
            if self._staged(paths):  # a change git would not commit: say why
                why = " ".join((done.stderr or done.stdout).split())[:500] or "no reason given"
                raise WorkspaceError(f"git commit failed (exit 1): {why}")
            return None
        found = _SUMMARY.match(done.stdout)
        return found.group(1) if found else self.head()

    def head(self) -> str | None:
        """Return the sha of the newest commit (None before the first)."""
        found = self._run(["rev-parse", "--verify", "--quiet", "HEAD^{commit}"], ok=(0, 1))
        return found.stdout.strip() or None

    def log(self, limit: int | None = None) -> list[Commit]:
        """Return the history, newest first, each commit with the paths it changed."""
        if self.head() is None:
            return []
        count = [f"--max-count={limit}"] if limit is not None else []
        fmt = "--format=%H%x1f%an <%ae>%x1f%s%x1f%b"
        out = self._run(["log", "-z", "--no-color", fmt, *count, "HEAD", "--"]).stdout
        commits = []
        for entry in filter(None, out.split("\0")):
            sha, author, subject, body = (entry.strip("\n").split("\x1f", 3) + ["", ""])[:4]
            commits.append(Commit(sha, author, subject, body.strip(), self._files(sha)))
        return commits

    def last_commit(self, team: str) -> Commit | None:
        """Return the team's newest commit (None: it has none)."""
        email = f"<{team}@{DOMAIN}>"
        return next((c for c in self.log() if c.author.endswith(email)), None)

    def diff(self, team: str | None = None) -> str:
        """Return a unified diff: the team's newest commit, or with no team the whole history.

        A stage passes at most once a round, so the team's newest commit is what
        it changed in the latest round in which it changed something (a rerun
        that wrote the same bytes makes no commit; then this shows the round
        before). With no team, the diff runs from the empty tree to ``HEAD``:
        every file the run committed, the first commit's included (on a
        delivery's branch, from the base commit: what the branch changes).
        Empty when there is nothing to show.
        """
        patch = ["diff-tree", "-r", "-p", "--no-color", "--no-ext-diff", "--no-textconv"]
        if team is not None:
            commit = self.last_commit(team)
            if commit is None:
                return ""
            return self._run([*patch, "--root", "--no-commit-id", commit.sha, "--"]).stdout
        if self.head() is None:
            return ""
        start = (
            self.base_commit()
            or self._run(["hash-object", "-t", "tree", "--stdin"], stdin="").stdout.strip()
        )
        return self._run([*patch, start, "HEAD", "--"]).stdout

    def base_commit(self) -> str:
        """Return the commit a delivery's branch started from ("" for a run's own repository)."""
        if not self.delivers():
            return ""
        try:
            found = json.loads((self.git_dir / DELIVERY).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return ""
        commit = found.get("base_commit", "") if isinstance(found, dict) else ""
        return (
            commit if isinstance(commit, str) and re.fullmatch(r"[0-9a-f]{40,64}", commit) else ""
        )

    def _files(self, sha: str) -> tuple[str, ...]:
        args = ["diff-tree", "-r", "-z", "--root", "--no-commit-id", "--name-only", "--no-renames"]
        out = self._run([*args, sha, "--"]).stdout
        return tuple(filter(None, out.split("\0")))

    def _staged(self, paths: Sequence[str]) -> bool:
        """Say whether the index differs from ``HEAD`` (at ``paths`` when given)."""
        if self.head() is None:  # before the first commit: is anything in the index at all?
            listed = self._run(["ls-files", "--cached", "-z", "--", *paths]).stdout
            return bool(listed)
        quiet = self._run(["diff", "--cached", "--quiet", "HEAD", "--", *paths], ok=(0, 1))
        return quiet.returncode == 1

    def _env(self, author: str | None) -> dict[str, str]:
        committer = _person(FACTORY)
        env = clean_env(
            GIT_LITERAL_PATHSPECS="1",
            GIT_OPTIONAL_LOCKS="0",
            GIT_COMMITTER_NAME=committer[0],
            GIT_COMMITTER_EMAIL=committer[1],
        )
        if author is not None:
            env["GIT_AUTHOR_NAME"], env["GIT_AUTHOR_EMAIL"] = _person(author)
        return env

    def _run(
        self,
        args: Sequence[str],
        *,
        stdin: str | None = None,
        author: str | None = None,
        ok: tuple[int, ...] = (0,),
        git_dir: bool = True,
        options: Sequence[str] = (),
    ) -> subprocess.CompletedProcess[str]:
        """Run one git command in the folder (``options`` before it); fail as ``WorkspaceError``."""
        where = ["--git-dir", str(self.git_dir), "--work-tree", str(self.root)] if git_dir else []
        if not self.root.is_dir():
            raise WorkspaceError(f"the run's folder {self.root} is not there")
        try:
            return run_git(
                args, cwd=self.root, env=self._env(author), timeout=self.timeout,
                program=self.program, options=[*options, *where], stdin=stdin, ok=ok,
            )  # fmt: skip
        except GitError as exc:
            if exc.done is None:
                raise WorkspaceError(str(exc)) from None
            why = " ".join(exc.done.stderr.split())[:500] or "no reason given"
            raise WorkspaceError(f"{exc}: {why}") from None
