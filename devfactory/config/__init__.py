"""Packaged configuration: model aliases, the governance policy and the price table.

``models.yaml``, ``policy.yaml`` and ``prices.yaml``; settings (``models_file``,
``policy_file``, ``prices_file``) point at copies to override them, and
``load_config`` reads either into its model.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel

M = TypeVar("M", bound=BaseModel)


def load_config(model: type[M], path: Path | None, name: str) -> M:
    """Return ``model`` read from the YAML file at ``path``, or from the packaged ``name``."""
    import yaml  # here: a module that only names its config file needs no YAML parser

    source = path if path is not None else files(__name__) / name
    return model.model_validate(yaml.safe_load(source.read_text(encoding="utf-8")))
