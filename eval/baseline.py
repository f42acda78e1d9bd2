"""The single-call baseline: the same model asked once to write the module, fairly.

For each case, one chat call through the factory's own model stack (the
``factory/coder`` alias resolved by ``devfactory.models.router`` with the same
settings, so the model and its sampling are the factory's: temperature 0.2,
and for the embedded model repeat_penalty 1.1 and seed 0), capped at its own
``baseline_max_tokens`` (enough for a whole module), with the prompt a competent
user would write (``eval/prompts/baseline*.md``): a short system line, the
requirement, what the module is and how it is run, and "one Python code block
holding the whole module". The reply's largest Python code block (else its
largest untagged one, else the whole reply) becomes ``<module>.py`` in a folder
laid out as a run's output folder, with a one-file ``architecture/plan.json``
written by the harness from ``case.yaml``; ``eval.measure`` then scores it with
the same executor and hidden tests as a factory run. No database is needed.

The prompt and the settings are frozen as ``VERSION``, recorded in the results
(``served_by``), so ``--resume`` never mixes two baselines and a reader knows which
one a table measured.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from devfactory.prompts import render
from eval.catalog import Case
from eval.executors import one_line
from eval.plan import PLAN_PATH

ALIAS = "factory/coder"
PIPELINE = "single-call"  # the results' pipeline: what ``--resume`` compares
ANSWERED = "ANSWERED"  # the run column of a case the model replied to
CUT_OFF = "CUT OFF"  # the run column of a reply that stopped at the token limit
VERSION: Final = "single-call v2"
"""The baseline's prompt and settings; a change to either (a test pins them) is a new version."""
_FENCE = re.compile(r"^[ \t]*```[ \t]*([\w+-]*)[^\n]*\n(.*?)(?:^[ \t]*```[ \t]*$|\Z)", re.M | re.S)
_PYTHON = frozenset({"python", "py", "python3"})


@dataclass(frozen=True)
class Reply:
    """What one call returned: the text, its tokens, its wall time and why it stopped."""

    text: str
    tokens: int | None
    seconds: float
    finish_reason: str = ""


def system() -> str:
    """Return the system message: one short line, as a competent user would write it."""
    return render("eval", "baseline-system").strip()


def prompt(case: Case) -> str:
    """Return the user message: the requirement, what the module is and how it is run."""
    usage = render("eval", f"baseline-{case.kind}", module=case.module).strip()
    return render(
        "eval", "baseline", requirement=case.requirement.rstrip(), module=case.module, usage=usage
    )


def transcript(case: Case) -> str:
    """Return both messages as one markdown text, kept beside the reply (``prompt.md``)."""
    return f"# System\n\n{system()}\n\n# User\n\n{prompt(case)}"


def code_of(reply: str) -> str:
    """Return the reply's largest Python code block (else its largest untagged one, else all).

    A reply often shows a short usage example beside the module; the module is the
    longest block (the first of equal ones). A block cut off before its closing fence
    (the reply ran out of tokens) runs to the end of the reply.
    """
    blocks = [(m.group(1).lower(), m.group(2)) for m in _FENCE.finditer(reply)]
    for wanted in (_PYTHON, frozenset({""})):
        bodies = [body for language, body in blocks if language in wanted]
        if bodies:
            return max(bodies, key=lambda body: len(body.strip())).rstrip() + "\n"
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
    from langchain_core.messages import HumanMessage, SystemMessage

    started = time.monotonic()
    message = model.invoke([SystemMessage(system()), HumanMessage(prompt(case))])
    seconds = round(time.monotonic() - started, 1)
    content = getattr(message, "content", message)
    text = content if isinstance(content, str) else str(content)
    finish = (getattr(message, "response_metadata", None) or {}).get("finish_reason") or ""
    return Reply(text, tokens_of(message), seconds, str(finish))


def was_cut_off(reply: Reply) -> bool:
    """Say whether the reply stopped at the token limit (finish_reason ``length``)."""
    return reply.finish_reason == "length"


def cut_off(reply: Reply, max_tokens: int) -> str:
    """Say when the reply stopped at the token limit ("" when it did not)."""
    if not was_cut_off(reply):
        return ""
    return f"reply cut off at the token limit ({max_tokens} tokens, baseline_max_tokens)"


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
    sampling: str = "temperature 0.2"

    @property
    def served_by(self) -> str:
        """Name the model, its sampling and the baseline's version (``--resume`` compares it)."""
        return f"{self.label} at {self.sampling}, up to {self.max_tokens} tokens; {VERSION}"


def sampling_of(chat: Any, temperature: float) -> str:
    """Describe the sampling: the temperature, and the model's repeat penalty and seed if set."""
    parts = [f"temperature {temperature:g}"]
    for name in ("repeat_penalty", "seed"):
        value = getattr(chat, name, None)
        if isinstance(value, int | float):
            parts.append(f"{name} {value:g}")
    return ", ".join(parts)


def resolve(settings: Any, alias: str = ALIAS) -> BaselineModel:
    """Resolve ``alias`` as the factory does (``model_source``: the router, or a plugin).

    The model is built with the factory's settings but ``baseline_max_tokens`` as its
    generation cap (the one call writes a whole module, a stage one file or body).

    Raises:
        RuntimeError: no model can serve the alias (``ModelUnavailableError``) or the
            embedded model cannot be loaded.

    """
    from devfactory.models.router import model_source

    capped = settings.with_overrides(stage_max_tokens=settings.generation.baseline_max_tokens)
    resolved = model_source(capped).resolve(alias)
    label = str(getattr(resolved, "label", alias))
    sampling = sampling_of(getattr(resolved, "chat", None), capped.generation.temperature)
    return BaselineModel(resolved.plain(), label, capped.generation.baseline_max_tokens, sampling)


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
