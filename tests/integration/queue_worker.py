"""Run one queue worker with a scripted model, in its own process.

Usage: python -m tests.integration.queue_worker LOG IDLE_EXIT_S MAX_RUNS [KILL_AT_TEAM]

With KILL_AT_TEAM, the process SIGKILLs itself when that team starts drafting:
the worker dies holding its run's lease, as abruptly as a crash gets. The
worker takes part in the watchdog, which requeues the runs of dead workers.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

from devfactory.factory.facade import Factory
from devfactory.settings import Settings
from devfactory.worker import Watchdog, Worker
from tests.fakes import Call, ScriptedModels, always_good


def main() -> int:
    log, idle_exit, max_runs = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
    kill_at = sys.argv[4] if len(sys.argv) > 4 else ""

    def script(call: Call) -> str:
        if call.team == kill_at and call.kind == "draft":
            os.kill(os.getpid(), signal.SIGKILL)
        return always_good(call)

    with Factory(Settings(), models=ScriptedModels(script, log_path=Path(log))) as factory:
        keeper = Watchdog(factory)
        keeper.start()
        work = Worker(factory)
        work.run(idle_exit_s=idle_exit, max_runs=max_runs)
        keeper.stop()
        keeper.join(timeout=10)
    print(" ".join(work.driven))
    return 0


if __name__ == "__main__":
    sys.exit(main())
