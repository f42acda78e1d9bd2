"""The single-call baseline: the same model asked once to write the module.

For each case, one chat call through the factory's own model stack (the
``factory/coder`` alias resolved by ``devfactory.models.router`` with the same
settings, so the model and its sampling are the factory's: temperature 0.2,
and for the embedded model repeat_penalty 1.1 and seed 0), with the requirement
and "Write the complete module `<module>.py`.". The reply's first Python code
block (the whole reply when it has none) becomes ``<module>.py`` in a folder
laid out as a run's output folder, with a one-file ``architecture/plan.json``
written by the harness from ``case.yaml``; ``eval.measure`` then scores it with
the same executor and hidden tests as a factory run. No database is needed.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eval.catalog import Case
from eval.executors import one_line
from eval.plan import PLAN_PATH

ALIAS = "factory/coder"
PIPELINE = "single-call"  # the results' pipeline: what ``--resume`` compares
ANSWERED = "ANSWERED"  # the run column of a case the model replied to
_FENCE = re.compile(r"^[ \t]*```[ \t]*([\w+-]*)[^\n]*\n(.*?)(?:^[ \t]*```[ \t]*$|\Z)", re.M | re.S)
_PYTHON = frozenset({"python", "py", "python3"})


@dataclass(frozen=True)
class Reply:
    """What one call returned: the text, its tokens, its wall time and why it stopped."""

    text: str
    tokens: int | None
    seconds: float
    finish_reason: str = ""


def prompt(case: Case) -> str:
    """Return the one message the model gets: the requirement and the module to write."""
    return f"{case.requirement.rstrip()}\n\nWrite the complete module `{case.module}.py`."


def code_of(reply: str) -> str:
    """Return the reply's first Python code block (else its first untagged one, else all).

    A block cut off before its closing fence (the reply ran out of tokens) runs to
    the end of the reply.
    """
    blocks = [(m.group(1).lower(), m.group(2)) for m in _FENCE.finditer(reply)]
    for wanted in (_PYTHON, frozenset({""})):
        for language, body in blocks:
            if language in wanted:
                return body.rstrip() + "\n"
    return reply.strip() + "\n"


def plan_of(case: Case) -> dict[str, Any]:
    """Return the build plan the harness writes for the baseline: the one module."""
    return {
        "kind": case.kind,
        "summary": f"single-call baseline for {case.id}: the plan is the harness's, from case.yaml",
        "files": [{"path": f"{case.module}.py", "role": "code", "owner": "baseline"}],
        "dependencies": [],
        "test_command": "",
        "entry_point": f"python -m {case.module}" if case.kind in ("cli", "data") else "",
    }


def write_project(case: Case, reply: str, folder: Path) -> Path:
    """Write the reply's code as ``<module>.py`` in ``folder``, laid out as a run's folder."""
    (folder / PLAN_PATH).parent.mkdir(parents=True, exist_ok=True)
    (folder / PLAN_PATH).write_text(json.dumps(plan_of(case), indent=2) + "\n", encoding="utf-8")
    (folder / f"{case.module}.py").write_text(code_of(reply), encoding="utf-8")
    return folder


def tokens_of(message: Any) -> int | None:
    """Return a reply's prompt plus completion tokens from its usage metadata (None: none)."""
    usage = getattr(message, "usage_metadata", None)
    if not isinstance(usage, Mapping):
        return None
    return int(usage.get("input_tokens") or 0) + int(usage.get("output_tokens") or 0)


def ask(model: Any, case: Case) -> Reply:
    """Make the one call: ``model`` is a chat runnable (``ResolvedModel.plain()``)."""
    from langchain_core.messages import HumanMessage

    started = time.monotonic()
    message = model.invoke([HumanMessage(prompt(case))])
    seconds = round(time.monotonic() - started, 1)
    content = getattr(message, "content", message)
    text = content if isinstance(content, str) else str(content)
    finish = (getattr(message, "response_metadata", None) or {}).get("finish_reason") or ""
    return Reply(text, tokens_of(message), seconds, str(finish))


def cut_off(reply: Reply, max_tokens: int) -> str:
    """Say when the reply stopped at the token limit ("" when it did not)."""
    if reply.finish_reason != "length":
        return ""
    return f"reply cut off at the token limit ({max_tokens} tokens, stage_max_tokens)"


def settings_for(overrides: Mapping[str, str], models: Path | None) -> Any:
    """Return the factory's settings with ``--set``'s ``DEVFACTORY_*`` overrides applied."""
    from devfactory.settings import get_settings

    changes: dict[str, Any] = {
        name.removeprefix("DEVFACTORY_").lower(): value for name, value in overrides.items()
    }
    if models is not None:
        changes["models_file"] = models
    return get_settings().with_overrides(**changes)


@dataclass(frozen=True)
class BaselineModel:
    """The chat model the baseline calls, the label it is served by, and its sampling."""

    chat: Any
    label: str
    max_tokens: int
    temperature: float = 0.2

    @property
    def served_by(self) -> str:
        """Name the model and its sampling, for the results (``--resume`` compares it)."""
        return f"{self.label} at temperature {self.temperature:g}, up to {self.max_tokens} tokens"


def resolve(settings: Any, alias: str = ALIAS) -> BaselineModel:
    """Resolve ``alias`` as the factory does (``model_source``: the router, or a plugin).

    Raises:
        RuntimeError: no model can serve the alias (``ModelUnavailableError``) or the
            embedded model cannot be loaded.

    """
    from devfactory.models.router import model_source

    resolved = model_source(settings).resolve(alias)
    label = str(getattr(resolved, "label", alias))
    return BaselineModel(resolved.plain(), label, settings.stage_max_tokens, settings.temperature)


def baseline_missing() -> str:
    """Say why the factory's model stack cannot be used from here ("" when it can)."""
    try:
        import devfactory.models.router  # noqa: F401
    except ImportError as exc:
        return f"the factory's models cannot be imported ({exc}); run `make setup` first"
    return ""


def describe_error(exc: BaseException) -> str:
    """Return a model error as one line for the row's reason."""
    return f"the call failed: {type(exc).__name__}: {one_line(exc)}"
