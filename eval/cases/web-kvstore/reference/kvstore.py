"""A versioned key-value store kept in memory and served over HTTP with FastAPI."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import FastAPI, HTTPException, Path, Response
from pydantic import BaseModel

Key = Annotated[str, Path(pattern=r"^[A-Za-z0-9._-]{1,64}$")]


class Write(BaseModel):
    """What a client sends to store a value: any JSON value, null included."""

    value: Any


class Entry(BaseModel):
    """A stored value and its version."""

    key: str
    value: Any
    version: int


class Keys(BaseModel):
    """The keys of the store."""

    keys: list[str]


app = FastAPI(title="kvstore")
_entries: dict[str, Entry] = {}


@app.put("/kv/{key}")
def put_value(key: Key, body: Write, response: Response, version: int | None = None) -> Entry:
    """Store a value; with ``version``, only if the key is at that version (0: absent)."""
    current = _entries.get(key)
    current_version = current.version if current else 0
    if version is not None and version != current_version:
        raise HTTPException(
            status_code=409,
            detail=f"{key} is at version {current_version}, not {version}",
        )
    entry = Entry(key=key, value=body.value, version=current_version + 1)
    _entries[key] = entry
    response.status_code = 200 if current else 201
    return entry


@app.get("/kv/{key}")
def get_value(key: Key) -> Entry:
    """Return one entry."""
    if key not in _entries:
        raise HTTPException(status_code=404, detail=f"no key {key}")
    return _entries[key]


@app.delete("/kv/{key}", status_code=204)
def delete_value(key: Key) -> Response:
    """Delete an entry."""
    if key not in _entries:
        raise HTTPException(status_code=404, detail=f"no key {key}")
    del _entries[key]
    return Response(status_code=204)


@app.get("/kv")
def list_keys(prefix: str = "") -> Keys:
    """List the keys in ascending order, optionally those starting with ``prefix``."""
    return Keys(keys=sorted(k for k in _entries if k.startswith(prefix)))
