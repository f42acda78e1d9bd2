"""Render the prompt files in ``graph/prompts/`` (the only place prompts live)."""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from string import Template


@cache
def _template(name: str) -> Template:
    return Template((files("devfactory.graph") / "prompts" / f"{name}.md").read_text("utf-8"))


def render_prompt(name: str, **values: object) -> str:
    """Render prompt ``name`` with ``values``; a missing value raises ``KeyError``."""
    return _template(name).substitute({k: str(v) for k, v in values.items()})
