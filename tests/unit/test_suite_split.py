"""`make test` runs every test: those decoding with the real model alone, the rest on workers."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# what a test module does when it decodes with the real embedded weights
REAL_MODEL = re.compile(r"embedded_available\(|\"DEVFACTORY_MODEL_CHAIN\": \"embedded\"")


def test_every_module_that_decodes_with_the_real_model_runs_alone() -> None:
    decoding = [
        path
        for path in sorted((ROOT / "tests").rglob("test_*.py"))
        if REAL_MODEL.search(path.read_text())
    ]
    assert decoding, "the demo's e2e test and the real server's tests decode with the model"
    unmarked = [p.relative_to(ROOT) for p in decoding if "pytest.mark.alone" not in p.read_text()]
    assert not unmarked, f"mark them alone (their model slows 3-4x beside busy workers): {unmarked}"


def _recipe() -> str:
    """Return `make test`'s recipe as the shell runs it, `$(BIN)/pytest` left to be named."""
    text = (ROOT / "Makefile").read_text()
    block = re.search(r"^test: .*\n((?:\t.*\n)+)", text, re.M)
    assert block, "the Makefile has a test target"
    lines = [line.removeprefix("\t") for line in block.group(1).splitlines()]
    script = "\n".join(lines).replace("\\\n", " ")
    return script.replace("$(TEST_WORKERS)", "2").replace("$$", "$")


@pytest.mark.parametrize(
    ("rest", "alone", "code"),
    [(0, 0, 0), (1, 0, 1), (0, 1, 1), (2, 0, 2), (1, 5, 1)],
)
def test_make_test_runs_both_halves_and_fails_when_either_fails(
    tmp_path: Path, rest: int, alone: int, code: int
) -> None:
    calls = tmp_path / "calls"
    fake = tmp_path / "pytest"
    fake.write_text(
        "#!/bin/bash\n"
        f'echo "$*" >> {calls}\n'
        f'case "$*" in *"not alone"*) exit {rest};; *alone*) exit {alone};; esac\n'
        "exit 99\n"
    )
    fake.chmod(0o755)
    done = subprocess.run(
        ["bash", "-c", _recipe().replace("$(BIN)/pytest", str(fake))],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == code, done.stderr
    ran = calls.read_text().splitlines()
    assert ran == ["-m not alone -n 2 --dist loadfile", "-m alone"]  # the second half runs anyway
