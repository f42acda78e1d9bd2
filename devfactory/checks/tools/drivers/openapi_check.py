"""Validate OpenAPI documents with openapi-spec-validator; run in the sandbox, with the tools.

Usage: python -I -B openapi_check.py WORKSPACE REPORT PATH...

Each PATH (relative to WORKSPACE) is read as YAML (JSON is YAML too), its OpenAPI
version told from its own ``openapi``/``swagger`` field, and validated against
that version's schema and rules (the validator's own: required fields, paths that
start with ``/``, path parameters declared, references that resolve). Nothing is
fetched: the sandbox has no network, so a reference outside the document is a
finding. REPORT gets ``{"tool": ..., "version": ..., "documents": {PATH: {"spec":
..., "findings": [{"where": ..., "message": ...}]}}}``, at most ``MAX_FINDINGS``
findings a document.
"""

from __future__ import annotations

import json
import sys
from importlib.metadata import version
from pathlib import Path
from typing import Any

MAX_FINDINGS = 20
MAX_MESSAGE = 300


def first_line(text: str) -> str:
    """Return the first line of a validator's message, cut to ``MAX_MESSAGE`` characters."""
    return (text.strip().splitlines() or [""])[0][:MAX_MESSAGE]


def where(error: Any) -> str:
    """Return the place in the document an error is about, as ``paths./items.get``."""
    parts = [str(p) for p in getattr(error, "absolute_path", None) or ()]
    return ".".join(parts) or "(document)"


def check(document: Path) -> dict[str, Any]:
    """Validate one document; return its version and findings."""
    import yaml
    from openapi_spec_validator.shortcuts import get_validator_cls
    from openapi_spec_validator.validation.exceptions import (
        OpenAPIValidationError,
        ValidatorDetectError,
    )

    try:
        spec = yaml.safe_load(document.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        return {"spec": "", "findings": [{"where": "(document)", "message": first_line(str(exc))}]}
    if not isinstance(spec, dict):
        found = f"the document is a {type(spec).__name__}, not a mapping"
        return {"spec": "", "findings": [{"where": "(document)", "message": found}]}
    try:
        validator = get_validator_cls(spec)
    except ValidatorDetectError:
        found = "no OpenAPI version: the document needs 'openapi: 3.x' (or 'swagger: 2.0')"
        return {"spec": "", "findings": [{"where": "openapi", "message": found}]}
    findings: list[dict[str, str]] = []
    errors = validator(spec).iter_errors()
    while len(findings) < MAX_FINDINGS:
        try:
            error = next(errors)
        except StopIteration:
            break
        except OpenAPIValidationError as exc:  # raised, not yielded: iteration stops here
            findings.append({"where": where(exc), "message": first_line(exc.message)})
            break
        except Exception as exc:  # noqa: BLE001 - a reference to nowhere, a bad node: a finding
            findings.append({"where": "(document)", "message": first_line(f"{exc}")})
            break
        message = getattr(error, "message", None) or str(error)
        findings.append({"where": where(error), "message": first_line(message)})
    return {"spec": validator.__name__.removesuffix("SpecValidator"), "findings": findings}


def main(workspace: str, report: str, *paths: str) -> None:
    """Validate each of ``paths`` under ``workspace``; write the report."""
    root = Path(workspace)
    documents = {path: check(root / path) for path in paths}
    out = {"tool": "openapi-spec-validator", "version": version("openapi-spec-validator")}
    Path(report).write_text(json.dumps({**out, "documents": documents}), encoding="utf-8")


if __name__ == "__main__":
    main(*sys.argv[1:])
