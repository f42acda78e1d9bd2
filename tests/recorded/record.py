"""Record a real run of the embedded model: ``python -m tests.recorded.record CASE [--out DIR]``.

It runs a case of ``case.py`` through the factory in this process, as the
evaluation runs it, with every chat alias served by the embedded llama.cpp model
(``model_chain=embedded``) on an embedded Postgres of its own under a temporary
directory, and writes the recording (``tape.py`` says what it holds) into
``tests/data/recorded_run/CASE/`` or ``--out``. It takes minutes of CPU (set
``DEVFACTORY_EMBEDDED_THREADS`` for llama.cpp's threads). Any other
``DEVFACTORY_*`` variable is refused: the replay test runs with the defaults.

Record again only on purpose (a change meant to alter prompts or files), at a
commit whose behaviour is the reference, and say so in the commit message.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from devfactory.settings import Settings
from devfactory.store.reaper import start_reaper
from tests.integration.databases import fresh_database
from tests.recorded.case import (
    CASES,
    PIPELINE,
    PROJECT,
    behaviour,
    case_settings,
    interpreter,
    outcome_of,
    run_case,
    scratch,
    the_case,
)
from tests.recorded.models import RecordingModels
from tests.recorded.tape import RECORDING, ROOT, RUN_ID, Places, read_artifacts, save

ALLOWED_ENV = frozenset({"DEVFACTORY_EMBEDDED_THREADS"})


def commit() -> str:
    """Return the checkout's commit, with ``-dirty`` when it has uncommitted changes."""

    def git(*args: str) -> str:
        done = subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True)
        return done.stdout.strip()

    head = git("rev-parse", "--short", "HEAD")
    dirty = git("status", "--porcelain", "--untracked-files=no", "--", "devfactory")
    return f"{head}-dirty" if dirty else head


def record(case_id: str, folder: Path, scratch: Path) -> int:
    """Record ``case_id`` into ``folder``, working under ``scratch``; return an exit code."""
    import pgserver

    the_case(case_id)  # refused unless it is a dev case
    (scratch / "pg").mkdir()
    server = pgserver.get_server(scratch / "pg", cleanup_mode="stop")
    start_reaper(server.pgdata)  # stopped even if this process is killed
    try:
        with fresh_database(server.get_uri()) as database:
            base = Settings(
                data_dir=scratch / "data",
                database_url=database,
                ollama_host="http://127.0.0.1:9",  # nothing answers: the embedded model serves
                probe_timeout_s=0.2,
            )
            settings = case_settings(base)
            models = RecordingModels(settings)
            out = scratch / "out"
            started = time.monotonic()
            report = run_case(case_id, settings, models, out)
            seconds = round(time.monotonic() - started, 1)
    finally:
        server.cleanup()
    places = Places(out, settings.storage.data_dir)
    meta = {
        "case": case_id,
        "pipeline": PIPELINE,
        "project": PROJECT,
        "run_id": RUN_ID,
        "commit": commit(),
        "recorded_at": f"{datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ}",
        "seconds": seconds,
        "calls": len(models.tape.calls),
        "labels": models.labels,
        "parallel": models.parallel,
        "interpreter": interpreter(),
        "settings": behaviour(settings),
    }
    save(folder, models.tape, read_artifacts(out), outcome_of(report), meta, places)
    print(f"{case_id}: {report.status} in {seconds} s, {len(models.tape.calls)} calls; in {folder}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Record a case (see the module's docstring)."""
    parser = argparse.ArgumentParser(prog="python -m tests.recorded.record")
    parser.add_argument("case", choices=CASES, help="the case to record")
    parser.add_argument("--out", type=Path, help="the recording's folder (default: its own)")
    args = parser.parse_args(argv)
    stray = sorted(k for k in os.environ if k.startswith("DEVFACTORY_") and k not in ALLOWED_ENV)
    if stray:
        print(f"unset {', '.join(stray)}: the recording runs with the defaults", file=sys.stderr)
        return 2
    with scratch() as folder:
        return record(args.case, args.out or RECORDING / args.case, folder)


if __name__ == "__main__":
    sys.exit(main())
