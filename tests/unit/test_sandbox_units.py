"""The sandbox's pure parts: what it accepts, how it reads reports and judges how commands ended."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from devfactory.sandbox.commands import Smoke, check_modules, pytest_argv
from devfactory.sandbox.environments import environment_key, validate_dependencies
from devfactory.sandbox.isolation import Bind, Outcome, _Tail, bwrap_argv
from devfactory.sandbox.junit import parse_junit
from devfactory.sandbox.limits import Limits
from devfactory.sandbox.results import judge
from devfactory.sandbox.runner import Sandbox
from devfactory.settings import Settings


def test_dependencies_are_normalised_sorted_and_get_pytest() -> None:
    deps = validate_dependencies(["Requests>=2", "click==8.1.7; python_version>='3.8'"])
    assert deps == ('click==8.1.7; python_version >= "3.8"', "pytest", "requests>=2")
    assert validate_dependencies(["pytest==8.3.0"]) == ("pytest==8.3.0",)


@pytest.mark.parametrize(
    ("dependency", "why"),
    [
        ("requests @ https://evil.example/r.whl", "URL"),
        ("-e .", "option"),
        ("--extra-index-url=https://evil.example", "option"),
        ("./local/path", "PEP 508"),
        ("name with spaces", "PEP 508"),
        ("", "empty"),
    ],
)
def test_unsafe_dependencies_are_refused(dependency: str, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        validate_dependencies([dependency])


def test_a_dependency_listed_twice_or_a_bare_string_is_refused() -> None:
    with pytest.raises(ValueError, match="twice"):
        validate_dependencies(["requests", "Requests>=2"])
    with pytest.raises(ValueError, match="list"):
        validate_dependencies("requests")  # type: ignore[arg-type]


def test_the_environment_key_depends_on_dependencies_and_python() -> None:
    one = environment_key(("pytest",), "3.11.7")
    assert one == environment_key(("pytest",), "3.11.7")
    assert one != environment_key(("pytest", "requests"), "3.11.7")
    assert one != environment_key(("pytest",), "3.12.1")


def test_limits_are_bounded() -> None:
    with pytest.raises(ValueError, match="processes"):
        Limits(processes=0)
    with pytest.raises(ValueError, match="wall_seconds"):
        Limits(wall_seconds=10**9)
    rlimits = Limits(cpu_seconds=5, memory_mb=100).rlimits()
    assert rlimits["RLIMIT_CPU"] == (5, 7)
    assert rlimits["RLIMIT_AS"] == (100 << 20, 100 << 20)
    assert "RLIMIT_NPROC" not in rlimits


def test_only_pytest_commands_are_accepted() -> None:
    assert pytest_argv("pytest -q tests") == ["pytest", "-q", "tests"]
    assert pytest_argv("python -m pytest -x") == ["python", "-m", "pytest", "-x"]
    for bad in ("bash -c 'rm -rf /'", "python evil.py", "pytest --basetemp=/", "pytest 'open"):
        with pytest.raises(ValueError):
            pytest_argv(bad)


def test_smokes_and_module_names_are_checked() -> None:
    assert Smoke(kind="cli", argv=["python", "-m", "app"]).argv == ("python", "-m", "app")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="port"):
        Smoke(kind="http", argv=("python", "app.py"))
    with pytest.raises(ValueError, match="kind"):
        Smoke(kind="shell", argv=("ls",))
    with pytest.raises(ValueError, match="path"):
        Smoke(kind="http", argv=("x", "{port}"), path="health")
    assert check_modules(["a.b", "_c"]) == ["a.b", "_c"]
    with pytest.raises(ValueError):
        check_modules(["a.b; import os"])


JUNIT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest" errors="1" failures="1" skipped="1" tests="5">
<testcase classname="tests.test_a" name="test_ok" file="tests/test_a.py" line="1" time="0.001"/>
<testcase classname="tests.test_a.TestB" name="test_bad" file="tests/test_a.py" line="5">
<failure message="AssertionError: nope">{trace}</failure></testcase>
<testcase classname="tests.test_a" name="test_skip" file="tests/test_a.py">
<skipped message="later"/></testcase>
<testcase classname="tests.test_c" name="test_teardown">
<error message="boom">E   RuntimeError</error></testcase>
<testcase classname="" name="tests.test_broken">
<error message="collection failure">SyntaxError</error></testcase>
</testsuite></testsuites>
"""


def test_junit_is_read_case_by_case(tmp_path: Path) -> None:
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_c.py").write_text("")
    (tmp_path / "tests" / "test_broken.py").write_text("")
    xml = tmp_path / "junit.xml"
    xml.write_text(JUNIT.format(trace="x" * 5000 + " assert 1 == 2"))
    report = parse_junit(xml, tmp_path)
    assert report is not None
    assert (report.passed, report.failed, report.errors, report.skipped) == (1, 1, 2, 1)
    by_name = {c.name: c for c in report.cases}
    bad = by_name["test_bad"]
    assert bad.nodeid == "tests/test_a.py::TestB::test_bad" and bad.outcome == "failed"
    assert bad.message == "AssertionError: nope"
    assert bad.traceback.endswith("assert 1 == 2") and len(bad.traceback) == 1503
    assert by_name["test_teardown"].file == "tests/test_c.py"  # found without a file attribute
    assert by_name["tests.test_broken"].nodeid == "tests/test_broken.py"
    assert report.counts() == "1 passed, 1 failed, 2 errors, 1 skipped"


def test_junit_that_is_missing_or_not_junit_gives_no_report(tmp_path: Path) -> None:
    assert parse_junit(tmp_path / "absent.xml", tmp_path) is None
    (tmp_path / "other.xml").write_text("<html/>")
    assert parse_junit(tmp_path / "other.xml", tmp_path) is None
    (tmp_path / "broken.xml").write_text("<testsuite><testcase")
    assert parse_junit(tmp_path / "broken.xml", tmp_path) is None


def outcome(code: int | None, output: str = "", **kwargs: object) -> Outcome:
    return Outcome(code, 1.0, output, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("raw", "sandboxed", "exit_code", "killed"),
    [
        (outcome(0), True, 0, ""),
        (outcome(1, "Traceback...\nMemoryError\n"), True, 1, "memory"),
        (outcome(1, "OSError: [Errno 27] File too large"), True, 1, "file size"),
        (outcome(128 + signal.SIGXCPU), True, None, "cpu time"),
        (outcome(-signal.SIGXCPU), False, None, "cpu time"),
        (outcome(137), False, 137, ""),  # bare: an exit status is an exit status
        (outcome(None, timed_out=True), True, None, "wall time"),
        (outcome(None, timed_out=True, hits=frozenset({"processes"})), True, None, "processes"),
        (outcome(-9, hits=frozenset({"memory"})), True, None, "memory"),
    ],
)
def test_how_a_command_ended_is_judged(
    raw: Outcome, sandboxed: bool, exit_code: int | None, killed: str
) -> None:
    result = judge("run", ("python", "x.py"), raw, sandboxed=sandboxed)
    assert (result.exit_code, result.killed) == (exit_code, killed)
    record = result.record()
    assert record.ok is (exit_code == 0 and not killed)
    assert record.sandboxed is sandboxed


def test_output_is_redacted_and_its_tail_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEVFACTORY_UNIT_TOKEN", "tok-" + "z" * 20)
    result = judge("run", ("x",), outcome(0, "the token is tok-" + "z" * 20), sandboxed=True)
    assert "zzzz" not in result.output and "[REDACTED" in result.output
    tail = _Tail(100)
    for i in range(10_000):
        tail.add(f"line {i}\n".encode())
    text = tail.text()
    assert text.endswith("line 9999\n") and len(text) < 200 and len(tail.buffer) <= 800


def test_the_bwrap_command_line_isolates_everything(tmp_path: Path) -> None:
    argv = bwrap_argv(
        "/usr/bin/bwrap",
        ["python", "-c", "pass"],
        binds=[Bind(tmp_path / "venv"), Bind(tmp_path / "ws", writable=True)],
        etc={"/etc/passwd": tmp_path / "passwd"},
        env={"PATH": "/x"},
        cwd=tmp_path / "ws",
    )
    for flag in ("--unshare-all", "--disable-userns", "--die-with-parent", "--clearenv"):
        assert flag in argv
    assert "--share-net" not in argv
    assert argv[argv.index("--cap-drop") + 1] == "ALL"
    assert ["--ro-bind", str(tmp_path / "venv"), str(tmp_path / "venv")] == argv[
        argv.index(str(tmp_path / "venv")) - 1 : argv.index(str(tmp_path / "venv")) + 2
    ]
    assert argv.index("--tmpfs") < argv.index(str(tmp_path / "ws"))  # binds under /tmp survive
    assert argv[-4:] == ["--", "python", "-c", "pass"]


def test_for_a_root_factory_code_drops_roots_id_before_it_starts(tmp_path: Path) -> None:
    argv = bwrap_argv(
        "/usr/bin/bwrap",
        ["pytest"],
        binds=[Bind(tmp_path / "ws", writable=True)],
        etc={},
        env={},
        cwd=tmp_path / "ws",
        run_as=(65533, 65533),
    )
    # no user namespace: it would map the sandbox's user back to root's id
    assert "--unshare-user" not in argv and "--unshare-all" not in argv
    for flag in ("--unshare-net", "--unshare-pid", "--unshare-ipc", "--clearenv"):
        assert flag in argv
    kept = [argv[i + 1] for i, a in enumerate(argv) if a == "--cap-add"]
    assert sorted(kept) == ["CAP_DAC_READ_SEARCH", "CAP_SETGID", "CAP_SETPCAP", "CAP_SETUID"]
    command = argv[argv.index("--") + 1 :]
    assert command[0].endswith("setpriv") and "--reuid=65533" in command
    assert "--bounding-set=-all" in command and command[-2:] == ["--", "pytest"]
    network = bwrap_argv("b", ["uv"], binds=[], etc={}, env={}, cwd=tmp_path, network=True)
    assert "--share-net" in network


def test_the_sandbox_follows_the_settings(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, sandbox="unsandboxed", sandbox_wall_seconds=7)
    box = Sandbox.from_settings(settings.sandboxing, settings.storage.data_dir)
    assert box.mode == "unsandboxed" and not box.sandboxed
    assert box.limits.wall_seconds == 7
    assert box.cache_dir == tmp_path.resolve() / "sandbox"
    assert Settings(data_dir=tmp_path).sandboxing.sandbox == "bwrap"
    with pytest.raises(ValueError):
        Sandbox(mode="docker", cache_dir=tmp_path)


def test_a_long_failure_message_keeps_its_first_and_last_lines(tmp_path: Path) -> None:
    stderr = "Traceback (most recent call last):\n" + "  frame\n" * 200
    message = f"AssertionError: tool: abc: No such file or directory\n{stderr}AttributeError: int"
    xml = tmp_path / "junit.xml"
    xml.write_text(
        '<testsuites><testsuite><testcase classname="tests.test_a" name="test_run" '
        f'file="tests/test_a.py"><failure message="{message}">E</failure></testcase>'
        "</testsuite></testsuites>"
    )
    report = parse_junit(xml, tmp_path)
    assert report is not None
    [case] = report.cases
    assert case.message.startswith("AssertionError: tool: abc: No such file or directory")
    assert case.message.endswith("AttributeError: int") and " ... " in case.message
    assert len(case.message) <= 500
