"""The settings' reference, ``docs/configuration.md``: every setting by its flat name.

Made from the fields themselves (``make config-doc`` writes it; a test keeps it
current), so the reference cannot drift from what is validated.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

from pydantic.fields import FieldInfo

from devfactory.sandbox.limits import Limits
from devfactory.settings import FLAT_LIMITS, PARTS, FlatSettings


def reference() -> str:
    """Return ``docs/configuration.md``: every setting, its default, bounds and meaning."""
    lines = [
        "# Configuration",
        "",
        "<!-- Made by `make config-doc` from devfactory/settings/; do not edit by hand. -->",
        "",
        "Every setting is read from the environment (`DEVFACTORY_<NAME>`, upper case; the "
        "conventional `DATABASE_URL`, `OLLAMA_HOST` and `OLLAMA_NUM_PARALLEL` too) or from a "
        "TOML file named by `DEVFACTORY_CONFIG` (`name = value`), and validated within its "
        "bounds at start-up: a value outside them is an error that names the setting, never "
        "a silent default. A list is written as JSON in the environment "
        "(`DEVFACTORY_REPO_ALLOWED_HOSTS='[\"github.com\"]'`). The settings are listed by "
        "concern, one section for each part of `devfactory/settings/`.",
    ]
    home = str(Path.home())
    for part in PARTS.values():
        module = part.__module__.rsplit(".", 1)[1]
        summary = (part.__doc__ or "").strip().rstrip(".")
        lines += ["", f"## {summary} (`{module}`)", ""]
        lines += ["| Setting | Default | Accepted | Meaning |", "|---|---|---|---|"]
        for name in part.model_fields:
            info = FlatSettings.model_fields[name]
            if name == "sandbox_limits":  # each limit by its flat name
                limits = Limits.__pydantic_fields__  # type: ignore[attr-defined]
                for flat, field_name in FLAT_LIMITS.items():
                    lines.append(_reference_row(flat, limits[field_name], home))
                continue
            lines.append(_reference_row(name, info, home))
    return "\n".join(lines) + "\n"


@lru_cache(maxsize=1)
def _schema_properties() -> dict[str, Any]:
    """Return each setting's JSON schema (where a list's longest length is said)."""
    properties: dict[str, Any] = FlatSettings.model_json_schema()["properties"]
    return properties


def _reference_row(name: str, info: FieldInfo, home: str) -> str:
    """Return one setting's row of the reference."""
    default = info.get_default(call_default_factory=True)
    if default is None:
        shown = "unset"
    elif isinstance(default, bool):
        shown = str(default).lower()
    elif isinstance(default, tuple | list):
        shown = ", ".join(map(str, default)) if default else "none"
    else:
        shown = str(default).replace(home, "~")
    bounds = [
        f"{sign} {getattr(item, key)}"
        for item in info.metadata
        for key, sign in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<"))
        if hasattr(item, key)
    ]
    most = _schema_properties().get(name, {}).get("maxItems")
    bounds += [f"at most {most} entries"] if most is not None else []
    choices = [a for a in get_args(info.annotation) if a is not type(None)]
    literal = next(
        (get_args(a) for a in [info.annotation, *choices] if get_origin(a) is Literal), ()
    )
    if literal:
        bounds.append(" / ".join(f"`{c}`" for c in literal))
    meaning = " ".join((info.description or "").split()).replace("|", "\\|")
    return f"| `{name}` | {shown} | {', '.join(bounds) or '-'} | {meaning} |"
