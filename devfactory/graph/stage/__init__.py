"""``make_team_node``: the one factory that turns a ``TeamSpec`` into a stage.

A stage is a small compiled subgraph of top-level node functions, each taking
the team's frozen ``StageSetup``:

* ``hold`` (``graph/stage/holds.py``): while an operator holds the team, the stage
  waits here for a person before it starts (the other stages go on).
* ``recall`` (``recall.py``): what the team and the factory remember.
* ``draft``, ``report`` (``work.py``): each file as plain text (the build
  plan as a validated object), then the team's ``TaskResult`` on them.
* ``verify`` (``verify.py``): the plan's objective checks on the code, in the
  sandbox; failures on the team's files keep it from passing. Budgets are
  checked before drafting and reporting: at the warning line a person
  approves an override, at the cap the stage stops.
* ``gate`` (``routes.py``): pass; retry with feedback (bounded); route a
  question to the clarification broker (``clarify``), which may hand it to a
  person (``consult``); or, at the attempt cap, ask a person what to do
  (``escalate``) before the stage ends BLOCKED.
* ``retain`` (``recall.py``): what the stage learned, and the team's new facts.

To change what a stage does, open the node's module; to change how the nodes
are wired, change ``make_team_node``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.runtime import Runtime

from devfactory.graph.binding import bind
from devfactory.graph.context import Context
from devfactory.graph.oversight.interrupts import waits_for
from devfactory.graph.stage.holds import hold
from devfactory.graph.stage.recall import recall, retain
from devfactory.graph.stage.routes import clarify, consult, escalate, gate
from devfactory.graph.stage.setup import StageSetup
from devfactory.graph.stage.verify import verify_stage
from devfactory.graph.stage.work import draft, report
from devfactory.graph.state import RunState, StageOutput, StageState
from devfactory.teams.registry import TeamRegistry
from devfactory.teams.spec import TeamSpec

__all__ = ["StageSetup", "make_team_node"]

Node = Callable[[StageState, Runtime[Context], StageSetup], Any]

# node name -> function, in the order the stage runs them
NODES: dict[str, Node] = {
    "hold": hold,
    "recall": recall,
    "draft": draft,
    "verify": verify_stage,
    "report": report,
    "gate": gate,
    "clarify": clarify,
    "consult": consult,
    "escalate": escalate,
    "retain": retain,
}
# what each node may pause the run for (node metadata, drawn in the graph views)
WAITS = {
    "hold": "an operator to resume the team",
    "draft": "a budget override",
    "report": "a budget override",
    "consult": "an answer no team could give",
    "escalate": "guidance for a blocked stage",
}


def make_team_node(
    spec: TeamSpec, *, needs: Sequence[str], teams: TeamRegistry
) -> CompiledStateGraph[Any, Any, Any, Any]:
    """Build the stage subgraph for ``spec``.

    Args:
        spec: the team.
        needs: stages whose results this stage reads (its pipeline dependencies).
        teams: the registry (display names, clarification targets).

    """
    setup = StageSetup.of(spec, needs=needs, teams=teams)
    graph = StateGraph(
        StageState, context_schema=Context, input_schema=RunState, output_schema=StageOutput
    )
    for name, node in NODES.items():
        waits = waits_for(WAITS[name]) if name in WAITS else None
        graph.add_node(name, bind(node, setup), metadata=waits)
    graph.add_edge(START, "hold")
    graph.add_edge("hold", "recall")
    graph.add_edge("recall", "draft")
    graph.add_edge("retain", END)
    return graph.compile(name=spec.slug)
