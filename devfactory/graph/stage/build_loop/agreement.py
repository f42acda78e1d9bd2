"""Choose among candidate bodies by dual agreement with the tests the model wrote (CodeT).

Candidates of one unit are first ranked by the requirement's own examples
(``Trial.score``): those are trusted above anything a model writes. Among
the candidates tied at the top, each model-written test either passes or
fails (a pass matrix, ``software/behaviour.matrix``). Candidates that pass
exactly the same tests form a group; a group scores its size times the
number of tests it passes, so a right behaviour that several bodies share
and many tests confirm beats a wrong one that one body has, or that the
tests rarely confirm (CodeT, Chen et al. 2022, "dual execution agreement":
the paper scores a consensus set by its solutions times its tests, its code
by the square root of the solutions; the plain product is used here, over a
handful of candidates). Ties go to the group passing more tests, then to the
earliest candidate. A pure function: nothing runs and no model is asked.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Choice:
    """The candidate chosen, and why: its group's size, the tests it passes, of how many."""

    index: int  # the chosen candidate (the earliest of its group)
    group: int  # candidates that pass exactly the same tests
    passed: int  # the tests the group passes
    tests: int  # the tests there were
    tied: int  # the candidates tied on the examples, among which it was chosen

    @property
    def score(self) -> int:
        """The group's size times the tests it passes."""
        return self.group * self.passed

    def note(self, unit: str) -> str:
        """Say what was chosen and why, for the stage's notes."""
        return (
            f"{unit}: of {self.tied} candidate(s) tied on the examples, kept candidate "
            f"{self.index + 1}: {self.group} agree on the {self.passed} of {self.tests} "
            f"behaviour test(s) they pass (score {self.score})"
        )


def choose(scores: Sequence[Any], passed: Sequence[Sequence[bool]]) -> Choice:
    """Return the candidate to keep: first by ``scores``, then by dual agreement.

    ``scores`` are the candidates' ranks on the requirement's examples (any
    ordered values, ``Trial.score``), ``passed`` their rows of the pass matrix
    (one bool per model-written test, every row as long). With no candidate
    there is nothing to choose (``ValueError``).
    """
    if not scores or len(scores) != len(passed):
        raise ValueError("every candidate needs a score and a row of the pass matrix")
    top = max(scores)
    tied = [i for i, score in enumerate(scores) if score == top]
    groups: dict[tuple[bool, ...], list[int]] = {}
    for i in tied:
        groups.setdefault(tuple(passed[i]), []).append(i)
    row, members = max(groups.items(), key=lambda g: (len(g[1]) * sum(g[0]), sum(g[0]), -g[1][0]))
    return Choice(members[0], len(members), sum(row), len(row), len(tied))
