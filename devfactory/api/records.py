"""What a run left: its files (read through ``runfiles``, served inert), its audit log, its usage.

A run's files were written by a model, by the code it ran and by a repository's
owner, and the API shares its origin with the operator's console: a file served
as ``text/html`` or ``image/svg+xml`` there would run its script as whoever is
signed in. So every file is served as text (``text/plain; charset=utf-8``), or,
when it is not UTF-8, as a download (``application/octet-stream``,
``Content-Disposition: attachment``), always with ``nosniff`` and
``Content-Security-Policy: sandbox; default-src 'none'`` (no script, no
plugin, no fetch, an opaque origin even if a browser rendered it).
"""

from __future__ import annotations

import errno
from dataclasses import asdict
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request, Response

from devfactory.api.auth import Reader, Rules, visible
from devfactory.api.errors import ERRORS, ApiError, ErrorResponse
from devfactory.api.run_routes import factory_of
from devfactory.api.schemas import RunFile, RunFiles, RunFilesLeftOut
from devfactory.runfiles import RefusedFileError, list_files, read_file
from devfactory.shown import hidden_character

router = APIRouter(tags=["records"], responses=ERRORS)
INERT = {  # every file of a run, whatever its name says it is
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "sandbox; default-src 'none'",
    "Cache-Control": "no-store",
}
TEXT = "text/plain; charset=utf-8"
BINARY = "application/octet-stream"


@router.get("/runs/{run_id}/artifacts", summary="List a run's files")
def list_artifacts(run_id: str, person: Reader, rules: Rules, request: Request) -> RunFiles:
    """List the regular files in the run's folder (links, FIFOs and its git history left out).

    The walk looks at no more than the ``run_files_listed`` setting's entries;
    ``more`` says when it stopped there, and ``left_out`` counts what it did
    not list: folders too deep to enter, what is not a regular file, and files
    whose path is not one line of text (``servable``), which are never served.
    """
    factory = factory_of(request)
    row = visible(factory.get(run_id), person, rules)
    try:
        found = list_files(row.out_dir, factory.settings.storage.run_files_listed)
    except RefusedFileError:  # no folder (yet, or any more)
        nothing = RunFilesLeftOut(deep_folders=0, not_regular=0, unsafe_names=0)
        return RunFiles(run_id=run_id, files=[], more=False, left_out=nothing)
    files = [RunFile(path=path, bytes=size) for path, size in found.files if servable(path)]
    left_out = RunFilesLeftOut(
        deep_folders=found.deep,
        not_regular=found.not_regular,
        unsafe_names=len(found.files) - len(files),
    )
    return RunFiles(run_id=run_id, files=files, more=found.more, left_out=left_out)


def servable(path: str) -> bool:
    """Say whether a file at ``path`` may be listed and served: its path is one line of text.

    A name with a newline, a carriage return, another control, an invisible
    character (a bidirectional control) or bytes that are not UTF-8 could not
    be asked for by its URL (the router matches no newline), forges lines where
    it is shown, or reads as another name: neither listed nor served, so the
    listing offers nothing that its URL does not serve.
    """
    return hidden_character(path) is None


@router.get(
    "/runs/{run_id}/artifacts/{path:path}",
    summary="Download one of a run's files",
    description="Every file is served inert, whatever its name: as `text/plain; "
    "charset=utf-8` when it is UTF-8 text, otherwise as `application/octet-stream` with "
    "`Content-Disposition: attachment`; always with `X-Content-Type-Options: nosniff` and "
    "`Content-Security-Policy: sandbox; default-src 'none'`. Links are never followed.",
    response_class=Response,
    responses={
        200: {
            "content": {
                TEXT: {"schema": {"type": "string"}},
                BINARY: {"schema": {"type": "string", "format": "binary"}},
            }
        },
        413: {"model": ErrorResponse, "description": "the file is too large to serve whole"},
    },
)
def get_artifact(
    run_id: str, path: str, person: Reader, rules: Rules, request: Request
) -> Response:
    """Return one file of the run's folder, inert (never through a link, never outside it)."""
    factory = factory_of(request)
    row = visible(factory.get(run_id), person, rules)
    limit = factory.settings.storage.run_file_max_bytes
    if not servable(path):
        raise ApiError(
            404,
            f"no file {path!r} in this run: a file whose path holds a control or invisible "
            "character is not served (nor listed)",
        )
    try:
        content = read_file(row.out_dir, path, limit)
    except ValueError:
        raise ApiError(
            400, "a file path is relative, inside the run's folder, with no '..' and no .git"
        ) from None
    except RefusedFileError as exc:
        if exc.errno == errno.ELOOP:
            raise ApiError(400, f"{path!r} goes through a link; links are not served") from None
        if exc.errno == errno.EFBIG:
            raise ApiError(413, f"{path!r} is larger than {limit} bytes") from None
        raise ApiError(404, f"no file {path!r} in this run") from None
    return inert(content, path.rsplit("/", 1)[-1])


def inert(content: bytes, name: str) -> Response:
    """Return ``content`` as a response no browser runs: text, or else a download named ``name``."""
    try:
        content.decode("utf-8")
    except UnicodeDecodeError:
        fallback = "".join(c if c.isascii() and (c.isalnum() or c in "._-") else "_" for c in name)
        disposition = f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name)}"
        return Response(
            content, media_type=BINARY, headers={**INERT, "Content-Disposition": disposition}
        )
    return Response(content, media_type=TEXT, headers=INERT)


@router.get("/runs/{run_id}/audit", summary="A run's audit events")
def audit(run_id: str, person: Reader, rules: Rules, request: Request) -> dict[str, Any]:
    """Return the run's audit events in chain order."""
    factory = factory_of(request)
    visible(factory.get(run_id), person, rules)
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
    checked = factory.verify_audit(run_id)
    return {**asdict(checked), "ok": checked.ok}


@router.get("/runs/{run_id}/usage", summary="A run's spend against its caps")
def usage(run_id: str, person: Reader, rules: Rules, request: Request) -> dict[str, Any]:
    """Return the run's tokens, cost and model time by team, its caps and its project's total."""
    factory = factory_of(request)
    visible(factory.get(run_id), person, rules)
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
