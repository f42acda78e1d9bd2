"""The module written whole in one reply: its prompt, which replies are usable, its token cap."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langgraph.runtime import Runtime
from pydantic import ValidationError

from devfactory.contracts import TaskResult
from devfactory.control.deadline import Deadline
from devfactory.graph.context import Context
from devfactory.graph.stage.build_loop.splice import SpliceError
from devfactory.graph.stage.build_loop.whole import (
    NOT_ACCEPTED,
    ask_whole,
    blocked_plan_answer,
    how_run,
    usable,
    whole_messages,
)
from devfactory.memory.packing import approx_tokens
from devfactory.models.router import ResolvedModel
from devfactory.settings import Settings
from devfactory.software.requirement import read_requirement
from devfactory.teams import load_teams
from tests.fakes import ScriptedModels, always_good

COMMAND = """# wordcount

Build a command-line program, run as `python -m wordcount FILE [--lines]`, that counts the
words of a text file. Standard library only.
"""
LIBRARY = """# tallies

Build a Python module `tallies` with one function `tally(items: list[str]) -> dict[str, int]`
that counts how often each item occurs.
"""
SERVICE = """# notes

Build a FastAPI service in `notes.py`, its app object named `api`, with `GET /notes` returning the
notes as a JSON list and `POST /notes` adding one (status 201).
"""


def test_a_command_line_is_said_to_run_with_python_m_and_its_main_guard() -> None:
    how = how_run(read_requirement(COMMAND), "wordcount.py", ("main",))
    assert how.startswith("It is run as `python -m wordcount`")
    assert '`if __name__ == "__main__":` calling `main()`' in how
    assert "It defines" not in how  # `main` is said once, in the run line


def test_a_library_is_said_to_be_imported_with_the_names_it_defines() -> None:
    how = how_run(read_requirement(LIBRARY), "tallies.py", ("tally",))
    assert how == "It is a library, imported as `tallies`. It defines `tally`."


def test_a_web_service_is_said_to_be_its_app_object() -> None:
    facts = read_requirement(SERVICE)
    how = how_run(facts, "notes.py")
    assert "It is a web service: the FastAPI app object `api` in `notes.py`" in how


def test_the_request_is_a_short_system_line_the_requirement_and_one_code_block() -> None:
    system, task = whole_messages(LIBRARY, "It is a library.", "tallies.py", Settings())
    assert str(system.content).startswith("You are an expert Python programmer.")
    assert len(str(system.content).splitlines()) == 1
    text = str(task.content)
    assert (
        text.startswith("# tallies\n") and "Write the complete Python module `tallies.py`." in text
    )
    assert text.rstrip().endswith("one ```python code block holding the whole module.")


def test_a_long_requirement_is_seen_as_far_as_the_requirement_budget() -> None:
    parts = [f"## Part {n}\n" + f"Rule {n} of the tally is kept in order. " * 60 for n in range(20)]
    spec = LIBRARY + "\n\n" + "\n\n".join(parts)
    task = str(whole_messages(spec, "It is a library.", "tallies.py", Settings())[1].content)
    whole = str(
        whole_messages(
            spec, "", "tallies.py", Settings(requirement_tokens=200_000, context_tokens=200_000)
        )[1]
    )
    assert approx_tokens(spec) > 4 * 1200 and "## Part 19" in whole
    assert task.startswith("# tallies\n")  # the overview is kept
    assert approx_tokens(task) <= 1200 + 150 and "[left out of this excerpt" in task


def test_the_largest_python_block_is_kept() -> None:
    reply = (
        "Usage:\n```python\nimport tallies\n```\nThe module:\n"
        "```python\nfrom collections import Counter\n\n\ndef tally(items):\n"
        "    return dict(Counter(items))\n```"
    )
    assert usable(reply, needs=("tally",)).startswith("from collections import Counter\n")


@pytest.mark.parametrize(
    ("reply", "why"),
    [
        (
            "```python\ndef tally(items):\n    raise NotImplementedError\n```",
            "leaves a stub: tally",
        ),
        ("```python\ndef count(items):\n    return {}\n```", "does not define tally"),
        ("```python\ndef tally(items:\n```", "does not parse"),
    ],
)
def test_a_reply_with_a_stub_a_missing_unit_or_no_code_is_refused(reply: str, why: str) -> None:
    with pytest.raises(SpliceError, match=why):
        usable(reply, needs=("tally",))


def test_a_reply_that_drops_a_route_of_the_skeleton_is_refused() -> None:
    skeleton = (
        "from fastapi import FastAPI\napp = FastAPI()\n\n\n@app.get('/notes')\ndef a():\n"
        "    pass\n\n\n@app.post('/notes')\ndef b():\n    pass\n"
    )
    reply = "```python\nfrom fastapi import FastAPI\napp = FastAPI()\n\n\n@app.get('/notes')\n"
    reply += "def notes():\n    return []\n```"
    with pytest.raises(SpliceError, match="drops the route POST /notes"):
        usable(reply, skeleton=skeleton)


class _Echo(BaseChatModel):
    """Replies with the sampling it was called with."""

    temperature: float = 0.7
    seed: int = -1
    max_tokens: int = 1024

    @property
    def _llm_type(self) -> str:
        return "echo"

    def _generate(
        self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kw: Any
    ) -> ChatResult:
        said = f"{self.max_tokens} {self.temperature} {self.seed}"
        return ChatResult(generations=[ChatGeneration(message=AIMessage(said))])


class _Predict(BaseChatModel):
    """An Ollama-like model: its reply cap is ``num_predict``, and it has no ``max_tokens``."""

    temperature: float = 0.7
    num_predict: int = 128

    @property
    def _llm_type(self) -> str:
        return "predict"

    def _generate(
        self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kw: Any
    ) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=AIMessage(str(self.num_predict)))])


def _resolved(chat: BaseChatModel) -> ResolvedModel:
    return ResolvedModel("factory/coder", "echo", chat, lambda c, s: c)


def test_a_sampled_model_gets_its_own_token_cap_only_when_asked() -> None:
    asked = [HumanMessage("hi")]
    assert _resolved(_Echo()).sampled(0.2, 7, 2048).invoke(asked).content == "2048 0.2 7"
    assert _resolved(_Echo()).sampled(0.2, 7).invoke(asked).content == "1024 0.2 7"


def test_an_ollama_like_model_gets_its_cap_as_num_predict() -> None:
    asked = [HumanMessage("hi")]
    assert _resolved(_Predict()).sampled(0.2, 7, 2048).invoke(asked).content == "2048"
    assert _resolved(_Predict()).sampled(0.2, 7).invoke(asked).content == "128"


def test_the_whole_module_settings_are_bounded() -> None:
    settings = Settings()
    assert (
        settings.generation.whole_module_candidates == 1
        and settings.generation.whole_module_max_tokens == 2048
    )
    assert Settings(whole_module_candidates=3).generation.whole_module_candidates == 3
    for wrong in ({"whole_module_candidates": 4}, {"whole_module_candidates": -1},
                  {"whole_module_max_tokens": 100}):  # fmt: skip
        with pytest.raises(ValidationError):
            Settings.model_validate(wrong)


ARCHITECT = "solution-architecture"
NAMED = "# doubler\n\nBuild a Python module `doubler` that doubles numbers.\n"
WHOLE = "```python\ndef double(n):\n    return n * 2\n```"


def _blocked(settings: Settings, requirement: str, **kw: Any) -> tuple[Any, str, Any, Any]:
    spec = load_teams()[ARCHITECT]
    models = ScriptedModels(lambda call: WHOLE if call.kind == "whole" else always_good(call))
    context = Context(settings=settings, models=models, deadline=kw.pop("deadline", None))
    state: Any = {"requirement": requirement, "attempt": 3, "stages": {}}
    result = TaskResult.blocked("the plan names no module")
    found, note, spent = blocked_plan_answer(
        spec, state, Runtime(context=context), result, lambda: models.resolve(spec.model), **kw
    )
    return found, note, spent, models


def test_a_blocked_plan_gets_the_whole_module_as_its_file_marked_not_accepted(
    settings: Settings,
) -> None:
    found, note, spent, models = _blocked(settings, NAMED)
    [module] = found.artifacts
    assert module.path == "doubler.py" and "return n * 2" in module.content
    assert f"doubler.py: {NOT_ACCEPTED}" in found.assumptions_made
    assert note == "whole module `doubler.py`: delivered, NOT accepted (the plan blocked)"
    assert spent["usage"].calls == 1  # metered as the team's call
    assert [c.kind for c in models.chat.calls] == ["whole"]


@pytest.mark.parametrize(
    ("requirement", "changes", "said"),
    [
        (NAMED, {"stopped_by": "budget"}, "not asked: the budget stopped the stage"),
        (NAMED, {"deadline": Deadline(1.0, 0.0, lambda: 5.0)}, "the run's time cap was reached"),
        ("# doubling\n\nDouble numbers.\n", {}, "not asked: the requirement names no module"),
    ],
)
def test_no_whole_module_is_asked_past_the_budget_the_time_cap_or_without_a_name(
    settings: Settings, requirement: str, changes: dict[str, Any], said: str
) -> None:
    found, note, spent, models = _blocked(settings, requirement, **changes)
    assert found.artifacts == [] and said in note and spent == {}
    assert models.chat.calls == []


def test_no_whole_module_is_asked_at_a_cap_of_zero(settings: Settings) -> None:
    off = settings.with_overrides(whole_module_candidates=0)
    found, note, _, models = _blocked(off, NAMED)
    assert found.artifacts == [] and note.endswith("(whole_module_candidates is 0)")
    assert models.chat.calls == []


def test_a_reply_cut_off_at_its_cap_says_so() -> None:
    cut = AIMessage(
        "```python\ndef double(n):\n    return (", response_metadata={"done_reason": "length"}
    )
    whole = GenericFakeChatModel(messages=iter([cut]))
    settings = Settings(whole_module_max_tokens=512)
    found = ask_whole(_resolved(whole), settings, [HumanMessage("hi")], 0, needs=("double",))
    assert found.sources == []
    assert found.refused[0].startswith("the reply does not parse")
    assert found.refused[0].endswith("(cut off at 512 tokens)")
