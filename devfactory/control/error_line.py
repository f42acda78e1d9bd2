"""Find the line that says what went wrong in a traceback or a tool's log.

A check's output is kept as its tail, and a Python traceback ends with its
error (``ModuleNotFoundError: No module named 'backend'``) after many lines of
frames; what a person reads first is cut from the top, so the error is what
gets lost. ``error_line`` finds that line; ``lead_with_error`` puts it first.
The stage gate's reasons, the CLI's ``pending``, ``GET /pending`` and the
console all use these two, so each shows the same error.
"""

from __future__ import annotations

import re
from typing import Final

MAX_LINE: Final = 300  # the longest error line kept
# a Python exception as a traceback ends: a dotted name ending Error, Exception, ...;
# after a short label where a check put its name first ("smoke: ValueError: ...")
_RAISED = re.compile(
    r"^(?:[\w./ -]{1,60}:\s)?(?:[A-Za-z_]\w*\.)*[A-Za-z_]\w*"
    r"(?:Error|Exception|Exit|Interrupt|Failure|Warning)(?::\s.*)?$"
)
# a problem of the checks, its file and check first ("pkg/__main__.py [smoke]: ..."), as the
# gate's reason leads with it (``lead_with_error``); what a person is shown reads it too
_PROBLEM = re.compile(r"^[\w./ -]{1,100} \[[\w -]{1,60}\]: ")
_PYTEST = re.compile(r"^E\s{2,}(\S.*)$")  # pytest's "E   AssertionError: ..." lines
_SAID = re.compile(r"^(?:error|fatal|ERROR|FATAL|Error)\b[:\s].*\S")  # a tool's own error line


def error_line(text: str, *, problems: bool = False) -> str:
    """Return the line of ``text`` that says what went wrong ("" when none does).

    The last raised exception wins (in a chained traceback, the one that ended
    the program), then pytest's ``E`` lines (the first, which names the
    failure), then a tool's ``error:`` line. Other text has no error line. With
    ``problems``, a line of a gate's reason counts with its file and check first
    (``pkg/__main__.py [smoke]: ModuleNotFoundError: ...``, as ``lead_with_error``
    wrote it): what a person is shown of a blocked stage.
    """
    lines = [line.strip() for line in text.splitlines()]
    for line in reversed(lines):
        if _RAISED.match(_PROBLEM.sub("", line) if problems else line):
            return line[:MAX_LINE]
    for line in lines:
        found = _PYTEST.match(line)
        if found:
            return found.group(1)[:MAX_LINE]
    for line in reversed(lines):
        if _SAID.match(line):
            return line[:MAX_LINE]
    return ""


def lead_with_error(text: str) -> str:
    """Return ``text`` with its error line first, so that a cut from the end keeps it.

    Text without an error line, or whose first line says the error already, is
    returned as it is: the error is never said twice.
    """
    found = error_line(text)
    if not found or found in text.lstrip().partition("\n")[0]:
        return text
    head, sep, rest = text.partition(": ")
    if sep and "\n" not in head and len(head) <= 80:  # "smoke: <output>": the check first
        return f"{head}: {found}\n{rest}"
    return f"{found}\n{text}"


def brief(text: str, limit: int) -> str:
    """Return ``text`` as one line of at most ``limit`` characters that keeps its error line.

    A reason cut to a table's width ends mid-traceback (``File "<frozen imp``);
    here its start is kept as far as it fits beside its error line, joined by
    ``…``, and a text that fits is only folded onto one line.
    """
    line = " ".join(text.split())
    if len(line) <= limit:
        return line
    found = " ".join(error_line(text, problems=True).split())
    if not found or found in line[: limit - 1]:
        return line[: limit - 1] + "…"
    if len(found) >= limit - 20:
        return found[: limit - 1] + "…"
    return f"{line[: limit - len(found) - 3].rstrip()} … {found}"
