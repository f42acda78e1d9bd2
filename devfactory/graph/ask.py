"""Ask a model for a small structured answer (a pydantic model): repair, retry, never raise.

``structured.py`` does this for the stage report; the control plane's own
questions (a risk assessment, a clarification answer) use this generic form.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import json_repair
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langchain_core.runnables import Runnable
from pydantic import BaseModel, ValidationError

from devfactory.contracts import Usage
from devfactory.graph.prompts import render_prompt
from devfactory.graph.structured import _invoke, _served_by, _summarise, _usage

log = logging.getLogger(__name__)
T = TypeVar("T", bound=BaseModel)


@dataclass
class Answer(Generic[T]):
    """A parsed answer (None when every try failed) and what it cost."""

    value: T | None
    usage: Usage = field(default_factory=Usage)
    model: str = ""
    problems: list[str] = field(default_factory=list)

    @property
    def problem(self) -> str:
        """The last reason the answer was rejected."""
        return self.problems[-1] if self.problems else ""


def _parse(text: str, cls: type[T]) -> tuple[T | None, str]:
    if not text.strip():
        return None, "the reply was empty"
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        data = json_repair.loads(text)
    if not isinstance(data, dict):
        return None, "the reply is not a JSON object"
    for key, value in list(data.items()):
        if isinstance(value, str) and key in ("risk", "status"):
            data[key] = value.strip().upper()
    try:
        return cls.model_validate(data), ""
    except ValidationError as exc:
        return None, _summarise(exc)


def ask_model(
    model: Runnable[Any, Any],
    messages: list[BaseMessage],
    cls: type[T],
    *,
    max_parse_retries: int,
    max_model_errors: int,
) -> Answer[T]:
    """Invoke ``model`` until its reply validates as ``cls`` or the caps run out."""
    answer: Answer[T] = Answer(None)
    convo = list(messages)
    for _ in range(max_parse_retries + 1):
        try:
            message = _invoke(model, convo, max_model_errors)
        except Exception as exc:  # noqa: BLE001 - reported, never raised
            answer.problems.append(f"model call failed: {type(exc).__name__}: {exc}")
            return answer
        answer.usage = answer.usage.add(_usage(message))
        answer.model = _served_by(message) or answer.model
        text = message.content if isinstance(message.content, str) else str(message.content)
        value, problem = _parse(text, cls)
        if value is not None:
            answer.value = value
            return answer
        answer.problems.append(problem)
        log.info("invalid %s: %s", cls.__name__, problem)
        convo += [AIMessage(text[:4000]), HumanMessage(render_prompt("repair", problem=problem))]
    return answer
