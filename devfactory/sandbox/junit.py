"""Read pytest's JUnit XML into a typed report: the counts and every test case.

The file is written inside the sandbox, so the code under test could have
rewritten it, or put a link or a FIFO in its place: it is read as a regular
file only, never through a link, with a size cap (``runfiles.read_file``),
by the standard library's expat parser (which resolves no external entities
and, since expat 2.4.1, refuses entity-expansion bombs), and every string
taken from it is bounded and redacted.
"""

from __future__ import annotations

import os
import stat
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from devfactory.redact import redact
from devfactory.runfiles import RefusedFileError, read_file

TRACEBACK_CHARS = 1500
MESSAGE_CHARS = 500
MAX_CASES = 1000  # counts stay exact beyond it; only the case list is cut
MAX_XML_BYTES = 20 << 20


@dataclass(frozen=True)
class TestCase:
    """One test as pytest reported it."""

    __test__ = False  # not a test class, though its name says so

    nodeid: str
    file: str  # relative to the workspace
    name: str
    outcome: str  # passed | failed | error | skipped
    message: str = ""  # the failing assertion or exception line
    traceback: str = ""  # its tail, at most TRACEBACK_CHARS


@dataclass
class TestReport:
    """The counts of a test run and its cases."""

    __test__ = False

    passed: int = 0
    failed: int = 0
    errors: int = 0
    skipped: int = 0
    cases: list[TestCase] = field(default_factory=list)

    @property
    def total(self) -> int:
        """Every test case reported, whatever its outcome."""
        return self.passed + self.failed + self.errors + self.skipped

    @property
    def problems(self) -> list[TestCase]:
        """The cases that failed or errored."""
        return [c for c in self.cases if c.outcome in ("failed", "error")]

    def counts(self) -> str:
        """Say the counts in words: ``3 passed, 1 failed``."""
        pairs = (
            (self.passed, "passed"),
            (self.failed, "failed"),
            (self.errors, "errors"),
            (self.skipped, "skipped"),
        )
        return ", ".join(f"{n} {what}" for n, what in pairs if n) or "no tests"


def _tail(text: str, limit: int) -> str:
    text = redact(text.strip())
    return text if len(text) <= limit else "..." + text[-limit:]


def _ends(text: str, limit: int) -> str:
    """Return ``text`` within ``limit``: its beginning and its end, the middle cut.

    A failure's message begins with what went wrong (``AssertionError: checksum:
    abc: No such file``) and, when it carries a program's output, ends with that
    program's own error; a traceback in between is what gives way.
    """
    text = redact(text.strip())
    if len(text) <= limit:
        return text
    half = (limit - 5) // 2
    return f"{text[:half]} ... {text[-half:]}"


def _file_of(classname: str, workspace: Path) -> str:
    """Find the test file a dotted ``classname`` lives in (the longest module path that exists)."""
    parts = classname.split(".")
    for end in range(len(parts), 0, -1):
        candidate = "/".join(parts[:end]) + ".py"
        if _regular(workspace / candidate):
            return candidate
    return ""


def _regular(path: Path) -> bool:
    """Say whether ``path`` is a regular file itself (a link to one is not)."""
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


def _case(element: ET.Element, workspace: Path) -> TestCase:
    classname = element.get("classname", "")
    name = element.get("name", "")
    file = element.get("file") or _file_of(classname or name, workspace)
    module = file[:-3].replace("/", ".") if file.endswith(".py") else ""
    owner = classname[len(module) + 1 :] if module and classname.startswith(module + ".") else ""
    if file and classname:
        nodeid = "::".join(p for p in (file, owner, name) if p)
    else:  # a collection error: pytest names the module, not a test
        nodeid = file or name
    outcome, detail = "passed", None
    for tag, what in (("failure", "failed"), ("error", "error"), ("skipped", "skipped")):
        found = element.find(tag)
        if found is not None:
            outcome, detail = what, found
            break
    message = traceback = ""
    if detail is not None:
        message = _ends(detail.get("message", ""), MESSAGE_CHARS)
        traceback = _tail(detail.text or "", TRACEBACK_CHARS)
    return TestCase(nodeid, file, name, outcome, message, traceback)


def parse_junit(path: Path, workspace: Path) -> TestReport | None:
    """Read the JUnit XML at ``path``; None when it is absent, refused or not JUnit XML."""
    try:
        data = read_file(path.parent, path.name, MAX_XML_BYTES)
    except RefusedFileError:
        return None
    return junit_report(data, workspace)


def junit_report(data: bytes, workspace: Path) -> TestReport | None:
    """Read JUnit XML (at most ``MAX_XML_BYTES``); None when it is not JUnit XML."""
    if len(data) > MAX_XML_BYTES:
        return None
    try:
        root = ET.fromstring(data)
    except ET.ParseError:
        return None
    if root.tag not in ("testsuites", "testsuite"):
        return None
    cases = [_case(element, workspace) for element in root.iter("testcase")]
    found = Counter(case.outcome for case in cases)  # one of the four `_case` gives
    return TestReport(
        found["passed"], found["failed"], found["error"], found["skipped"], cases[:MAX_CASES]
    )
