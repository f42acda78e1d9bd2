"""The embedded model's weights are joined in order and refused unless the checksum matches."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from devfactory.models import embedded
from devfactory.models.embedded import EmbeddedModelError, ensure_model_file


@pytest.fixture
def slices(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> bytes:
    parts = [b"GGUF-part-one|", b"part-two|", b"part-three"]
    paths = []
    for i, data in enumerate(parts):
        path = tmp_path / f"part{i}.bin"
        path.write_bytes(data)
        paths.append(path)
    whole = b"".join(parts)
    monkeypatch.setattr(embedded, "_slice_paths", lambda: paths)
    monkeypatch.setattr(embedded, "MODEL_SIZE", len(whole))
    monkeypatch.setattr(embedded, "MODEL_SHA256", hashlib.sha256(whole).hexdigest())
    return whole


def test_slices_are_joined_in_order_and_verified(tmp_path: Path, slices: bytes) -> None:
    path = ensure_model_file(tmp_path / "data")
    assert path.read_bytes() == slices
    assert ensure_model_file(tmp_path / "data") == path  # second call reuses the file


def test_a_tampered_file_is_refused_and_deleted(tmp_path: Path, slices: bytes) -> None:
    path = ensure_model_file(tmp_path / "data")
    path.write_bytes(slices.replace(b"two", b"TWO"))  # same size, different bytes
    with pytest.raises(EmbeddedModelError, match="checksum mismatch"):
        ensure_model_file(tmp_path / "data")
    assert not path.exists()


def test_the_packaged_slices_are_installed() -> None:
    paths = embedded._slice_paths()
    assert len(paths) == 6
    assert sum(p.stat().st_size for p in paths) == embedded.MODEL_SIZE
