"""The sandbox, for real: bubblewrap, uv, pytest from the index, limits enforced by the kernel.

One environment (pytest only) is built per module under a temporary cache and
shared by the tests; each test gets its own workspace.
"""

from __future__ import annotations

import json
import os
import socket
import stat
import textwrap
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest

from devfactory.sandbox.environments import MARKER
from devfactory.sandbox.isolation import process_bound
from devfactory.sandbox.ownership import SANDBOX_HOST_ID
from devfactory.sandbox.runner import (
    Environment,
    Limits,
    Sandbox,
    SandboxUnavailableError,
    Smoke,
)

T = TypeVar("T")
LIMITS = Limits(
    cpu_seconds=10, memory_mb=512, processes=32, wall_seconds=30, output_chars=5000, file_size_mb=8
)


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("sandbox-cache")


@pytest.fixture(scope="module")
def sandbox(cache: Path) -> Sandbox:
    box = Sandbox(mode="bwrap", cache_dir=cache, limits=LIMITS, install_seconds=300)
    box.check()  # a machine without working bubblewrap fails here, saying how to fix it
    return box


@pytest.fixture(scope="module")
def env(sandbox: Sandbox) -> Environment:
    built = sandbox.environment([])
    assert built.ok, built.install.output
    return built


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    path = tmp_path / "workspace"
    path.mkdir()
    return path


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))


def run_script(box: Sandbox, workspace: Path, env: Environment, code: str, **kwargs: object):
    write(workspace, {"probe.py": code})
    return box.run(["python", "probe.py"], workspace=workspace, env=env, **kwargs)  # type: ignore[arg-type]


class HostListener:
    """A TCP server on the host's loopback that records every connection it accepts.

    Its thread records a connection some time after the kernel took it; a test
    waits for it (``settled``), never for a delay.
    """

    def __init__(self) -> None:
        self.server = socket.socket()
        self.server.bind(("127.0.0.1", 0))
        self.server.listen()
        self.server.settimeout(0.2)
        self.port: int = self.server.getsockname()[1]
        self.accepted: list[str] = []
        self.recorded = threading.Condition()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.serve, daemon=True)

    def serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.server.accept()
            except OSError:
                continue
            with self.recorded:
                self.accepted.append(conn.recv(16).decode() or "connection")
                self.recorded.notify_all()
            conn.close()

    def settled(self, timeout: float = 30.0) -> list[str]:
        """Return every connection made before now, once the thread has recorded them all.

        A connection of the host's own goes in last: the server accepts in the
        order the kernel queued them, so once it is recorded every earlier one is.
        """
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as own:
            own.sendall(b"host")
        with self.recorded:
            assert self.recorded.wait_for(lambda: "host" in self.accepted, timeout=timeout)
            self.accepted.remove("host")
            return list(self.accepted)


@pytest.fixture
def host_listener() -> Iterator[HostListener]:
    """A listener on the host's loopback, stopped after the test."""
    listener = HostListener()
    listener.thread.start()
    yield listener
    listener.stop.set()
    listener.thread.join(timeout=2)
    listener.server.close()


# --- environments -------------------------------------------------------------------------


def test_an_environment_is_built_once_and_reused(sandbox: Sandbox, env: Environment) -> None:
    assert (env.path / MARKER).is_file()
    assert (env.bin / "pytest").is_file()
    again = sandbox.environment(["pytest"])  # pytest is always there: the same environment
    assert again.reused and again.path == env.path
    assert again.install.exit_code == 0


def test_two_processes_building_one_environment_both_get_it_whole(sandbox: Sandbox) -> None:
    results: list[Environment] = []
    threads = [
        threading.Thread(target=lambda: results.append(sandbox.environment(["iniconfig"])))
        for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 2
    assert all(r.ok for r in results), [r.install.output for r in results]
    assert results[0].path == results[1].path
    leftovers = [p.name for p in results[0].path.parent.iterdir() if p.name.startswith(".")]
    assert leftovers == []  # the loser's staging folder is gone


def test_a_failed_install_is_returned_with_its_reason(sandbox: Sandbox, workspace: Path) -> None:
    name = f"devfactory-no-such-package-{uuid.uuid4().hex[:8]}"
    broken = sandbox.environment([name])
    assert not broken.ok
    assert broken.install.exit_code not in (0, None)
    assert name in broken.install.output
    assert not broken.path.exists()
    result = sandbox.run(["python", "-c", "print(1)"], workspace=workspace, env=broken)
    assert result.problem == "its environment did not install"
    assert not result.record().ok


@pytest.mark.parametrize(
    "dependency",
    ["requests @ https://example.com/r.whl", "-e .", "./local", "--index-url=https://x", "a b"],
)
def test_unsafe_dependencies_are_refused(sandbox: Sandbox, dependency: str) -> None:
    with pytest.raises(ValueError):
        sandbox.environment([dependency])


# --- isolation ----------------------------------------------------------------------------


def test_writes_outside_the_workspace_fail_and_reach_nothing_on_the_host(
    sandbox: Sandbox, env: Environment, workspace: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "outside.txt"  # the workspace's host sibling
    targets = [str(outside), "/usr/evil", "/etc/evil", "/evil", str(env.bin / "evil")]
    code = f"""
        import json
        results = {{}}
        for path in {targets!r} + ["inside.txt"]:
            try:
                with open(path, "w") as handle:
                    handle.write("x")
                results[path] = "written"
            except OSError as exc:
                results[path] = type(exc).__name__
        print(json.dumps(results))
    """
    result = run_script(sandbox, workspace, env, code)
    assert result.exit_code == 0, result.output
    written = json.loads(result.output.strip().splitlines()[-1])
    for path in targets[1:]:
        assert written[path] != "written", path
    assert not outside.exists()  # a write there, if any, went to the sandbox's own /tmp
    assert not (env.bin / "evil").exists()
    assert (workspace / "inside.txt").read_text() == "x"


def test_no_network_neither_outside_nor_the_hosts_loopback(
    sandbox: Sandbox, env: Environment, workspace: Path, host_listener: HostListener
) -> None:
    port = host_listener.port
    code = f"""
        import json, socket
        out = {{}}
        for host, port in (("1.1.1.1", 53), ("127.0.0.1", {port})):
            try:
                socket.create_connection((host, port), timeout=3).close()
                out[host] = "connected"
            except OSError as exc:
                out[host] = type(exc).__name__
        print(json.dumps(out))
    """
    result = run_script(sandbox, workspace, env, code)
    outcome = json.loads(result.output.strip().splitlines()[-1])
    assert outcome["1.1.1.1"] != "connected"
    assert outcome["127.0.0.1"] != "connected"
    assert host_listener.settled() == []


def test_host_files_and_environment_variables_are_not_visible(
    sandbox: Sandbox,
    env: Environment,
    workspace: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    canary = f"canary-{uuid.uuid4().hex}"
    monkeypatch.setenv("DF_SANDBOX_CANARY", canary)
    monkeypatch.setenv("DEVFACTORY_FAKE_API_KEY", "sk-" + canary)
    secret_file = Path.home() / f".devfactory-sandbox-{canary}"
    secret_file.write_text(canary)
    try:
        paths = [str(secret_file), __file__, "/etc/shadow", str(Path.home() / ".ssh")]
        code = f"""
            import json, os
            seen = {{p: os.path.exists(p) for p in {paths!r}}}
            report = {{"exists": seen, "environ": dict(os.environ),
                       "passwd": open("/etc/passwd").read(), "root": os.listdir("/")}}
            open("report.json", "w").write(json.dumps(report))
        """
        result = run_script(sandbox, workspace, env, code)
    finally:
        secret_file.unlink()
    assert result.exit_code == 0, result.output
    report = json.loads((workspace / "report.json").read_text())
    assert report["exists"] == {p: False for p in paths}
    assert canary not in json.dumps(report["environ"])
    assert "DF_SANDBOX_CANARY" not in report["environ"]
    assert report["environ"]["HOME"] == "/tmp"
    assert "daemon:" not in report["passwd"]  # the host's accounts stay outside
    assert "work" not in report["root"] and "home" not in report["root"]
    assert "REDACTED" not in result.output


def test_code_never_runs_as_root_so_kernel_settings_stay_out_of_reach(
    sandbox: Sandbox, env: Environment, workspace: Path
) -> None:
    # opening for writing is the check; nothing is written
    files = ["/proc/sys/kernel/core_pattern", "/proc/sys/vm/drop_caches", "/proc/sysrq-trigger"]
    code = f"""
        import json, os, sys
        status = dict(line.split(":", 1) for line in open("/proc/self/status"))
        out = {{key: status[key].split() for key in ("CapEff", "CapPrm", "CapBnd")}}
        out["prefix"] = sys.prefix
        for path in {files!r}:
            try:
                os.close(os.open(path, os.O_WRONLY))
                out[path] = "writable"
            except OSError as exc:
                out[path] = type(exc).__name__
        print(json.dumps(out))
    """
    result = run_script(sandbox, workspace, env, code)
    seen = json.loads(result.output.strip().splitlines()[-1])
    for path in files:
        assert seen[path] != "writable", path
    for caps in ("CapEff", "CapPrm", "CapBnd"):
        assert int(seen[caps][0], 16) == 0, caps
    assert seen["prefix"] == str(env.path)  # the environment's python, not another one


def test_the_host_sees_sandboxed_code_run_as_an_unprivileged_user(
    sandbox: Sandbox, env: Environment, workspace: Path
) -> None:
    marker = f"whoami-{uuid.uuid4().hex[:8]}"
    found: list[int] = []
    thread = threading.Thread(
        target=lambda: sandbox.run(
            ["python", "-c", "import time; time.sleep(3)", marker], workspace=workspace, env=env
        )
    )
    thread.start()
    while not found and thread.is_alive():  # the code runs 3 s once started, however late
        for entry in Path("/proc").iterdir():
            try:
                argv = (entry / "cmdline").read_bytes().split(b"\0") if entry.name.isdigit() else []
                if argv[:1] == [b"python"] and marker.encode() in argv:  # not bwrap, the code
                    status = (entry / "status").read_text()
                    found.append(int(status.split("Uid:")[1].split()[0]))
            except OSError:
                continue
        time.sleep(0.05)
    thread.join()
    assert found and found[0] != 0  # root's id never reaches the sandbox
    assert found[0] == (os.geteuid() or SANDBOX_HOST_ID)


def test_the_workspace_comes_back_owned_as_before_without_links_out(
    sandbox: Sandbox, env: Environment, workspace: Path
) -> None:
    (workspace / ".git").mkdir()
    (workspace / ".git" / "config").write_text("[core]\n")
    (workspace / "kept.txt").write_text("mine")
    code = """
        import os
        os.symlink("/etc/passwd", "leak")
        os.symlink("kept.txt", "inside-link")
        open("made.txt", "w").write("new")
        try:
            open(".git/config", "a").write("[filter]")
            print("git writable")
        except OSError as exc:
            print("git refused", type(exc).__name__)
    """
    result = run_script(sandbox, workspace, env, code)
    assert "git refused" in result.output
    assert (workspace / ".git" / "config").read_text() == "[core]\n"
    assert not (workspace / "leak").is_symlink()
    assert (workspace / "inside-link").is_symlink()
    assert "leak" in result.problem and not result.record().ok
    me = (os.geteuid(), os.getegid())
    for name in ("kept.txt", "made.txt", "probe.py", "."):
        stat = (workspace / name).stat()
        assert (stat.st_uid, stat.st_gid) == me, name


# --- limits -------------------------------------------------------------------------------


def test_the_process_limit_stops_forks(sandbox: Sandbox, env: Environment, workspace: Path) -> None:
    code = """
        import os, time
        children = 0
        for _ in range(200):
            try:
                pid = os.fork()
            except OSError:
                break
            if pid == 0:
                time.sleep(2)
                os._exit(0)
            children += 1
        print("children", children)
    """
    result = run_script(sandbox, workspace, env, code)
    children = int(result.output.split("children")[-1])
    assert children < LIMITS.processes
    assert process_bound() in ("cgroup", "rlimit")


def test_a_fork_bomb_is_killed_within_its_limits(
    sandbox: Sandbox, env: Environment, workspace: Path
) -> None:
    marker = f"bomb-{uuid.uuid4().hex[:8]}"
    code = f"""
        import os, time
        MARK = "{marker}"
        while True:
            try:
                os.fork()
            except OSError:
                time.sleep(0.01)
    """
    started = time.monotonic()
    result = run_script(sandbox, workspace, env, code, limits=Limits(wall_seconds=4))
    assert time.monotonic() - started < 15
    assert result.timed_out
    assert result.exit_code is None
    assert result.killed == "processes"
    assert "processes limit reached" in result.record().summary
    assert gone(b"probe.py") == []


def gone(marker: bytes, seconds: float = 30.0) -> list[str]:
    """Wait until no process's command line holds ``marker``; return those left after ``seconds``.

    A killed process is gone once its parent reaps it, which a loaded machine
    does later: the test waits for that, and fails only if it never happens.
    """
    deadline = time.monotonic() + seconds
    while True:
        left = []
        for entry in Path("/proc").iterdir():
            try:
                if entry.name.isdigit() and marker in (entry / "cmdline").read_bytes():
                    left.append(entry.name)
            except OSError:
                continue
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.05)


def test_a_memory_hog_is_stopped(sandbox: Sandbox, env: Environment, workspace: Path) -> None:
    code = """
        chunks = []
        while True:
            chunks.append(bytearray(32 * 1024 * 1024))
    """
    result = run_script(sandbox, workspace, env, code)
    assert result.exit_code != 0
    assert result.killed == "memory"
    assert result.seconds < LIMITS.wall_seconds
    assert not result.record().ok


def test_an_endless_loop_is_killed_at_its_cpu_limit(
    sandbox: Sandbox, env: Environment, workspace: Path
) -> None:
    result = run_script(
        sandbox, workspace, env, "while True:\n    pass\n", limits=Limits(cpu_seconds=2)
    )
    assert result.killed == "cpu time"
    assert result.exit_code is None and not result.timed_out
    assert result.signal is not None
    assert result.seconds < 10


def test_a_sleeper_is_killed_at_its_wall_time(
    sandbox: Sandbox, env: Environment, workspace: Path
) -> None:
    code = "import time\nprint('going to sleep', flush=True)\ntime.sleep(600)\n"
    result = run_script(sandbox, workspace, env, code, limits=Limits(wall_seconds=2))
    assert result.timed_out and result.killed == "wall time"
    assert result.exit_code is None
    assert 2 <= result.seconds < 6
    assert "going to sleep" in result.output
    assert "killed after" in result.record().summary


def test_a_large_file_is_refused(sandbox: Sandbox, env: Environment, workspace: Path) -> None:
    code = "open('big.bin', 'wb').write(b'x' * (16 * 1024 * 1024))\n"
    result = run_script(sandbox, workspace, env, code)
    assert result.killed == "file size"
    assert (workspace / "big.bin").stat().st_size <= LIMITS.file_size_mb << 20


def test_output_is_bounded(sandbox: Sandbox, env: Environment, workspace: Path) -> None:
    code = "import sys\nfor i in range(200_000):\n    sys.stdout.write(f'line {i}\\n')\n"
    result = run_script(sandbox, workspace, env, code)
    assert result.exit_code == 0
    assert len(result.output) < LIMITS.output_chars + 200
    assert "line 199999" in result.output and "line 0\n" not in result.output


def test_a_call_gives_each_result_whole_up_to_its_cap(
    sandbox: Sandbox, env: Environment, workspace: Path
) -> None:
    from devfactory.sandbox.drivers.calls import RESULT_CHARS

    write(workspace, {"longs.py": "def text(n):\n    if n < 0:\n        raise KeyError(n)\n"
                                 "    return 'x' * n\n"})  # fmt: skip
    near, past = RESULT_CHARS - 10, RESULT_CHARS * 2
    got = sandbox.call(workspace, env, "longs", "text", [f"({near},)", f"({past},)", "(-1,)"])
    assert got[0] == repr("x" * near)  # a JSON text or a record this long is compared whole
    assert got[1] == repr("x" * past)[:RESULT_CHARS] and got[2] == "!KeyError"


def test_stdin_reaches_the_command(sandbox: Sandbox, env: Environment, workspace: Path) -> None:
    argv = ["python", "-c", "import sys; print(sys.stdin.read().upper())"]
    result = sandbox.run(argv, workspace=workspace, env=env, stdin="hello sandbox")
    assert result.output.strip() == "HELLO SANDBOX"


# --- tests, imports, smoke ----------------------------------------------------------------

TESTS = {
    "calc.py": "def add(a, b):\n    return a + b\n",
    "tests/test_calc.py": """
        import pytest
        from calc import add

        def test_adds():
            assert add(1, 2) == 3

        class TestMore:
            def test_zero(self):
                assert add(0, 0) == 0

            def test_wrong(self):
                assert add(2, 2) == 5, "two and two make five"

        @pytest.mark.skip(reason="not today")
        def test_skipped():
            pass
    """,
}


def test_a_failing_test_run_is_reported_case_by_case(
    sandbox: Sandbox, env: Environment, workspace: Path
) -> None:
    write(workspace, TESTS)
    result, report = sandbox.run_tests(workspace, env, "python -m pytest -q")
    assert result.exit_code == 1
    assert (report.passed, report.failed, report.errors, report.skipped) == (2, 1, 0, 1)
    [failed] = report.problems
    assert failed.nodeid == "tests/test_calc.py::TestMore::test_wrong"
    assert failed.file == "tests/test_calc.py"
    assert "two and two make five" in failed.message
    assert "assert" in failed.traceback and len(failed.traceback) <= 1503
    record = result.record(report)
    assert (record.passed, record.failed, record.sandboxed, record.ok) == (2, 1, True, False)
    assert not (workspace / ".pytest_cache").exists()
    assert not list(workspace.rglob("__pycache__"))


def test_a_passing_test_run_is_ok(sandbox: Sandbox, env: Environment, workspace: Path) -> None:
    files = dict(TESTS)
    files["tests/test_calc.py"] = (
        "from calc import add\n\ndef test_adds():\n    assert add(1, 2) == 3\n"
    )
    write(workspace, files)
    result, report = sandbox.run_tests(workspace, env, "python -m pytest")
    assert result.exit_code == 0, result.output
    assert (report.passed, report.failed) == (1, 0)
    assert result.record(report).ok
    assert result.record(report).summary.startswith("exit 0; 1 passed")


def test_no_tests_collected_is_said(sandbox: Sandbox, env: Environment, workspace: Path) -> None:
    write(workspace, {"calc.py": "X = 1\n"})
    result, report = sandbox.run_tests(workspace, env, "pytest")
    assert result.exit_code == 5
    assert "no tests collected" in result.problem
    assert report.total == 0 and not result.record(report).ok


def test_only_pytest_commands_are_run(sandbox: Sandbox, env: Environment, workspace: Path) -> None:
    for command in ("rm -rf /", "python -c 'print(1)'", "pytest --basetemp=/etc"):
        with pytest.raises(ValueError):
            sandbox.run_tests(workspace, env, command)


@pytest.mark.parametrize(
    "closes",
    [
        "sys.stdout.close()",
        "sys.stdout = io.TextIOWrapper(sys.stdout.buffer, encoding='utf-8')",  # closed when freed
        "with sys.stderr: pass",
    ],
)
def test_a_test_that_closes_a_standard_stream_fails_for_it_and_the_rest_still_run(
    sandbox: Sandbox, env: Environment, workspace: Path, closes: str
) -> None:
    # pytest captures into a file the test closed: unguarded, every test after it (in every
    # file after it) errors before it starts with "I/O operation on closed file"
    write(
        workspace,
        {
            "calc.py": "def add(a, b):\n    return a + b\n",
            "tests/test_a.py": f"""
                import io
                import sys
                from calc import add

                def test_closes():
                    print(add(1, 2))
                    {closes}

                def test_after():
                    print("still captured")
                    assert add(1, 2) == 3
            """,
            "tests/test_requirement_examples.py": (
                "from calc import add\n\ndef test_example():\n    assert add(2, 2) == 4\n"
            ),
        },
    )
    result, report = sandbox.run_tests(workspace, env, "python -m pytest")
    assert (report.passed, report.failed, report.errors) == (2, 1, 0), result.output
    [closer] = report.problems
    assert closer.nodeid == "tests/test_a.py::test_closes"
    assert "it closed sys.std" in closer.message and "capsys" in closer.message
    assert "I/O operation on closed file" not in result.output


def test_compile_and_import_names_the_module_that_raises(
    sandbox: Sandbox, env: Environment, workspace: Path
) -> None:
    write(
        workspace,
        {
            "pkg/__init__.py": "",
            "pkg/good.py": "VALUE = 1\n",
            "pkg/bad.py": "raise ValueError('boom at import')\n",
            "src/srcmod.py": "from pkg.good import VALUE\n",
            "scripts/broken.py": "def oops(:\n",
        },
    )
    result = sandbox.compile_and_import(workspace, env, ["pkg.good", "pkg.bad", "srcmod"])
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert "pkg.bad: ValueError: boom at import" in lines
    assert "ok pkg.good" in lines and "ok srcmod" in lines
    assert any(line.startswith("compile scripts/broken.py:1: SyntaxError") for line in lines)
    assert (result.passed, result.failed) == (2, 2)
    assert not list(workspace.rglob("__pycache__"))
    with pytest.raises(ValueError):
        sandbox.compile_and_import(workspace, env, ["os; import shutil"])


CLI = """
    import argparse
    parser = argparse.ArgumentParser(description="Greets people.")
    parser.add_argument("name")
    print(parser.parse_args().name)
"""


def test_cli_smoke(sandbox: Sandbox, env: Environment, workspace: Path) -> None:
    write(workspace, {"greet.py": CLI, "silent.py": "", "crash.py": "raise SystemExit(3)\n"})
    good = sandbox.smoke(workspace, env, Smoke(kind="cli", argv=("python", "greet.py")))
    assert good.ok and "Greets people." in good.output
    assert good.record().ok
    silent = sandbox.smoke(workspace, env, Smoke(kind="cli", argv=("python", "silent.py")))
    assert silent.exit_code == 0 and not silent.ok
    assert not silent.record().ok and "printed nothing" in silent.record().summary
    crash = sandbox.smoke(workspace, env, Smoke(kind="cli", argv=("python", "crash.py")))
    assert crash.exit_code == 3 and not crash.record().ok


APP = """
    import sys
    from http.server import BaseHTTPRequestHandler, HTTPServer

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            status = 200 if self.path == "/health" else 500
            self.send_response(status)
            self.end_headers()
            self.wfile.write(b'{"status": "ok"}' if status == 200 else b"broken")

    HTTPServer(("127.0.0.1", int(sys.argv[sys.argv.index("--port") + 1])), Handler).serve_forever()
"""


def test_http_smoke(sandbox: Sandbox, env: Environment, workspace: Path) -> None:
    write(workspace, {"app.py": APP, "dead.py": "import time\ntime.sleep(600)\n"})
    argv = ("python", "app.py", "--port", "{port}")
    good = sandbox.smoke(workspace, env, Smoke(kind="http", argv=argv, path="/health"))
    assert good.exit_code == 0, good.output
    assert "GET /health -> 200" in good.output and good.record().ok
    broken = sandbox.smoke(workspace, env, Smoke(kind="http", argv=argv, path="/boom"))
    assert broken.exit_code == 1 and "-> 500" in broken.output
    started = time.monotonic()
    dead = Smoke(kind="http", argv=("python", "dead.py", "{port}"), startup_seconds=2)
    silent = sandbox.smoke(workspace, env, dead)
    assert silent.exit_code == 1 and "did not listen" in silent.output
    assert time.monotonic() - started < 15


# --- modes --------------------------------------------------------------------------------


def test_the_unsandboxed_mode_marks_every_result(
    cache: Path,
    env: Environment,
    workspace: Path,
    host_listener: HostListener,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DF_SANDBOX_CANARY", "visible-if-leaked")
    bare = Sandbox(mode="unsandboxed", cache_dir=cache, limits=LIMITS)
    same = bare.environment([])
    assert same.reused and same.path == env.path
    port = host_listener.port
    code = f"""
        import os, socket
        socket.create_connection(("127.0.0.1", {port}), timeout=3).close()
        print("connected", os.environ.get("DF_SANDBOX_CANARY"))
    """
    result = run_script(bare, workspace, same, code)
    assert result.output.strip() == "connected None"  # no isolation, but a cleared environment
    assert host_listener.settled() == ["connection"]
    assert result.sandboxed is False
    record = result.record()
    assert record.sandboxed is False and "NOT sandboxed" in record.summary
    tests, _ = bare.run_tests(workspace, same, "pytest")
    assert tests.sandboxed is False


def test_a_missing_bwrap_makes_the_sandbox_unavailable(cache: Path) -> None:
    box = Sandbox(mode="bwrap", cache_dir=cache, bwrap="/nonexistent/bwrap")
    with pytest.raises(SandboxUnavailableError) as caught:
        box.check()
    message = str(caught.value)
    assert "apt-get install bubblewrap" in message
    assert "DEVFACTORY_SANDBOX=unsandboxed" in message
    with pytest.raises(SandboxUnavailableError):
        box.environment([])
    assert Sandbox(mode="unsandboxed", cache_dir=cache, bwrap="/nonexistent/bwrap").check() is None


def test_the_probe_is_not_fooled_by_a_bwrap_that_does_nothing(cache: Path, tmp_path: Path) -> None:
    fake = tmp_path / "fake-bwrap"
    fake.write_text("#!/bin/sh\nexit 0\n")
    fake.chmod(0o755)
    with pytest.raises(SandboxUnavailableError, match="bubblewrap failed"):
        Sandbox(mode="bwrap", cache_dir=cache, bwrap=str(fake)).check()


def test_cgroups_are_removed_after_each_command(
    sandbox: Sandbox, env: Environment, workspace: Path
) -> None:
    if process_bound() != "cgroup":
        pytest.skip("no writable cgroup here: processes are bounded by RLIMIT_NPROC")
    from devfactory.sandbox.jail import PREFIX, _parents

    sandbox.run(["true"], workspace=workspace, env=env)
    mine = f"{PREFIX}-{os.getpid()}-"
    left = [p for _, parent in _parents() for p in parent.iterdir() if p.name.startswith(mine)]
    assert left == []


# --- traps left for the host (issue 24: items 2, 10 and 11) -------------------------------


def tree(root: Path) -> Iterator[os.DirEntry[str]]:
    """Yield every entry under ``root``, links not followed (iterative: trees may be deep)."""
    stack = [str(root)]
    while stack:
        with os.scandir(stack.pop()) as entries:
            for entry in entries:
                yield entry
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)


def finishes(call: Callable[[], T], seconds: float) -> tuple[T, float]:
    """Run ``call`` in a daemon thread; fail when it has not returned after ``seconds``."""
    done: list[T] = []
    failed: list[BaseException] = []

    def target() -> None:
        try:
            done.append(call())
        except BaseException as exc:  # noqa: BLE001 - raised again in the test's thread
            failed.append(exc)

    started = time.monotonic()
    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    if failed:
        raise failed[0]
    assert done, f"still running after {seconds} s (a hang, e.g. on a planted FIFO)"
    return done[0], time.monotonic() - started


def host_secret(tmp_path: Path, name: str, text: str) -> Path:
    """A root-only host file, outside everything the sandbox sees."""
    secret = tmp_path / name
    secret.write_text(text)
    secret.chmod(0o600)
    return secret


PLANTS = {  # how to plant it, and the word the result's problem uses for it
    "link": ("os.symlink({secret!r}, path)", "link"),
    "fifo": ("os.mkfifo(path)", "FIFO"),
}


@pytest.mark.parametrize("layer", ["tmpfs layer", "bound directly"])
@pytest.mark.parametrize("plant", sorted(PLANTS))
def test_a_junit_report_swapped_for_a_link_or_a_fifo_reads_nothing_outside(
    sandbox: Sandbox,
    env: Environment,
    workspace: Path,
    tmp_path: Path,
    plant: str,
    layer: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if layer == "bound directly":  # as a factory that is not root runs it: no layer
        monkeypatch.setattr("devfactory.sandbox.runner.sandbox_ids", lambda: None)
    canary = f"canary-{uuid.uuid4().hex[:12]}"
    secret = host_secret(
        tmp_path,
        "secret.xml",
        f'<testsuite><testcase classname="x" name="{canary}"><failure message="{canary}">'
        f"{canary}</failure></testcase></testsuite>",
    )
    swap = f"""
        import atexit, os, sys

        def swap():  # after pytest wrote its report: put a trap in its place
            for arg in sys.argv:
                if arg.startswith("--junitxml="):
                    path = arg.split("=", 1)[1]
                    os.remove(path)
                    {PLANTS[plant][0].format(secret=str(secret))}

        atexit.register(swap)

        def test_fine():
            assert True
    """
    write(workspace, {"tests/test_trap.py": swap})
    (result, report), seconds = finishes(
        lambda: sandbox.run_tests(workspace, env, "python -m pytest -q"), LIMITS.wall_seconds + 30
    )
    assert seconds < LIMITS.wall_seconds
    shown = json.dumps([c.__dict__ for c in report.cases]) + result.output + result.problem
    assert canary not in shown
    assert "junit.xml" in result.problem and PLANTS[plant][1] in result.problem
    assert not result.record(report).ok
    assert not any(e.name == "junit.xml" for e in tree(workspace))


@pytest.mark.parametrize("plant", sorted(PLANTS))
def test_an_import_report_swapped_for_a_link_or_a_fifo_reads_nothing_outside(
    sandbox: Sandbox, env: Environment, workspace: Path, tmp_path: Path, plant: str
) -> None:
    canary = f"canary-{uuid.uuid4().hex[:12]}"
    fake = {"files": 1, "compile_errors": [], "imports": {canary: None}}
    secret = host_secret(tmp_path, "secret.json", json.dumps(fake))
    module = f"""
        import atexit, os, sys

        def swap():  # after the driver wrote its report (argv[2]): put a trap in its place
            path = sys.argv[2]
            os.remove(path)
            {PLANTS[plant][0].format(secret=str(secret))}

        atexit.register(swap)
    """
    write(workspace, {"trap.py": module})
    result, seconds = finishes(
        lambda: sandbox.compile_and_import(workspace, env, ["trap"]), LIMITS.wall_seconds + 30
    )
    assert seconds < LIMITS.wall_seconds
    assert canary not in result.output + result.problem
    assert (result.passed, result.failed) == (0, 0)
    assert "imports.json" in result.problem and PLANTS[plant][1] in result.problem
    assert not result.record().ok


def test_fifos_sockets_and_links_planted_in_the_workspace_are_removed(
    sandbox: Sandbox, env: Environment, workspace: Path
) -> None:
    code = """
        import os, socket
        os.mkfifo("pipe")
        os.makedirs("sub")
        socket.socket(socket.AF_UNIX).bind("sub/sock")
        os.symlink("/etc/shadow", "sub/leak")
        os.symlink("probe.py", "fine-link")
        for i in range(1100):  # a chain longer than os.path.realpath can follow
            os.symlink(f"chain{i + 1}", f"chain{i}")
        os.symlink("/etc/shadow", "chain1100")
        print("planted")
    """
    result, seconds = finishes(lambda: run_script(sandbox, workspace, env, code), 60)
    assert "planted" in result.output
    left = {e.name for e in tree(workspace)}
    assert not {"pipe", "sock", "leak"} & left
    assert not any(n.startswith("chain") for n in left)
    assert "fine-link" in left and (workspace / "fine-link").is_symlink()
    for said in ("a FIFO (pipe)", "a socket (sub/sock)", "1102 x a link leading out"):
        assert said in result.problem, said
    assert not result.record().ok


def test_deeply_nested_folders_do_not_break_the_clean_up(
    sandbox: Sandbox, env: Environment, workspace: Path
) -> None:
    code = """
        import os
        for _ in range(1100):
            os.mkdir("d")
            os.chdir("d")
        os.symlink("/etc/shadow", "leak")
        open("file.txt", "w").write("deep")
        print("nested")
    """
    result, _ = finishes(lambda: run_script(sandbox, workspace, env, code), 60)
    assert "nested" in result.output
    me = (os.geteuid(), os.getegid())
    for entry in tree(workspace):
        assert entry.name != "leak"
        stat = entry.stat(follow_symlinks=False)
        assert (stat.st_uid, stat.st_gid) == me, entry.path
    assert "too deep" in result.problem


def test_the_workspace_has_a_disk_quota(
    sandbox: Sandbox, env: Environment, workspace: Path
) -> None:
    code = """
        import errno, os
        written, why = 0, ""
        try:
            for i in range(1000):  # 8 GB, were there no quota
                with open(f"fill{i}.bin", "wb") as handle:
                    for _ in range(8):
                        handle.write(b"x" * (1 << 20))
                        handle.flush()
                        written += 1 << 20
        except OSError as exc:
            why = errno.errorcode[exc.errno]
        for i in range(1000):
            os.remove(f"fill{i}.bin") if os.path.exists(f"fill{i}.bin") else None
        files = 0
        try:
            for files in range(1_000_000):
                open(f"f{files}", "w").close()
        except OSError as exc:
            why += " " + errno.errorcode[exc.errno]
        print("written", written >> 20, "files", files, why)
    """
    limits = Limits(disk_mb=32, file_size_mb=8, wall_seconds=60, memory_mb=512)
    started = time.monotonic()
    result = run_script(sandbox, workspace, env, code, limits=limits)
    seconds = time.monotonic() - started
    words = result.output.split("written")[-1].split()
    written, files, why = int(words[0]), int(words[2]), words[3:]
    assert written <= 32 and why[0] == "ENOSPC", result.output
    assert files < 100_000 and why[1] == "ENOSPC", result.output
    on_host = sum(e.stat(follow_symlinks=False).st_size for e in tree(workspace))
    assert on_host <= 32 << 20
    assert seconds < 40


def test_code_cannot_make_a_user_namespace(
    sandbox: Sandbox, env: Environment, workspace: Path
) -> None:
    code = """
        import ctypes, errno, json, os, subprocess, threading
        libc = ctypes.CDLL(None, use_errno=True)
        out = {}
        tool = subprocess.run(["unshare", "-U", "true"], capture_output=True, text=True)
        out["unshare -U"] = tool.returncode == 0 or tool.stderr.strip()
        out["unshare(2)"] = libc.unshare(0x10000000) == 0 or errno.errorcode[ctypes.get_errno()]
        box = []
        thread = threading.Thread(target=lambda: box.append("thread ran"))
        thread.start()
        thread.join()
        pid = os.fork()
        if pid == 0:
            os._exit(7)
        out["fork"] = os.waitpid(pid, 0)[1] >> 8
        out["thread"] = box
        print(json.dumps(out))
    """
    result = run_script(sandbox, workspace, env, code)
    seen = json.loads(result.output.strip().splitlines()[-1])
    assert seen["unshare(2)"] == "EPERM", seen
    assert seen["unshare -U"] is not True and "not permitted" in seen["unshare -U"], seen
    assert seen["fork"] == 7 and seen["thread"] == ["thread ran"]  # processes and threads work


def test_under_the_factorys_private_umask_code_runs_and_what_it_wrote_comes_back_private(
    sandbox: Sandbox, env: Environment, workspace: Path
) -> None:
    """Issue 58 item 10: the entry points' umask 0077 leaves the sandbox working.

    The environment (built now, under that umask) and the sandbox's /etc stay
    readable by the user code runs as, which for a root factory is not ours;
    what the code writes comes back without the group's and others' bits,
    whatever modes it gave them.
    """
    os.umask(0o077)  # as every entry point sets it (private_files); the test's fixture restores
    private = sandbox.environment(["packaging"])  # not the module's: built under this umask
    assert private.ok and not private.reused, private.install.output
    write(workspace, {"calc.py": "def add(a, b):\n    return a + b\n"})
    write(workspace, {"tests/test_calc.py": """
        import getpass, os, sys
        from calc import add

        def test_adds_and_writes():
            assert add(1, 2) == 3
            assert sys.prefix == ENVIRONMENT  # its environment, not the interpreter's own
            assert getpass.getuser() == "sandbox"  # the sandbox's /etc/passwd is readable
            os.makedirs("out/open", exist_ok=True)
            os.chmod("out/open", 0o777)
            with open("out/open/result.txt", "w") as handle:
                handle.write("3")
            os.chmod("out/open/result.txt", 0o666)
    """.replace("ENVIRONMENT", repr(str(private.path)))})  # fmt: skip
    result, report = sandbox.run_tests(workspace, private, "python -m pytest -q")
    assert result.exit_code == 0 and report.passed == 1, result.output
    assert (workspace / "out" / "open" / "result.txt").read_text() == "3"
    if sandbox.ids is None:
        return  # not root: the code wrote the folder itself, as our user, with its own modes
    for path in (workspace / "out", workspace / "out" / "open"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o700, path
    assert stat.S_IMODE((workspace / "out" / "open" / "result.txt").stat().st_mode) == 0o600


# --- a real failing check, as a person is shown it ----------------------------------------

BROKEN_MAIN = """
    import importlib


    def load(name):
        return importlib.import_module(name)


    def main():
        return load("wordcount.engine").run()


    main()
"""


def test_a_real_failing_smoke_check_is_shown_by_its_error_line(
    sandbox: Sandbox, env: Environment, workspace: Path
) -> None:
    """The smoke check's traceback, through the gate and the pause, leads with its error.

    The reason a person reads (``pending``, ``GET /pending``, the console) starts with
    the exception and its message, and a table's cut line keeps it.
    """
    from devfactory.api.run_routes import question
    from devfactory.checks.code.framework import CheckContext, run_checks
    from devfactory.checks.code.smoke import SmokeCheck
    from devfactory.control.error_line import brief
    from devfactory.graph.gate import Route, Verdict
    from devfactory.software.plan import BuildPlan
    from tests.unit.test_build_plan import COUNT_WORDS, cli_plan
    from tests.unit.test_error_line import blocked

    files = {"wordcount/__init__.py": COUNT_WORDS, "wordcount/__main__.py": BROKEN_MAIN}
    write(workspace, files)
    context = CheckContext(
        plan=BuildPlan.model_validate(cli_plan()),
        files=files,
        teams=["backend-engineering"],
        workspace=workspace,
        sandbox=sandbox,
        environment=env,
    )
    found = run_checks(context, [SmokeCheck()])
    (problem,) = found.problems
    error = "ModuleNotFoundError: No module named 'wordcount.engine'"
    assert error in problem.text and problem.text.rstrip().endswith(error)
    reason = Verdict(Route.BLOCK, [problem.line()]).reason
    assert reason.startswith(f"{problem.path} [smoke]: {error}\n")
    shown = question(blocked(reason))  # the pause a person is asked, as GET /pending says it
    assert shown.error_line == f"{problem.path} [smoke]: {error}"
    failed = f"stage backend-engineering BLOCKED: gate failed 3 of 3 attempts; {reason}"
    assert error in brief(failed, 160) and len(brief(failed, 160)) <= 160  # kept on the cut line
