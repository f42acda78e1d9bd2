"""A requirement reaches ``run`` and ``submit`` as an argument, from stdin (``-``) or a file.

The cap is the API's (``MAX_REQUIREMENT_CHARS``); what is too long, not
UTF-8, empty or not there is refused with exit 2 and why, before anything opens.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from devfactory import cli
from devfactory.api.schemas import RunRequest
from devfactory.cli import common
from devfactory.control.ceilings import MAX_REQUIREMENT_CHARS
from devfactory.factory.facade import RunReport
from devfactory.factory.intake import StartRequest


class Taking:
    """A factory that keeps the requirement it is given."""

    def __init__(self) -> None:
        self.given: list[str] = []

    def start(self, asked: StartRequest, **kwargs: Any) -> RunReport:
        self.given.append(asked.requirement)
        return RunReport("r1", "COMPLETED", "", Path("/tmp/o"), [])

    def submit(self, asked: StartRequest, **kwargs: Any) -> Any:
        self.given.append(asked.requirement)
        return type("Row", (), {"run_id": "r1", "shown_status": "QUEUED"})()

    def close(self) -> None:
        pass


@pytest.fixture
def factory(monkeypatch: pytest.MonkeyPatch) -> Taking:
    taking = Taking()
    monkeypatch.setattr(common, "open_factory", lambda settings: taking)
    return taking


COMMANDS = ["run", "submit"]
LONG = "A tool that counts words in the files it is given.\n" + "Detail. " * 12_000


@pytest.mark.parametrize("command", COMMANDS)
def test_a_dash_reads_the_requirement_from_stdin(factory: Taking, command: str) -> None:
    result = CliRunner().invoke(cli.app, [command, "-"], input=LONG.encode())
    assert result.exit_code == 0, result.output
    assert factory.given == [LONG]  # whole, and never the dash itself


@pytest.mark.parametrize("command", COMMANDS)
def test_a_file_gives_the_requirement(factory: Taking, command: str, tmp_path: Path) -> None:
    path = tmp_path / "req.md"
    path.write_text("Une liste de tâches en ligne de commande.\n", encoding="utf-8")
    result = CliRunner().invoke(cli.app, [command, "--file", str(path)])
    assert result.exit_code == 0, result.output
    assert factory.given == ["Une liste de tâches en ligne de commande.\n"]


def test_the_cap_is_the_apis_and_holds_at_the_cap(factory: Taking, tmp_path: Path) -> None:
    limits = RunRequest.model_fields["requirement"].metadata
    assert any(getattr(m, "max_length", None) == MAX_REQUIREMENT_CHARS for m in limits)
    at_cap = "é" * MAX_REQUIREMENT_CHARS  # two bytes each: the cap counts characters
    path = tmp_path / "req.md"
    path.write_text(at_cap, encoding="utf-8")
    assert CliRunner().invoke(cli.app, ["run", "--file", str(path)]).exit_code == 0
    assert factory.given == [at_cap]
    path.write_text(at_cap + "é", encoding="utf-8")
    over = CliRunner().invoke(cli.app, ["run", "--file", str(path)])
    assert over.exit_code == cli.EXIT_USAGE
    assert f"at most {MAX_REQUIREMENT_CHARS:,} characters" in over.output
    assert f"it has {MAX_REQUIREMENT_CHARS + 1:,}" in over.output
    megabyte = CliRunner().invoke(cli.app, ["submit", "-"], input=b"x" * (1 << 22))
    assert megabyte.exit_code == cli.EXIT_USAGE and "too long" in megabyte.output
    assert len(factory.given) == 1


@pytest.mark.parametrize(
    ("argv", "stdin", "needle"),
    [
        (["--file", "{missing}"], b"", "does not exist"),
        (["--file", "{latin1}"], b"", "is not UTF-8 (byte 5)"),
        (["--file", "{folder}"], b"", "cannot be read"),
        (["-"], b"  \n\t", "the requirement on stdin is empty"),
        (["-"], b"\xff\xfe", "the requirement on stdin is not UTF-8"),
        ([], b"", "give the requirement once"),
        (["A todo list", "--file", "{latin1}"], b"", "give the requirement once"),
    ],
)
@pytest.mark.parametrize("command", COMMANDS)
def test_a_bad_requirement_exits_2_saying_why(
    factory: Taking, tmp_path: Path, command: str, argv: list[str], stdin: bytes, needle: str
) -> None:
    (tmp_path / "latin1.txt").write_bytes("Une tâche".encode("latin-1"))
    (tmp_path / "folder").mkdir()
    paths = {
        "missing": tmp_path / "nope.md",
        "latin1": tmp_path / "latin1.txt",
        "folder": tmp_path / "folder",
    }
    args = [a.format(**paths) for a in argv]
    result = CliRunner().invoke(cli.app, [command, *args], input=stdin)
    assert result.exit_code == cli.EXIT_USAGE, result.output
    assert needle in " ".join(result.output.split())
    assert factory.given == []


def test_an_edited_requirement_comes_from_a_file_or_stdin_within_an_answer_s_cap(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from devfactory.cli import people
    from devfactory.control.ceilings import MAX_ANSWER_CHARS
    from devfactory.control.hitl import Decision

    assert Decision.model_fields["text"].metadata[-1].max_length == MAX_ANSWER_CHARS
    decided: list[tuple[str, str]] = []
    monkeypatch.setattr(
        people, "decide", lambda ctx, run_id, action, text, **kw: decided.append((action, text))
    )
    path = tmp_path / "edited.md"
    path.write_text("A todo list for one person.\n" * 10)
    argv = ["modify", "r1", "--file", str(path), "--id", "abcdef12"]
    assert CliRunner().invoke(cli.app, argv).exit_code == 0
    piped = CliRunner().invoke(cli.app, ["modify", "r1", "-", "--id", "abcdef12"], input=b"Less.")
    assert piped.exit_code == 0, piped.output
    assert decided == [("modify", "A todo list for one person.\n" * 10), ("modify", "Less.")]
    path.write_text("x" * (MAX_ANSWER_CHARS + 1))
    over = CliRunner().invoke(cli.app, argv)
    assert over.exit_code == cli.EXIT_USAGE and f"at most {MAX_ANSWER_CHARS:,}" in over.output
    assert len(decided) == 2


ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("command", ["run", "submit", "modify"])
def test_a_fifo_given_as_the_file_is_refused_at_once_not_waited_on(
    tmp_path: Path, command: str
) -> None:
    """Issue 58 item 13 (a): ``--file FIFO`` exits 2 at once; it never blocks for a writer."""
    fifo = tmp_path / "requirement.fifo"
    os.mkfifo(fifo)
    argv = [command, "--file", str(fifo)] + (["--id", "abcdef12"] if command == "modify" else [])
    if command == "modify":
        argv.insert(1, "r1")
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEVFACTORY_")}
    env.update(DEVFACTORY_DATA_DIR=str(tmp_path / "data"), PYTHONPATH=str(ROOT))
    code = "import sys; from devfactory.cli import app; app(sys.argv[1:], prog_name='devfactory')"
    try:
        done = subprocess.run(
            [sys.executable, "-c", code, *argv],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"devfactory {command} --file FIFO waited for a writer")
    assert done.returncode == cli.EXIT_USAGE, done.stderr
    said = " ".join(done.stderr.split())
    assert "is a FIFO, not a regular file" in said and str(fifo) in said, said


@pytest.mark.parametrize("command", COMMANDS)
def test_a_device_or_socket_given_as_the_file_is_refused(
    factory: Taking, tmp_path: Path, command: str
) -> None:
    """Issue 58 item 13 (a): only a regular file is read as the requirement."""
    listening = socket.socket(socket.AF_UNIX)
    listening.bind(str(tmp_path / "s.sock"))
    try:
        for path, what in (("/dev/zero", "a character device"), (tmp_path / "s.sock", "")):
            result = CliRunner().invoke(cli.app, [command, "--file", str(path)])
            assert result.exit_code == cli.EXIT_USAGE, result.output
            said = " ".join(result.output.split())
            assert "cannot be read" in said and what in said, said
    finally:
        listening.close()
    assert factory.given == []
