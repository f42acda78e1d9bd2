"""Render the graph's prompt files in ``graph/prompts/``."""

from __future__ import annotations

from devfactory.prompts import render


def render_prompt(name: str, **values: object) -> str:
    """Render ``graph/prompts/<name>.md`` with ``values``; a missing value raises ``KeyError``."""
    return render("devfactory.graph", name, **values)
