"""What a run left: its files (path-checked), its audit log and its usage."""

from __future__ import annotations

import errno
import mimetypes
import os
from dataclasses import asdict
from pathlib import Path, PurePosixPath
from typing import Any

from fastapi import APIRouter, Request, Response

from devfactory.api.auth import Reader, Rules, visible
from devfactory.api.errors import ERRORS, ApiError, ErrorResponse
from devfactory.api.runs import factory_of, get_run

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


def _open_inside(root: Path, relative: str) -> bytes:
    """Read ``relative`` under ``root`` without following any link; ApiError otherwise."""
    parts = PurePosixPath(relative).parts
    if not parts or relative.startswith("/") or any(p in ("..", ".", "") for p in parts):
        raise ApiError(400, "a file path is relative, inside the run's folder, with no '..'")
    if parts[0] in _SKIPPED:
        raise ApiError(404, f"no file {relative!r} in this run")
    flags = os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(root, flags | os.O_DIRECTORY)
    except OSError:
        raise ApiError(404, f"no file {relative!r} in this run") from None
    try:
        for part in parts[:-1]:  # one component at a time: no link is ever followed
            child = os.open(part, flags | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = child
        leaf = os.open(parts[-1], flags, dir_fd=fd)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise ApiError(400, f"{relative!r} is a link; links are not served") from None
        raise ApiError(404, f"no file {relative!r} in this run") from None
    finally:
        os.close(fd)
    try:
        size = os.fstat(leaf).st_size
        if size > MAX_FILE:
            raise ApiError(413, f"{relative!r} has {size} bytes; the most served is {MAX_FILE}")
        with os.fdopen(leaf, "rb", closefd=False) as handle:
            return handle.read(MAX_FILE + 1)
    except IsADirectoryError:
        raise ApiError(404, f"{relative!r} is a folder; list the files instead") from None
    finally:
        os.close(leaf)


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
    content = _open_inside(Path(row.out_dir), path)
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
    """Recompute the run's hash chain; name the first link that does not hold."""
    factory = factory_of(request)
    visible(get_run(factory, run_id), person, rules)
    checked = factory.verify_audit(run_id)
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
