"""Acceptance criteria: the ids a requirements document declares, and what the tests say."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from devfactory.sandbox.junit import TestCase

REQUIREMENTS_PATH = "analysis/requirements.md"
"""Business Analysis's requirements document, where the acceptance criteria are declared."""

_CRITERION = re.compile(r"\bAC-(\d{1,3})\b")
_TEST_CRITERION = re.compile(r"(?i)(?<![a-z0-9])ac[_-]?(\d{1,3})(?!\d)")


def criteria_of(requirements_md: str) -> list[str]:
    """Return the acceptance criteria ids (``AC-1``...) a requirements document declares."""
    return list(dict.fromkeys(f"AC-{n}" for n in _CRITERION.findall(requirements_md)))


def criteria_status(criteria: Sequence[str], cases: Sequence[TestCase]) -> dict[str, str]:
    """Say for each criterion whether the tests that name it passed, failed or none did."""
    status = {c: "not covered" for c in criteria}
    for case in cases:
        for number in _TEST_CRITERION.findall(case.name):
            key = f"AC-{int(number)}"
            if key not in status:
                continue
            if case.outcome != "passed":
                status[key] = "failed"
            elif status[key] == "not covered":
                status[key] = "passed"
    return status
