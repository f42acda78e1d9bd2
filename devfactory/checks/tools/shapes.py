"""What an OpenAPI operation answers and takes, compared between the design and the service.

For an operation both documents have, the success statuses (2xx) and the top level of
the JSON schemas (the success response's, the request body's: object or array, and an
object's property names) are compared, each ``$ref`` resolved inside its own document.
Error statuses are not compared: a framework documents the errors it validates, not
those the code raises. A schema a side leaves open (``{}``, no JSON body) is not judged.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

MAX_DEPTH = 20
_PARAMETER = re.compile(r"\{[^}/]*\}")


@dataclass(frozen=True)
class Drift:
    """One difference: which side must change (``service`` or ``design``) and what it is."""

    side: str
    text: str


def resolved(schema: object, document: Mapping[str, Any], depth: int = 0) -> dict[str, Any]:
    """Follow a schema's local ``$ref`` (and a lone ``allOf``) to what it names."""
    while isinstance(schema, Mapping) and depth < MAX_DEPTH:
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/"):
            target: object = document
            for part in ref[2:].split("/"):
                key = part.replace("~1", "/").replace("~0", "~")
                target = target.get(key) if isinstance(target, Mapping) else None
            schema, depth = target, depth + 1
            continue
        every = schema.get("allOf")
        if isinstance(every, list) and len(every) == 1:
            schema, depth = every[0], depth + 1
            continue
        return dict(schema)
    return {}


def shape(schema: object, document: Mapping[str, Any]) -> tuple[str, frozenset[str] | None] | None:
    """Return a schema's top level: its type and an object's property names.

    None when the schema is open (``{}``); the names are None for an object (or an
    array of objects) that lists no properties (``dict`` in FastAPI): any keys.
    """
    found = resolved(schema, document)
    kind = found.get("type")
    if kind == "array" or "items" in found:
        names = resolved(found.get("items"), document).get("properties")
        return "array", frozenset(names) if isinstance(names, Mapping) and names else None
    names = found.get("properties")
    if kind == "object" or isinstance(names, Mapping):
        return "object", frozenset(names) if isinstance(names, Mapping) and names else None
    if isinstance(kind, str):
        return kind, None
    return None


def _json_schema(body: object) -> object:
    if not isinstance(body, Mapping):
        return None
    content = body.get("content")
    if not isinstance(content, Mapping):
        return None
    media = content.get("application/json")
    return media.get("schema") if isinstance(media, Mapping) else None


def _operation(document: Mapping[str, Any], method: str, path: str) -> Mapping[str, Any]:
    paths = document.get("paths")
    for written, item in paths.items() if isinstance(paths, Mapping) else ():
        same = _PARAMETER.sub("{}", str(written).rstrip("/") or "/") == path
        if same and isinstance(item, Mapping):
            found = item.get(method.lower())
            return found if isinstance(found, Mapping) else {}
    return {}


def _responses(operation: Mapping[str, Any]) -> dict[str, object]:
    found = operation.get("responses")
    return {str(code): value for code, value in found.items()} if isinstance(found, Mapping) else {}


def _compare(
    what: str,
    designed: object,
    built: object,
    design: Mapping[str, Any],
    service: Mapping[str, Any],
) -> list[Drift]:
    want, have = shape(designed, design), shape(built, service)
    if want is None or have is None:
        return []
    if want[0] != have[0]:
        return [Drift("service", f"{what} is {have[0]}, where the design has {want[0]}")]
    if want[1] is None or have[1] is None:
        return []
    found = []
    missing, extra = sorted(want[1] - have[1]), sorted(have[1] - want[1])
    if missing:
        found.append(Drift("service", f"{what} lacks {', '.join(missing)}, which the design has"))
    if extra:
        found.append(Drift("design", f"{what} has {', '.join(extra)}, which the design lacks"))
    return found


def drifts(
    method: str, path: str, design: Mapping[str, Any], service: Mapping[str, Any]
) -> list[Drift]:
    """Compare one operation both documents have: its success statuses, its JSON schemas."""
    designed, built = _operation(design, method, path), _operation(service, method, path)
    name = f"{method} {path}"
    wanted, had = _responses(designed), _responses(built)
    want = {c for c in wanted if c.startswith("2")}
    have = {c for c in had if c.startswith("2")}
    found: list[Drift] = []
    if want and have and not want & have:
        found.append(
            Drift(
                "service",
                f"{name} answers {', '.join(sorted(have))}, where the design has "
                f"{', '.join(sorted(want))}",
            )
        )
    for code in sorted(want & have)[:1]:
        found += _compare(
            f"the {code} response of {name}",
            _json_schema(wanted[code]),
            _json_schema(had[code]),
            design,
            service,
        )
    found += _compare(
        f"the request body of {name}",
        _json_schema(designed.get("requestBody")),
        _json_schema(built.get("requestBody")),
        design,
        service,
    )
    return found
