"""The units built one by one against the module written whole: the better, or a mix, kept.

Last in the build loop (``build.py``), the module is asked for whole in one
reply, as a fair single call writes it (``whole.py``); each version, the
unit-by-unit build, the whole module and a mix of the two, runs against the
same examples and the model's tests the build kept, and the best is
delivered (``Standing.score``: no stub first, then the examples, the model's
tests passed, then the calls of them that end as their tests expect in kind, a
value or an error (``agreement.in_kind``: where the model's expected values are
wrong, a version refusing every valid input still loses), then lint). A tie
keeps the units, so the build is never worse than one call.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from devfactory.graph.stage.build_loop.agreement import in_kind
from devfactory.graph.stage.build_loop.candidates import Built
from devfactory.graph.stage.build_loop.splice import SpliceError, fragment, splice
from devfactory.graph.stage.build_loop.trials import Trial, TrialRunner
from devfactory.graph.stage.build_loop.whole import ask_whole, how_run, whole_messages
from devfactory.graph.stage.drafting import Drafting
from devfactory.software.behaviour import BehaviourTest, passes
from devfactory.software.kinds import comparison
from devfactory.software.requirement import RequirementFacts
from devfactory.software.skeleton import Skeleton, Unit, UnitKind, left_stub
from devfactory.software.source import defined_names, top_level


@dataclass(frozen=True)
class Standing:
    """How one version of the whole module fares: examples, the model's tests, stubs, lint."""

    source: str
    trial: Trial
    written: bool  # no planned unit left a stub
    passed: list[BehaviourTest]  # the model's tests it passes
    tests: int  # the model's tests there were
    kind: int = 0  # its calls of the model's tests that end as they expect in kind

    @property
    def score(self) -> tuple[int, int, int, int, int, int, int]:
        """Order versions: no stub, runnable, examples, kept tests, model tests, kind, lint."""
        runnable, passed, lint, kept, _ = self.trial.score
        return (int(self.written), runnable, passed, kept, len(self.passed), self.kind, lint)

    def said(self) -> str:
        """Say what it passes, for the notes."""
        stub = "" if self.written else ", a unit left a stub"
        kept = self.trial.kept_total and f", {self.trial.kept}/{self.trial.kept_total} kept tests"
        failed = len(self.passed) < self.tests  # a failed test's call may still end in kind
        kind = f" ({self.kind} ending in kind)" if failed else ""
        return (
            f"{self.trial.passed}/{self.trial.total} examples{kept or ''}, "
            f"{len(self.passed)}/{self.tests} behaviour tests{kind}{stub}"
        )


def needs_of(made: Skeleton) -> tuple[str, ...]:
    """Return what a whole module must define: the planned functions and classes, and ``main``."""
    planned = [u.name for u in made.units if u.kind in (UnitKind.FUNCTION, UnitKind.CLASS)]
    main = ["main"] if "main" in top_level(made.source) else []
    return tuple(dict.fromkeys([*planned, *main]))


def passed_tests(
    source: str,
    name: str,
    tests: Sequence[BehaviourTest],
    facts: RequirementFacts,
    runner: TrialRunner,
) -> tuple[list[BehaviourTest], int]:
    """Return the model's tests of ``name`` that ``source`` passes (one sandbox call).

    Also returns how many of its calls end as their tests expect in kind (``in_kind``).
    """
    mine = [t for t in tests if t.unit == name]
    if not mine:
        return [], 0
    found = runner.behaviour(source, name, [t.arguments for t in mine])
    compared = comparison(facts, name)
    shown = compared.written if compared is not None else None
    if len(found) != len(mine):
        return [], 0
    kind = in_kind(found, [bool(t.raises) for t in mine])
    return [t for t, o in zip(mine, found, strict=True) if passes(o, t, shown)], kind


def standing(
    made: Skeleton,
    source: str,
    facts: RequirementFacts,
    runner: TrialRunner,
    tests: Sequence[BehaviourTest],
) -> Standing:
    """Run one version against every example and the model's tests the build kept."""
    everything = Unit(made.path.removesuffix(".py"), UnitKind.MODULE, ())
    passed: list[BehaviourTest] = []
    kind = 0
    for name in dict.fromkeys(t.unit for t in tests):
        theirs, ended = passed_tests(source, name, tests, facts, runner)
        passed, kind = passed + theirs, kind + ended
    return Standing(
        source,
        runner.trial(source, everything),
        complete(source, made),
        passed,
        len(tests),
        kind,
    )


def complete(source: str, made: Skeleton) -> bool:
    """Say whether no unit of ``source`` is left a stub, and every planned one is there.

    A skeleton's own part a whole module does without (a command line's
    ``run``, a filter's ``transform``) is not missing: it is not planned.
    """
    defined = defined_names(source)
    planned = (UnitKind.FUNCTION, UnitKind.CLASS, UnitKind.MODULE)
    return not any(
        left_stub(source, u, made) for u in made.units if u.kind in planned or u.name in defined
    )


def unit_score(
    made: Skeleton,
    unit: Unit,
    source: str,
    facts: RequirementFacts,
    runner: TrialRunner,
    tests: Sequence[BehaviourTest],
) -> tuple[int, int, int, int, int, int, int]:
    """Score ``unit`` in ``source`` in ``Standing.score``'s order (its own tests, its calls)."""
    runnable, examples, lint, kept, _ = runner.trial(source, unit).score
    passed, kind = passed_tests(source, unit.name, tests, facts, runner)
    stub = left_stub(source, unit, made)
    return (int(not stub), runnable, examples, kept, len(passed), kind, lint)


def units_from(
    whole: str,
    made: Skeleton,
    source: str,
    facts: RequirementFacts,
    runner: TrialRunner,
    tests: Sequence[BehaviourTest],
) -> tuple[str, list[str]]:
    """Take into ``source`` each planned function or class whose ``whole`` version does better.

    Better is judged on the unit's own examples and the model's tests of it;
    the unit is spliced as the build splices a candidate (``graph/stage/build_loop/splice.py``).
    """
    taken: list[str] = []
    names = frozenset(u.name for u in made.units) | top_level(made.source)
    for unit in made.units:
        if unit.kind not in (UnitKind.FUNCTION, UnitKind.CLASS):
            continue
        try:
            piece = fragment(whole, unit.name, others=names - {unit.name})
            candidate = splice(source, piece, unit.name)
        except SpliceError:
            continue
        ours = unit_score(made, unit, source, facts, runner, tests)
        if unit_score(made, unit, candidate, facts, runner, tests) > ours:
            source, taken = candidate, [*taken, unit.name]
    return source, taken


def against_whole(
    work: Drafting,
    made: Skeleton,
    source: str,
    facts: RequirementFacts,
    runner: TrialRunner,
    built: Built,
) -> str:
    """Ask for the module written whole; return what does best of it, the units, or both.

    Each runs against the same examples and the model's tests the build kept,
    ordered by ``Standing.score``. A planned unit the whole module writes
    better than the unit-by-unit build is taken into it (``units_from``);
    that mix is kept when it beats both, else the whole module when it beats
    the units. A tie keeps the units. The model's tests are every checked
    one (``Built.tests``), not only those the units' code agreed with: a
    whole module can win on the tests the units fail.
    """
    needs = needs_of(made)
    requirement = work.state["requirement"]
    how = how_run(facts, made.path, needs)
    messages = whole_messages(requirement, how, made.path, work.settings)
    seed = 100 * (work.state.get("attempt", 0) + 10 * work.state.get("fix_round", 0)) + 90
    found = ask_whole(
        work.resolved, work.settings, messages, seed, needs=needs, skeleton=made.source
    )
    built.usage, built.model = built.usage.add(found.usage), found.model or built.model
    if not found.sources:
        why = "; ".join(dict.fromkeys(found.refused)) or "no answer"
        built.notes.append(f"whole module: no usable answer ({why})"[:300])
        return source
    tests = built.tests
    units = standing(made, source, facts, runner, tests)
    wholes = [standing(made, s, facts, runner, tests) for s in found.sources]
    best = max(wholes, key=lambda w: w.score)  # the earliest on a tie
    mixed, taken = units_from(best.source, made, source, facts, runner, tests)
    both = standing(made, mixed, facts, runner, tests) if taken else None
    if both is not None and both.score > max(units.score, best.score):
        built.notes.append(
            f"whole module: passes {best.said()}; took {', '.join(taken)} from it into the "
            f"unit-by-unit build ({units.said()}), which then passes {both.said()}"
        )
        built.agreed = both.passed
        return mixed
    if best.score > units.score:
        built.notes.append(
            f"whole module: passes {best.said()}; kept over the unit-by-unit build ({units.said()})"
        )
        built.agreed = best.passed
        return best.source
    built.notes.append(
        f"whole module: passes {best.said()}; the unit-by-unit build kept ({units.said()})"
    )
    return source
