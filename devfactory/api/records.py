"""What a run left: its files (path-checked), its audit log and its usage."""

from __future__ import annotations

import mimetypes
import os
from dataclasses import asdict
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request, Response

from devfactory.api.auth import Reader, Rules, visible
from devfactory.api.errors import ERRORS, ApiError, ErrorResponse
from devfactory.api.runs import factory_of, get_run
from devfactory.artifacts import ArtifactTooLargeError, read_file
from devfactory.reads import RunNotFoundError

router = APIRouter(tags=["records"], responses=ERRORS)
MAX_FILE = 10 * 1024 * 1024  # the largest artifact served whole
_SKIPPED = {".git"}


def _files(root: Path) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for folder, dirs, names in os.walk(root):  # never follows links
        dirs[:] = sorted(d for d in dirs if d not in _SKIPPED)
        for name in sorted(names):
            path = Path(folder) / name
            if path.is_symlink() or not path.is_file():
                continue
            found.append({"path": path.relative_to(root).as_posix(), "bytes": path.stat().st_size})
    return found


@router.get("/runs/{run_id}/artifacts", summary="List a run's files")
def list_artifacts(run_id: str, person: Reader, rules: Rules, request: Request) -> dict[str, Any]:
    """List the files in the run's folder (its git history left out)."""
    row = visible(get_run(factory_of(request), run_id), person, rules)
    root = Path(row.out_dir)
    return {"run_id": run_id, "files": _files(root) if root.is_dir() else []}


@router.get(
    "/runs/{run_id}/artifacts/{path:path}",
    summary="Download one of a run's files",
    response_class=Response,
    responses={
        200: {"content": {"*/*": {"schema": {"type": "string", "format": "binary"}}}},
        413: {"model": ErrorResponse, "description": "the file is too large to serve whole"},
    },
)
def get_artifact(
    run_id: str, path: str, person: Reader, rules: Rules, request: Request
) -> Response:
    """Return one file of the run's folder (never through a link, never outside the folder)."""
    row = visible(get_run(factory_of(request), run_id), person, rules)
    if path.split("/", 1)[0] in _SKIPPED:
        raise ApiError(404, f"no file {path!r} in this run")
    try:
        content = read_file(Path(row.out_dir), path, MAX_FILE)
    except ValueError:
        raise ApiError(
            400, "a file path is relative, inside the run's folder, with no '..'"
        ) from None
    except PermissionError:
        raise ApiError(400, f"{path!r} goes through a link; links are not served") from None
    except ArtifactTooLargeError as exc:
        raise ApiError(413, str(exc)) from None
    except OSError:  # no such file, or a folder
        raise ApiError(404, f"no file {path!r} in this run") from None
    kind = mimetypes.guess_type(path)[0] or "application/octet-stream"
    if kind.startswith("text/") or kind in ("application/json", "application/yaml"):
        kind += "; charset=utf-8"
    return Response(content, media_type=kind, headers={"X-Content-Type-Options": "nosniff"})


@router.get("/runs/{run_id}/audit", summary="A run's audit events")
def audit(run_id: str, person: Reader, rules: Rules, request: Request) -> dict[str, Any]:
    """Return the run's audit events in chain order."""
    factory = factory_of(request)
    visible(get_run(factory, run_id), person, rules)
    return {"run_id": run_id, "events": [asdict(e) for e in factory.audit_events(run_id)]}


@router.get("/runs/{run_id}/audit/verify", summary="Verify a run's audit chain")
def verify_audit(run_id: str, person: Reader, rules: Rules, request: Request) -> dict[str, Any]:
    """Recompute the run's hash chain; name the first link that does not hold.

    A run whose row was deleted is still verified from its log, for the roles
    that may see every run (nobody else can tell whose it was).
    """
    factory = factory_of(request)
    row = factory.runs.get(run_id)
    if row is not None:
        visible(row, person, rules)
    elif person.role not in rules.see_all_runs:
        raise ApiError(404, f"no run with id {run_id!r}")
    try:
        checked = factory.verify_audit(run_id)
    except RunNotFoundError:
        raise ApiError(404, f"no run with id {run_id!r}") from None
    return {**asdict(checked), "ok": checked.ok}


@router.get("/runs/{run_id}/usage", summary="A run's spend against its caps")
def usage(run_id: str, person: Reader, rules: Rules, request: Request) -> dict[str, Any]:
    """Return the run's tokens, cost and model time by team, its caps and its project's total."""
    factory = factory_of(request)
    visible(get_run(factory, run_id), person, rules)
    spent = factory.usage(run_id)
    return {
        "run_id": run_id,
        "project": spent.project,
        "teams": {t: s.model_dump(mode="json") for t, s in spent.teams.items()},
        "total": spent.total.model_dump(mode="json"),
        "run_caps": spent.run_caps.model_dump(mode="json"),
        "project_caps": spent.project_caps.model_dump(mode="json"),
        "project_total": spent.project_total.model_dump(mode="json"),
    }
