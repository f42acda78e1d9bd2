"""Render prompt files: ``<package>/prompts/<name>.md`` (the only place prompts live).

Each part keeps its prompts beside its code (``graph/prompts/``,
``chat/prompts/``, ``models/prompts/``) as ``string.Template`` files, and every
one is rendered by ``render``.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from string import Template


@cache
def _template(package: str, name: str) -> Template:
    return Template((files(package) / "prompts" / f"{name}.md").read_text("utf-8"))


def render(package: str, name: str, **values: object) -> str:
    """Render prompt ``name`` of ``package``; a missing value raises ``KeyError``."""
    return _template(package, name).substitute({k: str(v) for k, v in values.items()})
