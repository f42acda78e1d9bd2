"""Call one function of a workspace's module on literal arguments; write what each call gave.

Run inside the sandbox, with the project's environment::

    python -I -B calls.py WORKSPACE REPORT_JSON MODULE FUNCTION ARGS_JSON

``ARGS_JSON`` is a JSON list of argument tuples written as Python literals
(``"([(1, 3)],)"``). For each, REPORT_JSON gets the ``repr`` of the result
(cut to ``RESULT_CHARS``: a result is compared whole, as a record or as JSON
text, so a cut one passes no test) or ``!ExceptionName`` when the call raised,
or ``!timeout`` past one second. Standard library only; nothing is written to
the workspace.
"""

from __future__ import annotations

import ast
import importlib
import json
import signal
import sys
from pathlib import Path

SECONDS = 1
RESULT_CHARS = 2_000
TIMEOUT = "!timeout"  # what a call that did not end in time gave


class _Timeout(Exception):
    pass


def _alarm(signum: int, frame: object) -> None:
    raise _Timeout


def main(argv: list[str]) -> int:
    """Import the module, call the function on each argument tuple, write the outcomes."""
    workspace, report, module, name, args = argv[1:6]
    sys.path[:0] = [workspace, str(Path(workspace) / "src")]
    outcomes: list[str] = []
    try:
        function = getattr(importlib.import_module(module), name)
    except BaseException as exc:  # noqa: BLE001 - any failure is the module's outcome
        Path(report).write_text(json.dumps({"import": f"!{type(exc).__name__}"}))
        return 1
    signal.signal(signal.SIGALRM, _alarm)
    for text in json.loads(args):
        try:
            values = ast.literal_eval(text)
            signal.alarm(SECONDS)
            try:
                got = function(*values)
            finally:
                signal.alarm(0)
            outcomes.append(repr(got)[:RESULT_CHARS])
        except _Timeout:
            outcomes.append(TIMEOUT)
        except BaseException as exc:  # noqa: BLE001 - a raise is an outcome like any other
            outcomes.append(f"!{type(exc).__name__}")
    Path(report).write_text(json.dumps({"outcomes": outcomes}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
