"""What a sandboxed command did, judged: exit code, the limit that stopped it, a record."""

from __future__ import annotations

import shlex
import signal
from dataclasses import dataclass
from typing import TYPE_CHECKING

from devfactory.contracts import CheckRun
from devfactory.redact import redact

if TYPE_CHECKING:
    from devfactory.sandbox.isolation import Outcome
    from devfactory.sandbox.junit import TestReport

_BY_SIGNAL = {signal.SIGXCPU: "cpu time", signal.SIGXFSZ: "file size"}
# what a process prints when a limit made a call fail rather than killed it
_BY_MESSAGE = (
    ("MemoryError", "memory"),
    ("Cannot allocate memory", "memory"),
    ("File too large", "file size"),
    # no network while code runs: a call that tried it was denied by the sandbox
    ("Network is unreachable", "network"),
    ("Temporary failure in name resolution", "network"),
)


@dataclass
class CommandResult:
    """One command run in the sandbox, with the evidence of how it ended.

    ``exit_code`` is None when the command did not end by itself (killed by a
    signal or at the wall-time limit). ``killed`` names the limit it ran into,
    on the best evidence: ``wall time``, ``cpu time``, ``memory``,
    ``processes``, ``file size`` or ``network`` (also when a limit made it fail
    rather than die, e.g. a MemoryError, or a denied network call). ``problem``
    says why a command that exited 0 still failed its check (a CLI that printed
    nothing, no tests collected).
    """

    name: str
    argv: tuple[str, ...]
    exit_code: int | None
    seconds: float
    output: str
    timed_out: bool = False
    killed: str = ""
    sandboxed: bool = True
    signal: int | None = None
    problem: str = ""
    passed: int = 0
    failed: int = 0

    @property
    def ok(self) -> bool:
        """Whether it ended by itself with exit code 0, within its limits, with no problem."""
        return self.exit_code == 0 and not self.killed and not self.problem and not self.failed

    @property
    def command(self) -> str:
        """The command line, quoted and redacted (for records and logs)."""
        return redact(shlex.join(self.argv))[:500]

    def summary(self, report: TestReport | None = None) -> str:
        """Say in one line how it ended: counts, the limit that stopped it, or the exit code."""
        parts = []
        if self.timed_out:
            parts.append(f"killed after {self.seconds:.0f} s (wall time)")
        elif self.signal is not None:
            parts.append(f"killed by {_signal_name(self.signal)}")
        elif self.exit_code is None:
            parts.append("did not start")
        else:
            parts.append(f"exit {self.exit_code}")
        if self.killed and self.killed != "wall time":
            parts.append(f"{self.killed} limit reached")
        if report is not None and report.total:
            parts.append(report.counts())
        elif self.passed or self.failed:
            parts.append(f"{self.passed} passed, {self.failed} failed")
        if self.problem:
            parts.append(self.problem)
        if not self.sandboxed:
            parts.append("NOT sandboxed")
        return f"{'; '.join(parts)} in {self.seconds:.1f} s"

    def record(self, report: TestReport | None = None) -> CheckRun:
        """Return the ``CheckRun`` a stage keeps (counts from ``report`` when given)."""
        passed, failed, errors = self.passed, self.failed, 0
        if report is not None:
            passed, failed, errors = report.passed, report.failed, report.errors
        if self.problem or self.killed:
            errors = max(errors, 1)  # exit code 0 alone must not make it look fine
        return CheckRun(
            name=self.name,
            command=self.command,
            exit_code=self.exit_code,
            seconds=round(self.seconds, 3),
            passed=passed,
            failed=failed,
            errors=errors,
            sandboxed=self.sandboxed,
            summary=self.summary(report),
        )


def judge(name: str, argv: tuple[str, ...], outcome: Outcome, *, sandboxed: bool) -> CommandResult:
    """Turn a raw outcome into a result: the signal, the limit hit, a redacted output."""
    code = outcome.returncode
    sig = None
    if code is not None and code < 0:
        sig = -code
    elif code is not None and sandboxed and 128 < code < 128 + signal.NSIG:
        sig = code - 128  # bwrap reports a child killed by signal N as exit 128 + N
    exit_code = None if sig is not None else code
    killed = ""
    evidence = outcome.output[-3000:]
    if "memory" in outcome.hits:
        killed = "memory"
    elif sig in _BY_SIGNAL:
        killed = _BY_SIGNAL[signal.Signals(sig)]
    elif exit_code != 0 or outcome.timed_out:
        found = [what for text, what in _BY_MESSAGE if text in evidence]
        if "processes" in outcome.hits:
            found.insert(0, "processes")
        killed = found[0] if found else ("wall time" if outcome.timed_out else "")
    return CommandResult(
        name=name,
        argv=argv,
        exit_code=exit_code,
        seconds=round(outcome.seconds, 3),
        output=redact(outcome.output),
        timed_out=outcome.timed_out,
        killed=killed,
        sandboxed=sandboxed,
        signal=sig,
    )


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"
