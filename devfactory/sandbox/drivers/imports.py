"""Byte-compile every Python file of a workspace, then import the named modules.

Run inside the sandbox, with the project's environment::

    python -I -B imports.py WORKSPACE REPORT_JSON MODULE [MODULE ...]

One line per problem, each starting with what it is about: ``pkg.mod:
ValueError: boom`` for a module that raised on import (then the last lines
of its traceback, indented), ``compile pkg/bad.py:3: SyntaxError: ...`` for a
file that does not compile. Imported modules print ``ok <name>``. The
counts go to REPORT_JSON too. Exit status 1 when anything failed. Files are
compiled in memory: nothing is written to the workspace.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import traceback
from pathlib import Path

SKIP = {"__pycache__", "node_modules", "venv", "build", "dist", "site-packages"}
TRACEBACK_CHARS = 800


def compile_all(root: Path) -> tuple[int, list[str]]:
    """Compile every ``.py`` under ``root`` (hidden and build folders skipped)."""
    count, errors = 0, []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in SKIP and not d.startswith("."))
        for name in sorted(files):
            if not name.endswith(".py"):
                continue
            path = Path(folder) / name
            rel = path.relative_to(root).as_posix()
            count += 1
            try:
                compile(path.read_bytes(), rel, "exec", dont_inherit=True)
            except SyntaxError as exc:
                errors.append(f"compile {rel}:{exc.lineno}: {type(exc).__name__}: {exc.msg}")
            except (ValueError, OSError) as exc:
                errors.append(f"compile {rel}: {type(exc).__name__}: {exc}")
    return count, errors


def import_one(name: str) -> str | None:
    """Import ``name``; return its exception's last line and traceback tail, or None."""
    try:
        importlib.import_module(name)
    except BaseException as exc:  # noqa: BLE001 - SystemExit at import time is a failure too
        last = traceback.format_exception_only(type(exc), exc)[-1].strip()
        trace = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        trace = trace.strip()[-TRACEBACK_CHARS:]
        return last + "\n" + "\n".join("    " + line for line in trace.splitlines())
    return None


def main(argv: list[str]) -> int:
    """Compile and import; print one line per problem; return the exit status."""
    workspace, report, modules = Path(argv[0]), Path(argv[1]), argv[2:]
    roots = [str(workspace)] + ([str(workspace / "src")] if (workspace / "src").is_dir() else [])
    sys.path[:0] = roots
    os.chdir(workspace)
    files, compile_errors = compile_all(workspace)
    for line in compile_errors:
        print(line, flush=True)
    imports: dict[str, str | None] = {}
    for name in modules:
        error = import_one(name)
        imports[name] = error.splitlines()[0] if error else None
        print(f"{name}: {error}" if error else f"ok {name}", flush=True)
    failed = [n for n, e in imports.items() if e]
    print(
        f"compiled {files} file(s), {len(compile_errors)} error(s); "
        f"imported {len(modules) - len(failed)} of {len(modules)} module(s)",
        flush=True,
    )
    summary = {"files": files, "compile_errors": compile_errors, "imports": imports}
    report.write_text(json.dumps(summary))
    return 1 if failed or compile_errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
