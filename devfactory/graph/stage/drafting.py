"""What every file of one attempt is drafted with: the value the drafting steps share.

``work.py`` makes one per attempt; the steps it calls (the files tools make,
``tools_made.py``, and the build loop, ``build_loop/build.py``) read it, so it is a module of
its own that each of them imports.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from devfactory.control.deadline import Deadline
from devfactory.graph.stage.setup import StageSetup
from devfactory.graph.state import StageState
from devfactory.memory.packing import Count
from devfactory.models.router import ResolvedModel
from devfactory.sandbox.runner import Sandbox
from devfactory.settings import Settings
from devfactory.software.plan import BuildPlan


@dataclass(frozen=True)
class Drafting:
    """What every file of one attempt is drafted with.

    Attributes:
        setup: the team's stage.
        state: the stage's state.
        settings: the run's settings (the prompt's budgets, the retry caps).
        resolved: the model serving the team.
        plan: the run's build plan (None before Solution Architecture passed one).
        feedback: the gate's problems with the last attempt.
        notes: answers and guidance the stage received.
        count: the serving model's token counter.
        written: every file written so far, by path: the finished stages',
            then this attempt's drafts as they come (the later files import them).
        sandbox: where the build loop runs its candidates (None: nothing runs).
        saved: told each better version of a module the build loop keeps (path,
            content, units written, units), so that the run's folder has it at once.
        deadline: the drive's time cap (``Context.deadline``; None: none): past it
            no more is drawn, and what was kept so far is the attempt's draft.

    """

    setup: StageSetup
    state: StageState
    settings: Settings
    resolved: ResolvedModel
    plan: BuildPlan | None
    feedback: list[str]
    notes: list[str]
    count: Count
    written: dict[str, str]
    sandbox: Sandbox | None = None
    saved: Callable[[str, str, int, int], None] | None = None
    deadline: Deadline | None = None

    def out_of_time(self) -> bool:
        """Say whether the drive's time cap is reached: draw nothing more."""
        return self.deadline is not None and bool(self.deadline.passed())
