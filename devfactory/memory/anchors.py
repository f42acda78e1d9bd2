"""Anchor audit chains outside the database: the key that signs them, the heads they reach.

A chain in the database proves its rows were not altered one by one; it cannot
prove that nobody with the database's own powers rewrote it whole or cut rows
off its end. Two things outside the database close that gap:

* **The key.** Each link is an HMAC-SHA256 under a key kept in a file (or an
  environment variable), never in the database, so a rewritten chain with
  recomputed links does not verify.
* **The anchors.** After every append the chain's head (how many events, the
  last link) goes to an append-only file per run, so removing the last events,
  or all of a run's events, is seen when the database no longer reaches the
  anchored head.

Both live under the data directory by default; whoever can write there (or
read the key) is trusted, as is whoever runs the factory.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from devfactory.redact import kept_secret


def load_key(path: Path, value: str | None = None) -> bytes:
    """Return the audit key: ``value`` when given, else the file's, made on first use (0600)."""
    return kept_secret(path, value).encode("utf-8")


@dataclass(frozen=True)
class Anchor:
    """A chain head recorded outside the database: the event count and the last link."""

    seq: int
    hash: str


class Anchors:
    """One append-only file of chain heads per run, under ``folder``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def _file(self, run_id: str) -> Path:
        # the run id is user-chosen text: the file is named by its digest
        return self.folder / f"{hashlib.sha256(run_id.encode()).hexdigest()[:32]}.log"

    def record(self, run_id: str, seq: int, link: str) -> None:
        """Append the head ``(seq, link)`` of ``run_id``'s chain (and flush it to disk)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        line = json.dumps({"run": run_id, "seq": seq, "hash": link}) + "\n"
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW
        fd = os.open(self._file(run_id), flags, 0o600)
        try:
            os.write(fd, line.encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)

    def head(self, run_id: str) -> Anchor | None:
        """Return the furthest head anchored for ``run_id`` (None when none was)."""
        path = self._file(run_id)
        if not path.exists():
            return None
        best: Anchor | None = None
        for line in path.read_text("utf-8").splitlines():
            try:
                item = json.loads(line)
            except ValueError:
                continue  # a line cut by a crash mid-write
            if item.get("run") == run_id and (best is None or item["seq"] > best.seq):
                best = Anchor(int(item["seq"]), str(item["hash"]))
        return best
