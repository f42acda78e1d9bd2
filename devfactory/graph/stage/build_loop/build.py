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
findings it still fails. In a fix round (with ``kept_tests_to_code``), the tests
a tests' team kept and the code failed on their assertions run beside the
examples (``trials.KeptTests``).
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

Each unit's candidates are asked, spliced, repaired as Python and tried in
``candidates.py``; running a version and scoring it calls no model
(``trials.py``: ``Trial``, ``TrialRunner``); the units built against the module
written whole is ``selection.py``. This module is the order: a unit after
another, what is drawn, when drawing stops, what is repaired, what is kept.
Without a sandbox (``run_code`` off, as in graph-logic tests) nothing runs:
the first candidate that splices is kept, and no tests are asked for.
"""

from __future__ import annotations

from functools import partial

from devfactory.checks.code.blame import settled_tests
from devfactory.contracts import Artifact, ArtifactKind
from devfactory.graph.model_io.structured import Draft
from devfactory.graph.stage.build_loop.candidates import (
    Built,
    afresh,
    ask_unit,
    better,
    count_spent,
    repaired,
    take,
    temperature_of,
    unit_messages,
)
from devfactory.graph.stage.build_loop.model_tests import agreed, asked
from devfactory.graph.stage.build_loop.selection import against_whole
from devfactory.graph.stage.build_loop.splice import starting_point
from devfactory.graph.stage.build_loop.trials import Trial, TrialRunner
from devfactory.graph.stage.drafting import Drafting
from devfactory.graph.state import kept_files, requirement_facts_of
from devfactory.models.fanout import at_once, in_order
from devfactory.software.behaviour import BehaviourTest, agreed_file
from devfactory.software.examples import PATH as EXAMPLES_PATH
from devfactory.software.examples import ExampleTests
from devfactory.software.kinds import behaviour_tested, comparison, examples_file, skeleton
from devfactory.software.skeleton import Skeleton, Unit, left_stub


def buildable(work: Drafting, path: str) -> Skeleton | None:
    """Return the skeleton of ``path`` when the build loop can write it, else None."""
    if work.plan is None or not path.endswith(".py"):
        return None
    made = skeleton(requirement_facts_of(work.state), work.plan.summary)
    return made if made is not None and made.path == path else None


def build_module(work: Drafting, path: str, made: Skeleton, earlier: str) -> Draft:
    """Write ``path`` unit by unit from its skeleton; return the best module found.

    ``earlier`` is the team's previous version (a fix round or a later attempt):
    its units that still parse are kept as the starting point, so only what
    fails is drawn again.
    """
    facts = requirement_facts_of(work.state)
    tests = examples_file(facts)
    built = Built()
    kept = _kept_tests(work)
    source = starting_point(made, earlier)
    runner = TrialRunner.open(work.sandbox, work.plan, tests, kept)
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
        if (
            work.settings.generation.whole_module_candidates
            and runner.runs
            and not work.out_of_time()
        ):
            before, source = source, against_whole(work, made, source, facts, runner, built)
            if source != before and work.saved is not None:
                work.saved(path, source, len(made.units), len(made.units))
    finally:
        runner.close()
    artifact = Artifact(path=path, kind=ArtifactKind.PYTHON, content=source)
    draft = Draft(artifact, built.usage, built.model, repairs=built.notes, origin="build")
    draft.companions = agreed_file(work.plan, made, source, built.agreed)
    return draft


def _kept_tests(work: Drafting) -> dict[str, str]:
    """Return, in a fix round, the tests files a tests' team kept (path -> source).

    The final checks laid their failing assertions at this module
    (``checks/code/blame.py``); the trials run them, so that what fails them
    is drawn and repaired again and what passes them is kept. The requirement's
    own examples are not among them: the trials run those as examples.
    """
    if work.plan is None or not work.settings.generation.kept_tests_to_code:
        return {}
    files, teams = kept_files(work.state, work.setup.spec.slug)
    settled = sorted(settled_tests(work.plan, teams) - {EXAMPLES_PATH})
    return {p: files[p] for p in settled if p in files}


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
    stubbed = left_stub(source, unit, made)
    if not stubbed and (current.perfect or not runner.judges(unit)):
        return source  # an earlier version's unit that nothing shows wrong stays as it is
    seed = 100 * (work.state.get("attempt", 0) + 10 * work.state.get("fix_round", 0))
    facts = requirement_facts_of(work.state)
    behaviour: list[BehaviourTest] = []
    asks = runner.runs and settings.generation.behaviour_test_calls and not work.out_of_time()
    if asks and behaviour_tested(facts, unit):
        found, usage, model = asked(work, made, unit)
        built.usage, built.model = built.usage.add(usage), model or built.model
        built.notes.append(found.note(unit.name))
        behaviour = found.tests
        built.tests += behaviour
    count = settings.generation.candidates  # judged by the model's tests too: every one is drawn
    best: Trial | None = None if stubbed else current  # the earlier body competes
    if best is not None and best.failures:  # a later attempt: first repair what failed
        best = better(best, repaired(work, made, unit, best, seed, runner, built))
    drawn: list[Trial] = [best] if best is not None else []

    def enough() -> bool:  # one passes every example, and no test of the model's judges more
        return best is not None and best.perfect and not behaviour

    def more() -> bool:  # asked before each candidate is sent
        return not work.out_of_time() and not enough()

    shown = source if stubbed else afresh(source, unit, made)
    messages = unit_messages(work, made, unit, shown, ())
    low, high = settings.generation.temperature, settings.generation.candidate_temperature
    draws = [
        partial(ask_unit, work, messages, temperature_of(low, high, n, count), seed + n)
        for n in range(count)
    ]
    unused = 0
    for reply in in_order(draws, at_once(settings, work.resolved), more):
        if enough():  # sent while an earlier one was on its way: what it cost counts, no more
            count_spent(reply, built)
            unused += 1
            continue
        trial = take(work, made, unit, source, reply, runner, built)
        best = better(best, trial)
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
    for r in range(settings.generation.repair_rounds):
        if best is None or best.perfect or not best.failures or work.out_of_time():
            break
        best = better(best, repaired(work, made, unit, best, seed + 50 + r, runner, built))
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
