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
handful of candidates). Ties go to the group passing more tests.

Within the group kept (all the candidates tied on the examples, where no test
passes: the model's expected values are often wrong where its inputs are not),
each call's outcome still says something: a candidate is preferred whose calls
end as the tests expect them to *in kind*, a value where a value is expected
and an error where an error is (a body that refuses every valid input fails
every test as a wrong value does), then one whose outcomes more candidates
share exactly (execution agreement without an oracle, as AlphaCode clusters
its samples by their outputs on generated inputs), then the earliest. A pure
function: nothing runs and no model is asked.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from devfactory.sandbox.drivers.calls import TIMEOUT  # a call that did not end: no kind


@dataclass(frozen=True)
class Choice:
    """The candidate chosen, and why: its group's size, the tests it passes, of how many."""

    index: int  # the chosen candidate (the earliest of its group)
    group: int  # candidates that pass exactly the same tests
    passed: int  # the tests the group passes
    tests: int  # the tests there were
    tied: int  # the candidates tied on the examples, among which it was chosen
    kind: int = 0  # its calls that end as the tests expect in kind (a value or an error)
    alike: int = 0  # candidates of its group whose outcomes are exactly its own (itself included)

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
        ) + (
            f"; within them its calls end as the tests expect in kind (a value or an error) "
            f"in {self.kind} of {self.tests}, and {self.alike} candidate(s) give its outcomes"
            if self.group > 1 and self.alike
            else ""
        )


def choose(
    scores: Sequence[Any],
    passed: Sequence[Sequence[bool]],
    outcomes: Sequence[Sequence[str]] = (),
    errors: Sequence[bool] = (),
) -> Choice:
    """Return the candidate to keep: first by ``scores``, then by dual agreement.

    ``scores`` are the candidates' ranks on the requirement's examples (any
    ordered values, ``Trial.score``), ``passed`` their rows of the pass matrix
    (one bool per model-written test, every row as long). ``outcomes`` are the
    candidates' calls' outcomes (``repr`` or ``!Name``, a row per candidate as
    ``passed``; an empty row where it could not run), ``errors`` whether each
    test expects an error: with them, the candidates of the group kept are told
    apart as the module says; without them, the earliest is kept. With no
    candidate there is nothing to choose (``ValueError``).
    """
    if not scores or len(scores) != len(passed):
        raise ValueError("every candidate needs a score and a row of the pass matrix")
    if outcomes and len(outcomes) != len(scores):
        raise ValueError("every candidate needs a row of outcomes, or none has one")
    top = max(scores)
    tied = [i for i, score in enumerate(scores) if score == top]
    groups: dict[tuple[bool, ...], list[int]] = {}
    for i in tied:
        groups.setdefault(tuple(passed[i]), []).append(i)
    row, members = max(groups.items(), key=lambda g: (len(g[1]) * sum(g[0]), sum(g[0]), -g[1][0]))
    found = [tuple(outcomes[i]) if outcomes else () for i in members]
    kinds = [in_kind(f, errors) for f in found]
    alike = [sum(1 for other in found if f and other == f) for f in found]
    best = max(range(len(members)), key=lambda k: (kinds[k], alike[k], -members[k]))
    return Choice(
        members[best], len(members), sum(row), len(row), len(tied), kinds[best], alike[best]
    )


def in_kind(found: Sequence[str], errors: Sequence[bool]) -> int:
    """Count the calls that end as their tests expect in kind (0 when it could not run).

    ``found`` are the calls' outcomes, ``errors`` whether each call's test expects an error.
    """
    if len(found) != len(errors):
        return 0
    pairs = zip(found, errors, strict=True)
    return sum(o != TIMEOUT and o.startswith("!") == error for o, error in pairs)
