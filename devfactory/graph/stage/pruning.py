"""A team's tests that disagree with the requirement's examples, taken out for its stage.

The decisions are ``software/disagreeing_tests.py``'s, over one test report;
here they are applied to a stage's drafts: the team's planned test files cut to
the tests that agreed, split one assertion per test, or pruned of those that
failed on code passing every example or that fail on any code, each with a note
(``graph/stage/verify.py`` calls them from the attempt ``take_out_at`` gives).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple

from devfactory.checks.code import Verification
from devfactory.contracts import MAX_ARTIFACT_CHARS, Artifact
from devfactory.software.disagreeing_tests import (
    agreeing,
    count_tests,
    prune,
    split_disagreeing,
)
from devfactory.software.kinds import examples_file
from devfactory.software.plan import BuildPlan, FileRole
from devfactory.software.requirement import RequirementFacts


class TakenOut(NamedTuple):
    """The stage's drafts with its disagreeing tests taken out, and a note for each one."""

    drafts: list[Artifact]
    notes: list[str]


def _tests(count: int) -> str:
    """Say ``count`` tests in words: "1 test", "3 tests"."""
    return f"{count} test" if count == 1 else f"{count} tests"


def _taken(
    drafts: Sequence[Artifact], files: Mapping[str, str], notes: Sequence[str]
) -> TakenOut | None:
    """Return ``drafts`` with the content of each path in ``files`` (path -> source) replaced.

    A file is a model-sized artifact (``MAX_ARTIFACT_CHARS``): a rewrite past
    that (a test split one assertion per test repeats its setup) is not taken;
    the draft stays as it was, and its notes say so in place of the rewrite's.
    None when there is no rewrite at all.
    """
    if not files:
        return None
    over = {path for path, text in files.items() if len(text) > MAX_ARTIFACT_CHARS}
    fitting = {path: text for path, text in files.items() if path not in over}
    kept = [n for n in notes if not any(n.startswith(f"{path}: ") for path in over)]
    kept += [
        f"{path}: left as it was: rewritten it would hold {len(files[path]):,} characters, "
        f"past the {MAX_ARTIFACT_CHARS:,} a file may"
        for path in sorted(over)
    ]
    rewritten = [d.with_content(fitting[d.path]) if d.path in fitting else d for d in drafts]
    return TakenOut(rewritten, kept)


def _anchors(facts: RequirementFacts) -> set[str]:
    """Return the example tests that show behaviour (``disagreeing_tests.examples_vouch``)."""
    made = examples_file(facts)
    return made.showing_behaviour() if made else set()


def _test_files(drafts: Sequence[Artifact], plan: BuildPlan, team: str) -> dict[str, str]:
    """Return the team's planned test files among ``drafts``, path -> source."""
    tests = {f.path for f in plan.files_of(team) if f.role is FileRole.TESTS}
    return {d.path: d.content for d in drafts if d.path in tests}


def agreeing_tests(
    found: Verification,
    drafts: Sequence[Artifact],
    plan: BuildPlan,
    team: str,
    facts: RequirementFacts,
) -> dict[str, str]:
    """Return the team's test files cut to the tests that passed on code the examples vouch for."""
    return agreeing(found.tests, _test_files(drafts, plan, team), _anchors(facts))


def split_disagreeing_tests(
    found: Verification,
    drafts: Sequence[Artifact],
    plan: BuildPlan,
    team: str,
    facts: RequirementFacts,
    *,
    refute: bool = True,
) -> TakenOut | None:
    """Return the team's drafts with each disagreeing test split into one per assertion.

    None: no such test has two assertions or more (``disagreeing_tests.split_assertions``).
    With ``refute``, the tests that fail on any code are split too.
    """
    done = split_disagreeing(
        found.tests, _test_files(drafts, plan, team), _anchors(facts), refute=refute
    )
    return _taken(drafts, done.files, done.notes)


def without_disagreeing_tests(
    found: Verification,
    drafts: Sequence[Artifact],
    plan: BuildPlan,
    team: str,
    facts: RequirementFacts,
    earlier: Mapping[str, str],
    *,
    refute: bool = True,
) -> TakenOut | None:
    """Return the team's drafts with its disagreeing tests taken out (None: none to take out).

    From the attempt ``take_out_at`` gives, a test of the team's that failed on code
    passing every one of the requirement's examples (one of them showing
    behaviour) is taken out of its file (``software/disagreeing_tests.py``),
    with a note that says which and why. Where an earlier attempt's file kept
    more tests that passed on such code (``earlier``, from ``agreeing_tests``),
    that version replaces this attempt's, with a note saying so. With ``refute``,
    a test that fails on any code (``disagreeing_tests.refuted``) is taken out too,
    examples or not.
    """
    mine = _test_files(drafts, plan, team)
    anchors = _anchors(facts)
    cut = prune(found.tests, mine, anchors, refute=refute)
    now = agreeing(found.tests, mine, anchors)
    for path in sorted(mine):
        before, after = count_tests(earlier.get(path, "")), count_tests(now.get(path, ""))
        if before > after:
            cut.files[path] = earlier[path]
            cut.notes = [n for n in cut.notes if not n.startswith(f"{path}: ")]
            cut.notes.append(
                f"{path}: kept an earlier attempt's version: {_tests(before)} of it passed "
                f"on code passing every one of the requirement's own examples, "
                f"{_tests(after)} of this attempt's"
            )
    return _taken(drafts, cut.files, cut.notes)
