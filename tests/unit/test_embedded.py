"""Each packaged model's slices are joined in order and refused unless size and checksum match."""

from __future__ import annotations

import dataclasses
import hashlib
import sys
from pathlib import Path

import pytest

from devfactory.models.packaged import (
    CODER,
    PACKAGED,
    SMALL,
    EmbeddedModelError,
    PackagedModel,
    ensure_model_file,
    packaged,
)

PARTS = [b"GGUF-part-one|", b"part-two|", b"part-three"]


@pytest.fixture
def tiny(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> PackagedModel:
    """A packaged model of three slices in three importable packages ``tinyslice_part1..3``."""
    for number, data in enumerate(PARTS, start=1):
        folder = tmp_path / "site" / f"tinyslice_part{number}"
        (folder / "data").mkdir(parents=True)
        (folder / "__init__.py").write_text("")
        (folder / "data" / f"part{number:02d}.bin").write_bytes(data)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    for number in range(1, 4):
        sys.modules.pop(f"tinyslice_part{number}", None)
    whole = b"".join(PARTS)
    return PackagedModel(
        name="tiny",
        title="Tiny",
        size=len(whole),
        sha256=hashlib.sha256(whole).hexdigest(),
        module="tinyslice_part",
        slice_sizes=tuple(len(p) for p in PARTS),
        repeat_penalty=1.0,
    )


def test_slices_are_joined_in_order_and_verified(tmp_path: Path, tiny: PackagedModel) -> None:
    path = ensure_model_file(tmp_path / "data", tiny)
    assert path == tmp_path / "data" / "models" / "tiny.gguf"
    assert path.read_bytes() == b"".join(PARTS)
    assert ensure_model_file(tmp_path / "data", tiny) == path  # second call reuses the file
    assert not list(path.parent.glob("*.partial.*"))


def test_a_tampered_file_is_refused_and_deleted(tmp_path: Path, tiny: PackagedModel) -> None:
    path = ensure_model_file(tmp_path / "data", tiny)
    path.write_bytes(path.read_bytes().replace(b"two", b"TWO"))  # same size, other bytes
    with pytest.raises(EmbeddedModelError, match="SHA-256 .* deleted, not loaded"):
        ensure_model_file(tmp_path / "data", tiny)
    assert not path.exists()


def test_a_missing_or_short_slice_is_named_by_its_package_and_nothing_is_written(
    tmp_path: Path, tiny: PackagedModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    short = tmp_path / "site" / "tinyslice_part2" / "data" / "part02.bin"
    short.write_bytes(b"part")
    with pytest.raises(EmbeddedModelError, match="tinyslice-part2's part02.bin has 4 bytes"):
        ensure_model_file(tmp_path / "data", tiny)
    assert not (tmp_path / "data" / "models").exists() or not any(
        (tmp_path / "data" / "models").iterdir()
    )
    gone = dataclasses.replace(tiny, module="notinstalled_part")
    with pytest.raises(EmbeddedModelError, match="notinstalled-part1 is not installed"):
        ensure_model_file(tmp_path / "data", gone)


def test_a_corrupt_slice_of_the_right_size_is_refused_whole(
    tmp_path: Path, tiny: PackagedModel
) -> None:
    (tmp_path / "site" / "tinyslice_part3" / "data" / "part03.bin").write_bytes(b"PART-THREE")
    with pytest.raises(EmbeddedModelError, match="reinstall its packages tinyslice-part1"):
        ensure_model_file(tmp_path / "data", tiny)
    assert not (tmp_path / "data" / "models" / "tiny.gguf").exists()


def test_an_unknown_model_name_is_refused_with_the_known_ones() -> None:
    with pytest.raises(EmbeddedModelError, match="known: qwen2.5-coder-0.5b"):
        packaged("qwen2.5-coder-7b")
    assert packaged(CODER.name) is CODER and set(PACKAGED) == {SMALL.name, CODER.name}


@pytest.mark.parametrize("model", [SMALL, CODER], ids=["0.5B", "1.5B"])
def test_every_packaged_slice_is_installed_whole(model: PackagedModel) -> None:
    paths = model.slice_paths()
    assert len(paths) == len(model.slice_sizes)
    assert sum(p.stat().st_size for p in paths) == model.size
