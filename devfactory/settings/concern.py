"""What every part of the settings is: a frozen model, read by its fields' names.

Each part (``storage``, ``serving`` ...) is one concern of ``Settings`` and, as a
mixin of ``settings.FlatSettings``, the same fields read flat from the environment.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Concern(BaseModel):
    """One concern of the settings: frozen, and given by field name or by alias alike."""

    model_config = ConfigDict(frozen=True, populate_by_name=True, use_attribute_docstrings=True)
