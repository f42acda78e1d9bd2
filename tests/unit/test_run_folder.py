"""A run's folder lives under the data directory, wherever the process that made it runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from devfactory.factory.intake import new_run
from devfactory.settings import Settings


def made(settings: Settings, out_dir: Path | None = None) -> Path:
    new = new_run(
        settings,
        "A command-line tool that counts words",
        pipeline="mvp",
        project="default",
        caps=None,
        out_dir=out_dir,
        run_id="20260101-000000-abcdef",
        unattended=None,
        owner="ann",
    )
    return new.out


def test_a_run_given_no_folder_gets_one_under_the_data_dir_not_the_working_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    folder = made(Settings(data_dir=tmp_path / "data"))
    assert folder == tmp_path / "data" / "runs" / "20260101-000000-abcdef"
    assert folder.is_dir()
    assert list((tmp_path / "elsewhere").iterdir()) == []


def test_runs_dir_moves_them_and_a_run_s_own_folder_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    settings = Settings(data_dir=tmp_path / "data", runs_dir=Path("shared/runs"))
    assert settings.runs_dir == tmp_path / "shared" / "runs"  # made absolute once, here
    assert made(settings) == tmp_path / "shared" / "runs" / "20260101-000000-abcdef"
    assert made(settings, tmp_path / "mine") == tmp_path / "mine"


def test_runs_dir_is_read_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEVFACTORY_RUNS_DIR", str(tmp_path / "volume" / "runs"))
    settings = Settings(data_dir=tmp_path / "data")
    assert settings.run_folder("r-1") == tmp_path / "volume" / "runs" / "r-1"
