"""A new run's intake: its folder under the data directory, and its typed request."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from devfactory.control.budget import Caps
from devfactory.factory.intake import RunRequest, StartRequest, new_run
from devfactory.settings import Settings


def made(settings: Settings, out_dir: Path | None = None) -> Path:
    asked = StartRequest(
        "A command-line tool that counts words",
        out_dir=out_dir,
        run_id="20260101-000000-abcdef",
        owner="ann",
    )
    new = new_run(settings, asked)
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
    assert settings.storage.runs_dir == tmp_path / "shared" / "runs"  # made absolute once, here
    assert made(settings) == tmp_path / "shared" / "runs" / "20260101-000000-abcdef"
    assert made(settings, tmp_path / "mine") == tmp_path / "mine"


def test_runs_dir_is_read_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEVFACTORY_RUNS_DIR", str(tmp_path / "volume" / "runs"))
    settings = Settings(data_dir=tmp_path / "data")
    assert settings.storage.run_folder("r-1") == tmp_path / "volume" / "runs" / "r-1"


def test_a_new_run_s_request_is_typed_and_reads_back_from_its_queued_json(
    tmp_path: Path,
) -> None:
    settings = Settings(data_dir=tmp_path / "data", budget_run_tokens=50_000)
    asked = StartRequest(
        "A command-line tool that counts words",
        caps=Caps(cost_usd=2.5),
        run_id="20260101-000000-abcdef",
        unattended=True,
        owner="ann",
    )
    new = new_run(settings, asked)
    request = new.request
    assert request.budget["run"] == Caps(tokens=50_000, cost_usd=2.5, seconds=None)
    assert new.created.budget["run"] == request.budget["run"].model_dump()  # the audit's JSON
    queued = json.loads(json.dumps(request.model_dump(mode="json")))  # as the inbox keeps it
    assert RunRequest.model_validate(queued) == request
    first = request.first_input()
    assert first["budget"] == request.budget and first["unattended"] is True
    assert (first["owner"], first["project"], "repository" in first) == ("ann", "default", False)


def test_a_request_an_earlier_version_queued_still_reads() -> None:
    earlier = {
        "run_id": "r-1",
        "requirement": "A command-line tool that counts words",
        "pipeline": "mvp",
        "project": "default",
        "budget": {
            "run": {"tokens": 1000, "cost_usd": None, "seconds": None},
            "project": {"tokens": None, "cost_usd": None, "seconds": None},
        },
        "phase": "DRAFT",  # kept by earlier versions, and never read by the graph
        "unattended": False,
        "owner": "ann",
    }
    request = RunRequest.model_validate(earlier)
    assert request.budget == {"run": Caps(tokens=1000), "project": Caps()}
    with pytest.raises(ValidationError, match="budget.run.tokens"):
        RunRequest.model_validate({**earlier, "budget": {"run": {"tokens": "lots"}}})
