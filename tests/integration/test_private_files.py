"""What a run leaves in the data directory is its user's alone (issue 58 item 10).

A real run through the CLI, with the scripted model, in a fresh data directory
that an earlier version had left readable by all: afterwards no file in it is
readable by the group or others, and no folder may be entered by them; the run's
history (``.git/config`` may name a remote) included. The chat's copies of
the run files it attaches are its user's alone too.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.integration.cli import ROOT, cli_env, run

TODO = "A REST API for a personal todo list, kept in a file, with a command to list what is due"


def exposed(root: Path) -> list[str]:
    """Return each file or folder under ``root`` (and ``root``) that others may read or enter."""
    found = []
    for path in [root, *root.rglob("*")]:
        info = path.lstat()
        if stat.S_ISLNK(info.st_mode):
            continue  # a link's own bits mean nothing; what it leads to is walked where it is
        if stat.S_IMODE(info.st_mode) & 0o077:
            found.append(f"{path.relative_to(root.parent)} {stat.S_IMODE(info.st_mode):04o}")
    return found


def test_a_run_through_the_cli_leaves_nothing_others_may_read(
    database_url: str, tmp_path: Path
) -> None:
    """Issue 58 item 10: folders 0700, files 0600, the data directory narrowed at start."""
    env = cli_env(database_url, tmp_path) | {"DEVFACTORY_REVIEW_REQUIRED": "false"}
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    data.chmod(0o755)  # as an earlier version left it
    (data / "notes.txt").write_text("from before\n")
    (data / "notes.txt").chmod(0o600)
    code, out, err = run(env, "run", TODO, "--no-input", "--json")
    assert code == 0, (out, err)
    folder = Path(json.loads(out)["out_dir"])
    assert folder.is_relative_to(data / "runs")
    assert (folder / ".git" / "config").is_file() and (folder / "SUMMARY.md").is_file()
    assert exposed(data) == []
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    assert "narrowed" in err and str(data) in err, err  # said once, in the log
    # the next start finds nothing to narrow, and says nothing
    code, out, err = run(env, "status", json.loads(out)["run_id"])
    assert code == 0 and "narrowed" not in err, err


def test_a_file_the_chat_attaches_is_saved_for_its_user_only(tmp_path: Path) -> None:
    """Issue 58 item 10: Chainlit's copy of an attached run file is 0600, in 0700 folders."""
    data = tmp_path / "data"
    script = textwrap.dedent(
        """
        import asyncio, sys
        from pathlib import Path
        from devfactory.chat import prepare
        from devfactory.settings import Settings

        prepare(Settings(data_dir=Path(sys.argv[1])))
        from chainlit.session import HTTPSession

        session = HTTPSession(id="a-session", client_type="webapp")
        done = asyncio.run(
            session.persist_file(name="SUMMARY.md", mime="text/markdown", content="# a run\\n")
        )
        print(session.files[done["id"]]["path"])
        """
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DEVFACTORY_", "CHAINLIT_"))}
    env.update(PYTHONPATH=str(ROOT), CHAINLIT_AUTH_SECRET="a-secret-for-this-test-only-" * 2)
    done = subprocess.run(
        [sys.executable, "-c", script, str(data)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    saved = Path(done.stdout.strip().splitlines()[-1])
    assert saved.is_relative_to(data / "chat" / ".files") and saved.read_text() == "# a run\n"
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    assert exposed(data / "chat" / ".files") == []
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
