"""Start or resume an mvp run with a scripted model, in its own process.

Usage: python -m tests.integration.crash_worker start|resume RUN_ID LOG OUT [KILL_AT_TEAM]

With KILL_AT_TEAM, the process SIGKILLs itself when that team starts drafting,
which is as abrupt as a crash gets: no finally blocks, no atexit.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

from devfactory.factory.facade import Factory
from devfactory.factory.intake import StartRequest
from devfactory.settings import Settings
from tests.fakes import Call, ScriptedModels, always_good

REQUIREMENT = "A REST API for a personal todo list"


def main() -> int:
    mode, run_id, log, out = sys.argv[1:5]
    kill_at = sys.argv[5] if len(sys.argv) > 5 else ""

    def script(call: Call) -> str:
        if call.team == kill_at and call.kind == "draft":
            os.kill(os.getpid(), signal.SIGKILL)
        return always_good(call)

    with Factory(Settings(), models=ScriptedModels(script, log_path=Path(log))) as factory:
        if mode == "start":
            report = factory.start(
                StartRequest(REQUIREMENT, pipeline="mvp", out_dir=Path(out), run_id=run_id)
            )
        else:
            report = factory.resume(run_id)
    print(report.status)
    return 0 if report.status == "COMPLETED" else 1


if __name__ == "__main__":
    sys.exit(main())
