"""The build loop for one planned module: sample, run, select, repair, one unit at a time.

The module starts as its skeleton, made by tools from the requirement by its
kind (``software/kinds/``): imports, exact signatures quoting the requirement,
a command line's parser, a web service's routes. Each unit (a function, a
class, a command's ``run``, a route's handler) is then written by the
model: ``candidates`` bodies are drawn at rising temperatures, each is spliced
into the module (``graph/stage/build_loop/splice.py``) and run in the sandbox against the
requirement's own examples (``software/examples.py``) and linted with the
gate's own rules (undefined names: a sure ``NameError``), and the best is kept;
the first that passes every example of its unit, lint clean, stops the drawing.
Up to ``parallel_candidates`` are in flight at once, as many as the model
serves (``models/fanout.py``); each is taken in the order drawn, so the one
kept is the one a loop drawing them one by one keeps, and those already sent
when one passed are counted, not used.
A unit the model's tests can call (a planned function, a filter's transform)
is first given small tests the model writes from its sentences
(``model_tests.py``); then every candidate is drawn, and among those tied
on the examples the one dual agreement picks is kept (``graph/stage/build_loop/agreement.py``);
the tests it passes become QA's starting tests (``software/behaviour.PATH``).
Last, the module written whole in one reply, as a fair single call writes it
(``whole.py``), runs against the same examples and kept tests; it is
delivered only when it does better (no stub first, then the examples, the
model's tests, lint), so the build is never worse than one call.
Up to ``repair_rounds`` repairs then show the best one the assertions and
findings it still fails. In a fix round, the tests a tests' team kept and the
code failed on their assertions run beside the examples (``trials.KeptTests``).
On a later attempt the earlier body is repaired first; fresh candidates are
drawn on the module with the unit back to its stub, never shown the earlier
body (a small model copies it, mistakes and all).
What the model writes can never remove the skeleton's interface, lose its
imports or be cut off: a reply that does not parse, or defines no such
unit, is refused, and the stub (or the earlier body) stays. A reply that
leaves the unit a stub (``source.unwritten``: ``raise NotImplementedError``,
``pass``, a docstring alone, the skeleton's own body) is no candidate: it is
dropped before anything runs or is selected, and the note says so; a unit no
candidate wrote is ``not written``, which the gate's stubs check refuses.

Running a version and scoring it calls no model: that is ``graph/stage/build_loop/trials.py``
(``Trial``, ``TrialRunner``). Without a sandbox (``run_code`` off, as in
graph-logic tests) nothing runs: the first candidate that splices is kept, and
no tests are asked for.

Why one module: drawing, selecting and repairing share one state (the
module's text, the best trial, the tests agreed with) and one budget; split,
each part would pass that state across a boundary it does not own.
"""

from __future__ import annotations

import ast
import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from functools import partial

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage

from devfactory.checks.code.blame import settled_tests
from devfactory.contracts import Artifact, ArtifactKind, Usage
from devfactory.graph.model_io.prompt_files import render_prompt
from devfactory.graph.model_io.structured import Draft
from devfactory.graph.stage.build_loop.model_tests import agreed, asked
from devfactory.graph.stage.build_loop.splice import SpliceError, fragment, splice
from devfactory.graph.stage.build_loop.trials import Trial, TrialRunner
from devfactory.graph.stage.build_loop.whole import ask_whole, how_run, module_of, whole_messages
from devfactory.graph.stage.drafting import Drafting
from devfactory.graph.state import kept_files, requirement_facts_of
from devfactory.models.fanout import at_once, in_order
from devfactory.models.io import invoked, served_by, text_of, usage_of
from devfactory.repairs.repair import RepairKind, repair
from devfactory.software.behaviour import PATH as AGREED_PATH
from devfactory.software.behaviour import BehaviourTest, passes, render
from devfactory.software.examples import ExampleTests
from devfactory.software.kinds import behaviour_tested, comparison, examples_file, skeleton
from devfactory.software.requirement import RequirementFacts
from devfactory.software.skeleton import Skeleton, Unit, UnitKind
from devfactory.software.source import defined_names, stubbed_names, unwritten

log = logging.getLogger(__name__)
FAILURE_CHARS = 1500  # what a repair is shown of the assertions its unit fails
_WHAT = {
    UnitKind.FUNCTION: "the function",
    UnitKind.CLASS: "the class",
    UnitKind.COMMAND: "the command line's function",
    UnitKind.ROUTE: "the route's handler, reading and writing the state declared above it,",
    UnitKind.MODULE: "the whole module: every route's handler and the state they share,",
}


@dataclass
class Built:
    """What the loop spent and did, for the stage's record, and the tests the code agreed with."""

    usage: Usage = field(default_factory=Usage)
    model: str = ""
    notes: list[str] = field(default_factory=list)
    agreed: list[BehaviourTest] = field(default_factory=list)  # the model's, the kept code passes
    tests: list[BehaviourTest] = field(default_factory=list)  # every checked one of the model's
    stubs: dict[str, int] = field(default_factory=dict)  # candidates still a stub, by unit


def plan_facts(work: Drafting) -> RequirementFacts:
    """Return what the run's requirement states (read once, kept in the run's state).

    A module's build loop starts from it: its skeleton, its example tests.
    """
    return requirement_facts_of(work.state)


def buildable(work: Drafting, path: str) -> Skeleton | None:
    """Return the skeleton of ``path`` when the build loop can write it, else None."""
    if work.plan is None or not path.endswith(".py"):
        return None
    facts = plan_facts(work)
    made = skeleton(facts, work.plan.summary)
    return made if made is not None and made.path == path else None


def build_module(work: Drafting, path: str, made: Skeleton, earlier: str) -> Draft:
    """Write ``path`` unit by unit from its skeleton; return the best module found.

    ``earlier`` is the team's previous version (a fix round or a later attempt):
    its units that still parse are kept as the starting point, so only what
    fails is drawn again.
    """
    facts = plan_facts(work)
    tests = examples_file(facts)
    built = Built()
    source = _starting_point(made, earlier)
    runner = TrialRunner.open(work.sandbox, work.plan, tests, _kept_tests(work))
    try:
        failing = runner.keep_judging(source, made.units)
        if failing:
            built.notes.append(
                f"{path}: the kept tests to pass this round: {', '.join(failing)}"[:600]
            )
        for n, unit in enumerate(made.units, 1):
            if work.out_of_time():  # the run's time cap: the units left stay as they are
                built.notes.append(f"{unit.name}: not written: the run's time cap was reached")
                continue
            before, source = source, _write_unit(work, made, unit, source, tests, runner, built)
            if source != before and work.saved is not None:  # a stopped run keeps it
                work.saved(path, source, n, len(made.units))
        if work.settings.whole_module_candidates and runner.runs and not work.out_of_time():
            before, source = source, _against_whole(work, made, source, facts, runner, built)
            if source != before and work.saved is not None:
                work.saved(path, source, len(made.units), len(made.units))
    finally:
        runner.close()
    artifact = Artifact(path=path, kind=ArtifactKind.PYTHON, content=source)
    draft = Draft(artifact, built.usage, built.model, repairs=built.notes, origin="build")
    draft.companions = _agreed_tests(work, made, source, built)
    return draft


def _kept_tests(work: Drafting) -> dict[str, str]:
    """Return, in a fix round, the tests files a tests' team kept (path -> source).

    The final checks laid their failing assertions at this module
    (``checks/code/blame.py``); the trials run them, so that what fails them
    is drawn and repaired again and what passes them is kept.
    """
    if work.plan is None:
        return {}
    files, teams = kept_files(work.state, work.setup.spec.slug)
    return {p: files[p] for p in sorted(settled_tests(work.plan, teams)) if p in files}


def _agreed_tests(work: Drafting, made: Skeleton, source: str, built: Built) -> list[Artifact]:
    """Return QA's starting tests, when the plan has their file: the model's the code passes."""
    if work.plan is None or not any(f.path == AGREED_PATH for f in work.plan.files):
        return []
    content = render(built.agreed, made.path.removesuffix(".py").replace("/", "."), source)
    if content is None:
        return []
    return [Artifact(path=AGREED_PATH, kind=ArtifactKind.PYTHON, content=content)]


def _starting_point(made: Skeleton, earlier: str) -> str:
    """Start from the earlier version when it still has every unit of the skeleton."""
    if not earlier.strip():
        return made.source
    names = {u.name for u in made.units if u.kind != UnitKind.MODULE}
    try:
        for name in names:
            fragment(earlier, name)
    except SpliceError:
        return made.source
    return earlier


def _stubbed(source: str, unit: Unit, made: Skeleton) -> bool:
    """Say whether ``unit`` is still a stub in ``source`` (or not there at all).

    A module unit is one while any definition its skeleton left to be written
    (a route's handler) still is.
    """
    if unit.kind == UnitKind.MODULE:
        return bool(unwritten(source, stubbed_names(made.source), skeleton=made.source))
    if unit.name not in defined_names(source):
        return True
    return bool(unwritten(source, [unit.name], skeleton=made.source))


def _afresh(source: str, unit: Unit, made: Skeleton) -> str:
    """Return ``source`` with ``unit`` as its skeleton left it: the module fresh candidates see.

    On a later attempt ``source`` holds the earlier body; shown it, a small
    model writes it again, mistakes and all, in every candidate (the repair
    that comes first is shown it, with what it failed). A module unit, whose
    routes share state the earlier bodies declared, is shown as it is; so is
    a unit still a stub (the caller says so: ``_stubbed``).
    """
    if unit.kind == UnitKind.MODULE:
        return source
    others = _top_level(made.source) - {unit.name}
    try:
        return splice(source, fragment(made.source, unit.name, others=others), unit.name)
    except SpliceError:  # the skeleton always has its units; an odd earlier module stays shown
        return source


def _no_candidate(candidate: str, unit: Unit, made: Skeleton) -> bool:
    """Say whether a candidate leaves ``unit`` a stub, so that it is no candidate at all.

    A module unit's candidate is one when it writes none of what its skeleton
    left to be written; one that writes some competes, and the gate names what
    it left (``UnwrittenCheck``). Any other's is one when its unit is still a
    stub (a whole command line of the model's own without that unit is judged
    as written).
    """
    if unit.kind == UnitKind.MODULE:
        left = stubbed_names(made.source)
        return len(unwritten(candidate, left, skeleton=made.source)) == len(left)
    return bool(unwritten(candidate, [unit.name], skeleton=made.source))


def _write_unit(
    work: Drafting,
    made: Skeleton,
    unit: Unit,
    source: str,
    tests: ExampleTests | None,
    runner: TrialRunner,
    built: Built,
) -> str:
    """Draw candidates of ``unit``, keep the best, repair it; return the module with it."""
    settings = work.settings
    current = runner.trial(source, unit)
    stubbed = _stubbed(source, unit, made)
    if not stubbed and (current.perfect or not runner.judges(unit)):
        return source  # an earlier version's unit that nothing shows wrong stays as it is
    seed = 100 * (work.state.get("attempt", 0) + 10 * work.state.get("fix_round", 0))
    facts = plan_facts(work)
    behaviour: list[BehaviourTest] = []
    asks = runner.runs and settings.behaviour_test_calls and not work.out_of_time()
    if asks and behaviour_tested(facts, unit):
        found, usage, model = asked(work, made, unit)
        built.usage, built.model = built.usage.add(usage), model or built.model
        built.notes.append(found.note(unit.name))
        behaviour = found.tests
        built.tests += behaviour
    count = settings.candidates  # judged by the model's tests too: every one is drawn
    best: Trial | None = None if stubbed else current  # the earlier body competes
    if best is not None and best.failures:  # a later attempt: first repair what failed
        best = _better(best, _repair(work, made, unit, best, seed, runner, built))
    drawn: list[Trial] = [best] if best is not None else []

    def enough() -> bool:  # one passes every example, and no test of the model's judges more
        return best is not None and best.perfect and not behaviour

    def more() -> bool:  # asked before each candidate is sent
        return not work.out_of_time() and not enough()

    shown = source if stubbed else _afresh(source, unit, made)
    messages = unit_messages(work, made, unit, shown, ())
    low, high = settings.temperature, settings.candidate_temperature
    draws = [
        partial(_ask, work, messages, _temperature(low, high, n, count), seed + n)
        for n in range(count)
    ]
    unused = 0
    for reply in in_order(draws, at_once(settings, work.resolved), more):
        if enough():  # sent while an earlier one was on its way: what it cost counts, no more
            _spent(reply, built)
            unused += 1
            continue
        trial = _take(work, made, unit, source, reply, runner, built)
        best = _better(best, trial)
        drawn += [trial] if trial is not None else []
    if unused:
        built.notes.append(f"{unit.name}: {unused} candidate(s) drawn at once, after one passed")
    chosen: tuple[Trial, list[BehaviourTest]] | None = None
    if best is not None and behaviour and not work.out_of_time():
        found_best = agreed(made, unit, drawn, behaviour, runner, comparison(facts, unit.name))
        if found_best is None:
            built.notes.append(f"{unit.name}: every candidate was a stub; none to compare")
        else:
            best, choice, passed = found_best
            built.notes.append(choice.note(unit.name))
            chosen = best, passed
    elif best is not None and runner.runs and behaviour_tested(facts, unit):
        built.notes.append(f"{unit.name}: no behaviour test could be used; the best on examples")
    for r in range(settings.repair_rounds):
        if best is None or best.perfect or not best.failures or work.out_of_time():
            break
        best = _better(best, _repair(work, made, unit, best, seed + 50 + r, runner, built))
    if chosen is not None and chosen[0] is best:  # a repair that replaced it passed no test yet
        built.agreed += chosen[1]
    dropped = built.stubs.get(unit.name, 0)
    stubs = f"{dropped} candidate(s) still a stub, dropped" if dropped else ""
    if best is None:
        why = stubs or "no candidate could be spliced"
        built.notes.append(f"{unit.name}: {why}; not written: {unit.name}")
        return source
    built.notes.append(
        f"{unit.name}: kept the best of {count} candidate(s)"
        + (f" ({stubs})" if stubs else "")
        + (f", passing {best.passed}/{best.total} examples" if best.total else "")
        + (f" ({best.problem})" if best.problem else "")
    )
    return best.source


@dataclass(frozen=True)
class _Standing:
    """How one version of the whole module fares: examples, the model's tests, stubs, lint."""

    source: str
    trial: Trial
    written: bool  # no planned unit left a stub
    passed: list[BehaviourTest]  # the model's tests it passes
    tests: int  # the model's tests there were

    @property
    def score(self) -> tuple[int, int, int, int, int]:
        """Order versions: no stub, runnable, examples passed, the model's tests, fewest lint."""
        runnable, passed, lint, _ = self.trial.score
        return (int(self.written), runnable, passed, len(self.passed), lint)

    def said(self) -> str:
        """Say what it passes, for the notes."""
        stub = "" if self.written else ", a unit left a stub"
        return (
            f"{self.trial.passed}/{self.trial.total} examples, "
            f"{len(self.passed)}/{self.tests} behaviour tests{stub}"
        )


def _needs(made: Skeleton) -> tuple[str, ...]:
    """Return what a whole module must define: the planned functions and classes, and ``main``."""
    planned = [u.name for u in made.units if u.kind in (UnitKind.FUNCTION, UnitKind.CLASS)]
    main = ["main"] if "main" in _top_level(made.source) else []
    return tuple(dict.fromkeys([*planned, *main]))


def _passed(
    source: str,
    name: str,
    tests: Sequence[BehaviourTest],
    facts: RequirementFacts,
    runner: TrialRunner,
) -> list[BehaviourTest]:
    """Return the model's tests of ``name`` that ``source`` passes (one sandbox call)."""
    mine = [t for t in tests if t.unit == name]
    if not mine:
        return []
    found = runner.behaviour(source, name, [t.arguments for t in mine])
    compared = comparison(facts, name)
    shown = compared.written if compared is not None else None
    if len(found) != len(mine):
        return []
    return [t for t, o in zip(mine, found, strict=True) if passes(o, t, shown)]


def _standing(
    made: Skeleton,
    source: str,
    facts: RequirementFacts,
    runner: TrialRunner,
    tests: Sequence[BehaviourTest],
) -> _Standing:
    """Run one version against every example and the model's tests the build kept."""
    everything = Unit(made.path.removesuffix(".py"), UnitKind.MODULE, ())
    passed: list[BehaviourTest] = []
    for name in dict.fromkeys(t.unit for t in tests):
        passed += _passed(source, name, tests, facts, runner)
    return _Standing(
        source,
        runner.trial(source, everything),
        _complete(source, made),
        passed,
        len(tests),
    )


def _complete(source: str, made: Skeleton) -> bool:
    """Say whether no unit of ``source`` is left a stub, and every planned one is there.

    A skeleton's own part a whole module does without (a command line's
    ``run``, a filter's ``transform``) is not missing: it is not planned.
    """
    defined = defined_names(source)
    planned = (UnitKind.FUNCTION, UnitKind.CLASS, UnitKind.MODULE)
    return not any(
        _stubbed(source, u, made) for u in made.units if u.kind in planned or u.name in defined
    )


def _unit_score(
    made: Skeleton,
    unit: Unit,
    source: str,
    facts: RequirementFacts,
    runner: TrialRunner,
    tests: Sequence[BehaviourTest],
) -> tuple[int, int, int, int, int]:
    """Score ``unit`` in ``source``: no stub, runnable, its examples, its tests, fewest lint."""
    runnable, examples, lint, _ = runner.trial(source, unit).score
    behaviour = len(_passed(source, unit.name, tests, facts, runner))
    return (int(not _stubbed(source, unit, made)), runnable, examples, behaviour, lint)


def _units_from(
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
    names = frozenset(u.name for u in made.units) | _top_level(made.source)
    for unit in made.units:
        if unit.kind not in (UnitKind.FUNCTION, UnitKind.CLASS):
            continue
        try:
            piece = fragment(whole, unit.name, others=names - {unit.name})
            candidate = splice(source, piece, unit.name)
        except SpliceError:
            continue
        ours = _unit_score(made, unit, source, facts, runner, tests)
        if _unit_score(made, unit, candidate, facts, runner, tests) > ours:
            source, taken = candidate, [*taken, unit.name]
    return source, taken


def _against_whole(
    work: Drafting,
    made: Skeleton,
    source: str,
    facts: RequirementFacts,
    runner: TrialRunner,
    built: Built,
) -> str:
    """Ask for the module written whole; return what does best of it, the units, or both.

    Each runs against the same examples and the model's tests the build kept,
    ordered by ``_Standing.score``. A planned unit the whole module writes
    better than the unit-by-unit build is taken into it (``_units_from``);
    that mix is kept when it beats both, else the whole module when it beats
    the units. A tie keeps the units. The model's tests are every checked
    one (``Built.tests``), not only those the units' code agreed with: a
    whole module can win on the tests the units fail.
    """
    needs = _needs(made)
    requirement = work.state["requirement"]
    messages = whole_messages(requirement, how_run(facts, made.path, needs), made.path)
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
    units = _standing(made, source, facts, runner, tests)
    wholes = [_standing(made, s, facts, runner, tests) for s in found.sources]
    best = max(wholes, key=lambda w: w.score)  # the earliest on a tie
    mixed, taken = _units_from(best.source, made, source, facts, runner, tests)
    both = _standing(made, mixed, facts, runner, tests) if taken else None
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


def _better(best: Trial | None, trial: Trial | None) -> Trial | None:
    """Return the better of two trials (the earlier on a tie; a missing one loses)."""
    if best is None:
        return trial
    if trial is None:
        return best
    return trial if trial.score > best.score else best


def _repair(
    work: Drafting, made: Skeleton, unit: Unit, trial: Trial, seed: int, runner: TrialRunner,
    built: Built,
) -> Trial | None:  # fmt: skip
    """Ask for ``unit`` again, shown the assertions ``trial`` fails."""
    temperature = work.settings.temperature
    return _candidate(
        work, made, unit, trial.source, trial.failures, temperature, seed, runner, built
    )


def _temperature(low: float, high: float, n: int, count: int) -> float:
    """Return the n-th temperature of ``count``, from ``low`` up to ``high``."""
    if count <= 1 or high <= low:
        return low
    return round(low + (high - low) * n / (count - 1), 3)


def _candidate(
    work: Drafting,
    made: Skeleton,
    unit: Unit,
    source: str,
    failures: tuple[str, ...],
    temperature: float,
    seed: int,
    runner: TrialRunner,
    built: Built,
) -> Trial | None:
    """Ask for one version of ``unit``, splice it in and run it; None when it cannot be used."""
    messages = unit_messages(work, made, unit, source, failures)
    reply = _ask(work, messages, temperature, seed)
    return _take(work, made, unit, source, reply, runner, built)


def _ask(
    work: Drafting, messages: list[BaseMessage], temperature: float, seed: int
) -> AIMessage | Exception:
    """Ask for one version of a unit: the model's reply, or why the call failed.

    It touches nothing the loop keeps, so several can be in flight at once.
    """
    model = work.resolved.sampled(temperature, seed)
    return invoked(model, messages, work.settings.max_model_errors)


def _spent(reply: AIMessage | Exception, built: Built) -> None:
    """Count what a reply cost (a failed call cost nothing the provider reported)."""
    if isinstance(reply, AIMessage):
        built.usage = built.usage.add(usage_of(reply))
        built.model = served_by(reply) or built.model


def _take(
    work: Drafting,
    made: Skeleton,
    unit: Unit,
    source: str,
    reply: AIMessage | Exception,
    runner: TrialRunner,
    built: Built,
) -> Trial | None:
    """Splice one reply's ``unit`` into ``source`` and run it; None when it cannot be used."""
    if isinstance(reply, Exception):  # a failed call is a missing candidate
        built.notes.append(f"{unit.name}: model call failed: {type(reply).__name__}: {reply}"[:300])
        return None
    _spent(reply, built)
    return _trial(made, unit, source, text_of(reply), runner, built, work.settings.repairs_off)


def _trial(
    made: Skeleton,
    unit: Unit,
    source: str,
    reply: str,
    runner: TrialRunner,
    built: Built,
    off: Collection[str] = (),
) -> Trial | None:
    """Run the version of ``source`` with ``reply``'s ``unit`` in it; None when it cannot be.

    The ``python`` repairs named in ``off`` are left out.
    """
    try:
        if unit.kind == UnitKind.MODULE:
            candidate = _whole_module(reply, made)
        else:
            units = frozenset(u.name for u in made.units) - {unit.name}
            others = units | _top_level(made.source) - {unit.name}  # the skeleton's own stay
            try:
                candidate = splice(source, fragment(reply, unit.name, others=others), unit.name)
            except SpliceError:
                if unit.kind == UnitKind.COMMAND:
                    # a whole command line of its own (its parser, its main): judged as written
                    needs = ("main", *sorted(units))
                    candidate = _whole_module(reply, made, needs=needs)
                elif unit.kind == UnitKind.ROUTE:
                    # a whole service of its own, every route kept: judged as written
                    candidate = _whole_module(reply, made)
                else:
                    raise
        candidate = repair(RepairKind.PYTHON, candidate, off=off).content  # `string` never imported
    except SpliceError as exc:
        log.debug("candidate of %s refused: %s", unit.name, exc)
        return None
    if _no_candidate(candidate, unit, made):  # never run, never selected, never kept
        built.stubs[unit.name] = built.stubs.get(unit.name, 0) + 1
        return None
    return runner.trial(candidate, unit)


def _top_level(source: str) -> frozenset[str]:
    """Return the names ``source`` defines at its top level (functions and classes)."""
    return frozenset(
        n.name
        for n in ast.parse(source).body
        if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
    )


def _whole_module(reply: str, made: Skeleton, needs: Sequence[str] = ()) -> str:
    """Take a whole module from ``reply`` when it keeps the skeleton's routes and ``needs``.

    ``needs`` are names it must define at the top level (a command line's ``main``
    and the planned functions).
    """
    return module_of(reply, needs=needs, skeleton=made.source)


def unit_messages(
    work: Drafting, made: Skeleton, unit: Unit, source: str, failures: tuple[str, ...]
) -> list[BaseMessage]:
    """Build the request for one unit: the requirement, the module so far, what to write."""
    spec = work.setup.spec
    about = "\n".join(f"- {s}" for s in unit.sentences) or "- (see the requirement)"
    shown = ""
    if failures:
        listed = "\n".join(f"- {f}" for f in failures)[:FAILURE_CHARS]
        shown = render_prompt("unit_failures", unit=unit.name, failures=listed)
    return [
        SystemMessage(render_prompt("unit_system", team_name=spec.name, unit=unit.name)),
        HumanMessage(
            render_prompt(
                "unit_task",
                requirement=work.state["requirement"].strip(),
                path=made.path,
                source=source.rstrip(),
                what=_WHAT.get(unit.kind, "the definition"),
                unit=unit.name,
                about=about,
                failures=shown,
            )
        ),
    ]
