"""Only ``devfactory/runfiles.py`` opens what a run wrote: a scan of the code for file reads.

A run's folder is written by a model, by the code the sandbox ran and by a
repository's owner, so a reader that opens a path under it by name follows
whatever link was planted there (the chat once attached ``<data_dir>/console-secret``
that way). Every call that opens, lists, walks, copies or removes a path by
name, anywhere in ``devfactory/`` and ``eval/`` outside ``runfiles.py``, must be
named below with its module, the calls it makes and the reason none of them
touches a run's folder; a new reader fails here until it goes through
``runfiles`` or is allowed with its reason. An entry that no longer makes any
such call fails too, so the list stays true.

What counts as such a call (``reading_calls``): ``open``, ``os.open``,
``os.walk``, ``os.listdir``, ``os.scandir``, ``os.path.isfile``,
``glob.glob``, ``shutil`` copies, moves and ``rmtree``, a ``Path``'s
``read_text``, ``read_bytes``, ``is_file``, ``iterdir``, ``glob``, ``rglob``
and ``open`` (an ``.open(...)`` whose arguments are a file mode and
``open``'s own keywords: ``Stores.open(settings, dsn)`` or
``pool.open(wait=True)`` is not a file), a Chainlit element given a
``path=`` (``cl.File``, ``cl.Image``...: Chainlit opens it itself) and
``FileResponse``. Package data is not a run's folder: a call on
``importlib.resources.files(...) / ...`` is not counted.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
THE_WAY_IN = "devfactory/runfiles.py"
SCANNED = ("devfactory", "eval")
NOT_SCANNED = ("eval/cases/",)  # the cases' reference solutions and tests: the subjects, not us

PATH_METHODS = {"read_text", "read_bytes", "is_file", "iterdir", "glob", "rglob", "open"}
MODULE_CALLS = {
    ("os", "open"),
    ("os", "walk"),
    ("os", "listdir"),
    ("os", "scandir"),
    ("glob", "glob"),
    ("shutil", "rmtree"),
    ("shutil", "copy"),
    ("shutil", "copy2"),
    ("shutil", "copyfile"),
    ("shutil", "copytree"),
    ("shutil", "move"),
}
OPEN_KEYWORDS = {"mode", "buffering", "encoding", "errors", "newline"}
CHAINLIT_ELEMENTS = {"File", "Image", "Pdf", "Text", "Audio", "Video"}  # each opens a path= itself

# module -> (the reading calls it may make, why none of them is a run's folder)
ALLOWED: dict[str, tuple[frozenset[str], str]] = {
    "devfactory/checks/code/existing_tests.py": (
        frozenset({"os.open"}),
        "writes the old tests' scratch workspace (O_EXCL | O_NOFOLLOW) in a folder "
        "runfiles.open_within made; its reads of a workspace go through runfiles",
    ),
    "devfactory/repos/workspace.py": (
        frozenset({".is_file", ".iterdir", ".read_text"}),
        "git's side of the run's folder: its own mark and delivery record inside .git (which "
        "no artifact path may reach and the sandbox mounts read-only), and whether a new "
        "folder is empty before git init; the work tree is read by git, which commits a "
        "link as a link, never its target",
    ),
    "devfactory/repos/local_source.py": (
        frozenset({"os.open"}),
        "opens a local source repository's .git folder (O_NOFOLLOW | O_DIRECTORY) below a "
        "folder runfiles.open_within opened from /; never a run's folder, never a file",
    ),
    "devfactory/repos/git_credentials.py": (
        frozenset({"os.open"}),
        "the data directory's kept repository credentials (O_NOFOLLOW, a folder of the "
        "factory's own): never a run's folder",
    ),
    "devfactory/repos/repository.py": (
        frozenset({"os.walk", ".iterdir", ".is_file", ".read_text"}),
        "the clone of a repository a run delivers into: its size by lstat (os.walk follows "
        "no link), whether its destination is empty, and the factory's delivery record in "
        ".git (refused when a link, 10 kB at most); its files are read from git's objects, "
        "never from the work tree",
    ),
    "devfactory/api/docs_pages.py": (
        frozenset({".read_text", "FileResponse"}),
        "the API's documentation pages: the packaged ReDoc script and the favicon under "
        "api/console_static, package files",
    ),
    "devfactory/cli/requirement_input.py": (
        frozenset({"os.open"}),
        "run --file PATH: the file the person at the terminal names, read by their own "
        "process under the requirement's cap, as cat would (a regular file only, opened "
        "without blocking); never a path from a run",
    ),
    "devfactory/api/console_pages.py": (
        frozenset({"FileResponse"}),
        "the console's own pages, package files under api/console_static",
    ),
    "devfactory/chat/offline_assets.py": (
        frozenset({".glob", ".read_text", "shutil.copyfile", "shutil.copytree"}),
        "Chainlit's own package files and the chat's static folder, copied to <data_dir>/chat",
    ),
    "devfactory/users.py": (
        frozenset({".read_text", "open", "os.open"}),
        "the users file (<data_dir>/users.yaml or the one settings name), the factory's own",
    ),
    "devfactory/redact.py": (
        frozenset({".read_text", "os.open"}),
        "the redaction secret, a 0600 file of the data directory created with O_EXCL",
    ),
    "devfactory/factory/incidents_file.py": (
        frozenset({"os.open"}),
        "appends to INCIDENTS.md in the data directory, O_NOFOLLOW, after refusing a linked folder",
    ),
    "devfactory/memory/anchors.py": (
        frozenset({"os.open", ".read_text"}),
        "the audit chain's anchors, one 0600 file per run under <data_dir>/audit",
    ),
    "devfactory/config/__init__.py": (
        frozenset({".read_text"}),
        "the price table, policy and models file the settings name, or the packaged ones",
    ),
    "devfactory/graph/screening/train.py": (
        frozenset({".is_file", ".read_bytes"}),
        "a developer's command: the governance model shipped in the package, compared with "
        "one it retrains into a temporary folder",
    ),
    "devfactory/graph/screening/check.py": (
        frozenset({".read_text"}),
        "the governance screen's intents file the operator's settings name",
    ),
    "devfactory/models/packaged.py": (
        frozenset({".is_file", ".open"}),
        "the packaged models' weight slices, files of installed packages, and the joined "
        "file it makes in the data directory",
    ),
    "devfactory/models/local_server.py": (
        frozenset({".is_file", ".iterdir", ".open", ".read_text", "os.open"}),
        "the model server's own host-wide folder (0700, refused when a link or another "
        "user's): its lock, state file (0600), leases and log, and whether the llama-server "
        "binary the settings name exists",
    ),
    "devfactory/models/server_supervisor.py": (
        frozenset({".open", ".read_text"}),
        "the model server's own folder, made by local_server: the plan it starts from and "
        "the server's log",
    ),
    "devfactory/models/server_build.py": (
        frozenset(
            {
                ".glob",
                ".is_file",
                ".iterdir",
                ".open",
                ".read_bytes",
                ".read_text",
                "shutil.copy2",
                "shutil.copyfile",
                "shutil.copytree",
                "shutil.rmtree",
            }
        ),  # fmt: skip
        "a developer's build step (make setup): uv.lock, uv's cache of the pinned sdist "
        "(sha256 checked), the build folder inside the venv (the sdist's grammar converter "
        "kept there) and the binary beside the interpreter",
    ),
    "devfactory/models/server_chat.py": (
        frozenset({".is_file"}),
        "the grammar converter make setup kept inside the virtualenv (server_build.converter_at), "
        "a file of the install: never a run's folder",
    ),
    "devfactory/models/embeddings.py": (
        frozenset({".is_file", ".read_bytes"}),
        "the embedding model and tokenizer, files of an installed package (size and SHA-256 "
        "pinned)",
    ),
    "devfactory/pipelines/__init__.py": (
        frozenset({".iterdir"}),
        "the pipeline files of this package",
    ),
    "devfactory/cli/common.py": (
        frozenset({".glob"}),
        "the pipeline files of this package, by name",
    ),
    "devfactory/teams/registry.py": (
        frozenset({".is_file", ".read_text", ".iterdir"}),
        "the team folders (this package's, or the folder the operator's settings name)",
    ),
    "devfactory/sandbox/drivers/imports.py": (
        frozenset({"os.walk", ".read_bytes"}),
        "runs inside the sandbox, over the workspace copy it may write, where no host file "
        "is mounted",
    ),
    **{
        f"devfactory/checks/tools/drivers/{name}.py": (
            calls,
            "a tool check's script: runs inside the sandbox, over the workspace copy it is "
            "given, where no host file is mounted",
        )
        for name, calls in (
            ("code_sql", frozenset({".read_text"})),
            ("data_contract", frozenset({".read_text"})),
            ("html_check", frozenset({".read_text"})),
            ("md_links", frozenset({".read_text"})),
            ("openapi_check", frozenset({".read_text"})),
            ("mutation_run", frozenset({".read_text"})),
            ("readme_run", frozenset({".read_text", ".is_file"})),
            ("schema_check", frozenset({".read_text"})),
            ("sql_apply", frozenset({".glob", ".read_text"})),
        )
    },
    "devfactory/sandbox/environments.py": (
        frozenset({".is_file", ".read_text", ".glob"}),
        "the dependency environments uv built under the data directory",
    ),
    "devfactory/sandbox/installer.py": (
        frozenset({".is_file", ".glob", "shutil.rmtree"}),
        "the dependency environments uv builds (staging folders and their markers)",
    ),
    "devfactory/sandbox/isolation.py": (
        frozenset({".read_text", "open"}),
        "the sandbox's own /etc files it writes, and a command's stdin file in its scratch folder",
    ),
    "devfactory/sandbox/jail.py": (
        frozenset({".read_text", ".iterdir"}),
        "cgroup files under /sys/fs/cgroup and this process's /proc files",
    ),
    "devfactory/sandbox/limits.py": (
        frozenset({".iterdir", "os.listdir"}),
        "counts threads under /proc",
    ),
    "devfactory/sandbox/launcher.py": (
        frozenset({"open", "os.open"}),
        "cgroup.procs files, the seccomp filter's file, and its summary in its scratch folder",
    ),
    "devfactory/sandbox/ownership.py": (
        frozenset({"os.open", "open"}),
        "O_PATH (opens nothing) to ask the kernel where a link leads, and the lock file of a "
        "workspace under the data directory; its walks are runfiles'",
    ),
    "devfactory/sandbox/runner.py": (
        frozenset({".is_file", ".read_bytes"}),
        "the probe's marker in its own scratch folder and the sandbox's files it keeps in the "
        "data directory; what a command wrote is read through runfiles",
    ),
    "devfactory/sandbox/untrusted.py": (
        frozenset({"os.open", "os.listdir"}),
        "the sandbox's copy of a workspace in and out of its disk: runfiles' walk (O_NOFOLLOW "
        "at each step), regular files opened only by runfiles.open_regular",
    ),
    "eval/catalog.py": (
        frozenset({".read_text", ".is_file", ".iterdir", ".glob"}),
        "the evaluation's own cases (eval/cases)",
    ),
    "eval/compare.py": (
        frozenset({".read_text"}),
        "result files the evaluation wrote",
    ),
    "eval/factory.py": (
        frozenset({".is_file", ".read_text"}),
        "the devfactory program beside this interpreter, and a case's requirement",
    ),
    "eval/measure.py": (
        frozenset({".glob", "shutil.copyfile"}),
        "the case's own acceptance tests, copied into the evaluation's copy of a run",
    ),
    "eval/proposed_tests.py": (
        frozenset({".read_text", ".is_file"}),
        "a case's own requirement and reference (eval/cases), and the calls driver's report "
        "in its own temporary folder",
    ),
    "eval/reading.py": (
        frozenset({".read_text"}),
        "a case's own requirement (eval/cases)",
    ),
    "eval/report.py": (
        frozenset({".is_file", ".read_text"}),
        "docs/quality.md, which the evaluation rewrites",
    ),
    "eval/teams.py": (
        frozenset({".iterdir"}),
        "an evaluation's output folder, one folder a case (each run.json read through runfiles)",
    ),
    "eval/run.py": (
        frozenset({".is_file", ".read_text"}),
        "result files the evaluation wrote",
    ),
}


def _package_data(node: ast.expr) -> bool:
    """Say whether ``node`` is ``files(...)`` or ``files(...) / ...`` (importlib.resources)."""
    while isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
        node = node.left
    return isinstance(node, ast.Call) and (
        (isinstance(node.func, ast.Name) and node.func.id == "files")
        or (isinstance(node.func, ast.Attribute) and node.func.attr == "files")
    )


def _file_open(call: ast.Call) -> bool:
    """Say whether an ``x.open(...)`` call looks like ``Path.open``: a mode and open's keywords."""
    mode = call.args[0] if call.args else None
    return (
        len(call.args) <= 1
        and all(k.arg in OPEN_KEYWORDS for k in call.keywords)
        and (
            mode is None
            or (
                isinstance(mode, ast.Constant)
                and isinstance(mode.value, str)
                and bool(mode.value)
                and set(mode.value) <= set("rwxabt+")
            )
        )
    )


def reading_call(call: ast.Call) -> str | None:
    """Name the file-reading call ``call`` makes (``os.open``, ``.read_text``...), or None."""
    func = call.func
    if isinstance(func, ast.Name):
        return func.id if func.id in ("open", "FileResponse") else None
    if not isinstance(func, ast.Attribute):
        return None
    owner = func.value
    if isinstance(owner, ast.Name) and (owner.id, func.attr) in MODULE_CALLS:
        return f"{owner.id}.{func.attr}"
    if (
        isinstance(owner, ast.Attribute)
        and isinstance(owner.value, ast.Name)
        and (owner.value.id, owner.attr, func.attr) == ("os", "path", "isfile")
    ):
        return "os.path.isfile"
    if func.attr in CHAINLIT_ELEMENTS and any(k.arg == "path" for k in call.keywords):
        return f"{func.attr}(path=)"
    if func.attr == "FileResponse":
        return "FileResponse"
    if func.attr in PATH_METHODS and not _package_data(owner):
        if func.attr == "open" and not _file_open(call):
            return None
        return f".{func.attr}"
    return None


def reading_calls(source: str, filename: str = "<source>") -> Iterator[tuple[int, str]]:
    """Yield ``(line, call)`` for every file-reading call in ``source``."""
    for node in ast.walk(ast.parse(source, filename=filename)):
        if isinstance(node, ast.Call):
            name = reading_call(node)
            if name is not None:
                yield node.lineno, name


def scanned() -> Iterator[tuple[str, str]]:
    """Yield ``(module, source)`` for every Python module of the factory and the evaluation."""
    for top in SCANNED:
        for path in sorted((ROOT / top).rglob("*.py")):
            module = path.relative_to(ROOT).as_posix()
            if not module.startswith(NOT_SCANNED):
                yield module, path.read_text(encoding="utf-8")


def found_calls() -> dict[str, dict[str, list[int]]]:
    """Return every module's file-reading calls, each with the lines it is made on."""
    found: dict[str, dict[str, list[int]]] = {}
    for module, source in scanned():
        for line, name in reading_calls(source, module):
            found.setdefault(module, {}).setdefault(name, []).append(line)
    return found


def test_only_runfiles_and_the_allowed_modules_open_files_by_name() -> None:
    found = found_calls()
    assert THE_WAY_IN in found  # the scan sees the way in's own calls: it reads what it must
    refused = []
    for module, calls in sorted(found.items()):
        if module == THE_WAY_IN:
            continue
        allowed = ALLOWED.get(module, (frozenset(), ""))[0]
        for name, lines in sorted(calls.items()):
            if name not in allowed:
                refused.append(f"{module}:{lines[0]} {name}")
    assert not refused, (
        "these calls open files by name outside devfactory/runfiles.py: read a run's files "
        "through runfiles, or add the call to ALLOWED with why it never touches a run's "
        f"folder: {refused}"
    )


def test_every_allowed_module_still_makes_a_call_it_is_allowed() -> None:
    found = found_calls()
    stale = [m for m, (calls, _) in ALLOWED.items() if not calls & set(found.get(m, {}))]
    assert not stale, f"allowed, but they open no file by name any more: {stale}"
    assert all(len(why) > 20 for _, why in ALLOWED.values())


# What the chat, Project Q&A and the purge did at 40f3527: each read a run's folder by name.
OLD_READERS = {
    "devfactory/chat/view.py": """
def artifact_files(out_dir, records):
    found = []
    for record in records:
        for artifact in (record.get("result") or {}).get("artifacts") or []:
            file = out_dir / artifact["path"]
            if file.is_file():
                found.append((artifact["path"], file))
    for extra in ("SUMMARY.md", "run.json"):
        if (out_dir / extra).is_file():
            found.append((extra, out_dir / extra))
    return found
""",
    "devfactory/chat/run_steps.py": """
files = [
    cl.File(name=path, path=str(file), display="inline")
    for path, file in artifact_files(report.out_dir, records)
]
""",
    "devfactory/chat/talk.py": """
file = Path(out_dirs[run]) / str(path)
if file.is_file():
    text = f"{path}:\\n{file.read_text('utf-8', errors='replace')[:SOURCE_CHARS]}"
""",
    "devfactory/factory/answers.py": """
summary = folder / "run.json"
if folder.is_symlink() or summary.is_symlink() or not summary.is_file():
    return False
if json.loads(summary.read_text("utf-8")).get("run_id") != run_id:
    return False
shutil.rmtree(folder)
""",
}


@pytest.mark.parametrize("module", sorted(OLD_READERS))
def test_the_scan_finds_the_readers_that_went_around_runfiles(module: str) -> None:
    calls = {name for _, name in reading_calls(OLD_READERS[module])}
    assert calls  # the old code is caught...
    assert not calls <= ALLOWED.get(module, (frozenset(), ""))[0]  # ...and not allowed


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("open(path)", "open"),
        ("os.open(path, os.O_RDONLY)", "os.open"),
        ("os.path.isfile(path)", "os.path.isfile"),
        ("path.open('rb')", ".open"),
        ("path.open(encoding='utf-8')", ".open"),
        ("shutil.copytree(a, b)", "shutil.copytree"),
        ("FileResponse(path)", "FileResponse"),
        ("cl.File(name=n, path=p)", "File(path=)"),
        ("cl.Image(name=n, path=p, display='inline')", "Image(path=)"),
        # not files: a pool, a store, a Chainlit step; Chainlit given the bytes; package data
        ("pool.open(wait=True, timeout=5)", None),
        ("Stores.open(settings, dsn)", None),
        ("self.open('')", None),
        ("cl.File(name=n, content=data)", None),
        ("(files('devfactory') / 'prompts' / name).read_text('utf-8')", None),
    ],
)
def test_the_scan_tells_file_reads_from_look_alikes(source: str, expected: str | None) -> None:
    assert [name for _, name in reading_calls(source)] == ([expected] if expected else [])


@pytest.mark.parametrize("module", ["devfactory/runfiles.py", "devfactory/sandbox/untrusted.py"])
def test_the_way_in_uses_the_standard_library_only(module: str) -> None:
    """The sandbox launcher imports both before anything else is importable."""
    tree = ast.parse((ROOT / module).read_text(encoding="utf-8"))
    imported = {
        alias.name for n in ast.walk(tree) if isinstance(n, ast.Import) for alias in n.names
    }
    imported |= {
        n.module
        for n in ast.walk(tree)
        if isinstance(n, ast.ImportFrom) and n.module and not n.level
    }
    outside = {
        name
        for name in imported
        if name.split(".")[0] not in sys.stdlib_module_names and name != "devfactory.runfiles"
    }
    assert not outside, f"{module} imports {outside}"
