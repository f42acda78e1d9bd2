"""A unit's candidates: asked of the model, spliced into the module, tried, the better kept.

The build loop (``build.py``) draws each candidate of a unit through here: the
request (the requirement, the module so far, what to write and, for a repair,
the assertions it fails), the call (several in flight at once: ``ask_unit``
touches nothing the loop keeps), the reply spliced into the module
(``splice.py``; a command line or a service written whole is judged as
written) and repaired as Python, then run against the examples
(``trials.py``). A reply that leaves its unit a stub is no candidate. ``Built``
is the record every step adds to: what was spent, the notes, the tests agreed.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage

from devfactory.contracts import Usage
from devfactory.graph.model_io.briefs import requirement_seen
from devfactory.graph.model_io.prompt_files import render_prompt
from devfactory.graph.stage.build_loop.splice import SpliceError, fragment, splice
from devfactory.graph.stage.build_loop.trials import Trial, TrialRunner
from devfactory.graph.stage.build_loop.whole import module_of
from devfactory.graph.stage.drafting import Drafting
from devfactory.models.io import invoked, served_by, text_of, usage_of
from devfactory.repairs.repair import RepairKind, repair
from devfactory.software.behaviour import BehaviourTest
from devfactory.software.skeleton import Skeleton, Unit, UnitKind
from devfactory.software.source import stubbed_names, top_level, unwritten

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


def afresh(source: str, unit: Unit, made: Skeleton) -> str:
    """Return ``source`` with ``unit`` as its skeleton left it: the module fresh candidates see.

    On a later attempt ``source`` holds the earlier body; shown it, a small
    model writes it again, mistakes and all, in every candidate (the repair
    that comes first is shown it, with what it failed). A module unit, whose
    routes share state the earlier bodies declared, is shown as it is; so is
    a unit still a stub (the caller says so: ``left_stub``).
    """
    if unit.kind == UnitKind.MODULE:
        return source
    others = top_level(made.source) - {unit.name}
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


def better(best: Trial | None, trial: Trial | None) -> Trial | None:
    """Return the better of two trials (the earlier on a tie; a missing one loses)."""
    if best is None:
        return trial
    if trial is None:
        return best
    return trial if trial.score > best.score else best


def repaired(
    work: Drafting, made: Skeleton, unit: Unit, trial: Trial, seed: int, runner: TrialRunner,
    built: Built,
) -> Trial | None:  # fmt: skip
    """Ask for ``unit`` again, shown the assertions ``trial`` fails; None when it cannot be used."""
    messages = unit_messages(work, made, unit, trial.source, trial.failures)
    reply = ask_unit(work, messages, work.settings.generation.temperature, seed)
    return take(work, made, unit, trial.source, reply, runner, built)


def temperature_of(low: float, high: float, n: int, count: int) -> float:
    """Return the n-th temperature of ``count``, from ``low`` up to ``high``."""
    if count <= 1 or high <= low:
        return low
    return round(low + (high - low) * n / (count - 1), 3)


def ask_unit(
    work: Drafting, messages: list[BaseMessage], temperature: float, seed: int
) -> AIMessage | Exception:
    """Ask for one version of a unit: the model's reply, or why the call failed.

    It touches nothing the loop keeps, so several can be in flight at once.
    """
    model = work.resolved.sampled(temperature, seed)
    return invoked(model, messages, work.settings.generation.max_model_errors)


def count_spent(reply: AIMessage | Exception, built: Built) -> None:
    """Count what a reply cost (a failed call cost nothing the provider reported)."""
    if isinstance(reply, AIMessage):
        built.usage = built.usage.add(usage_of(reply))
        built.model = served_by(reply) or built.model


def take(
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
    count_spent(reply, built)
    return _trial(
        made, unit, source, text_of(reply), runner, built, work.settings.generation.repairs_off
    )


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
            candidate = whole_module(reply, made)
        else:
            units = frozenset(u.name for u in made.units) - {unit.name}
            others = units | top_level(made.source) - {unit.name}  # the skeleton's own stay
            try:
                candidate = splice(source, fragment(reply, unit.name, others=others), unit.name)
            except SpliceError:
                if unit.kind == UnitKind.COMMAND:
                    # a whole command line of its own (its parser, its main): judged as written
                    needs = ("main", *sorted(units))
                    candidate = whole_module(reply, made, needs=needs)
                elif unit.kind == UnitKind.ROUTE:
                    # a whole service of its own, every route kept: judged as written
                    candidate = whole_module(reply, made)
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


def whole_module(reply: str, made: Skeleton, needs: Sequence[str] = ()) -> str:
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
                requirement=requirement_seen(
                    work.state["requirement"], f"{unit.name} {about}", work.settings
                ),
                path=made.path,
                source=source.rstrip(),
                what=_WHAT.get(unit.kind, "the definition"),
                unit=unit.name,
                about=about,
                failures=shown,
            )
        ),
    ]
