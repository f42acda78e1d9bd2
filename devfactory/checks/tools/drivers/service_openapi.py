"""Ask the built service for the OpenAPI document its framework makes; run in the sandbox.

Usage: python -I -B service_openapi.py WORKSPACE REPORT MODULE...

Run with the project's own environment. Each dotted MODULE (its code from WORKSPACE,
or WORKSPACE/src) is imported in turn until one holds an application that makes an
OpenAPI document (an object with an ``openapi()`` method and ``routes``, as FastAPI's
has); REPORT gets ``{"module": ..., "paths": {...}, "components": {...}}`` from
``app.openapi()``, or
``{"module": ""}`` when no module has one, with each import's failure in ``failed``.
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path
from typing import Any


def application(module: Any) -> Any:
    """Return the module's object that makes an OpenAPI document (None when it has none)."""
    for value in vars(module).values():
        if isinstance(value, type):
            continue  # the framework's class, imported: the application is an instance
        if callable(getattr(value, "openapi", None)) and hasattr(value, "routes"):
            return value
    return None


def main(workspace: str, report: str, *modules: str) -> None:
    """Import ``modules`` until one has an application; write its document's paths."""
    root = Path(workspace)
    sys.path[:0] = [str(root / "src"), str(root)]
    out: dict[str, Any] = {"module": "", "failed": {}}
    for name in modules:
        try:
            module = importlib.import_module(name)
        except BaseException as exc:  # noqa: BLE001 - the code's own failure is reported
            out["failed"][name] = f"{type(exc).__name__}: {exc}"[:300]
            continue
        app = application(module)
        if app is not None:
            document = app.openapi()
            out.update(
                module=name,
                paths=document.get("paths", {}),
                components=document.get("components", {}),
            )
            break
    Path(report).write_text(json.dumps(out, default=str), encoding="utf-8")


if __name__ == "__main__":
    main(*sys.argv[1:])
