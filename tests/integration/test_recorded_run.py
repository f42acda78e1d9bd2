"""A real run of the embedded model, replayed: the same prompts, the same files, the same end.

``tests/data/recorded_run/`` holds a run of a dev case of the evaluation
(``tests/recorded/case.py``) made with the embedded llama.cpp model by
``python -m tests.recorded.record`` at the commit its ``meta.json`` names: every
model call's prompt and reply, what the tokenizer counted, the files the run
wrote and how it ended. Here the same case runs through the same pipeline (real
Postgres, the real sandbox) with a model that answers the n-th call with the
n-th recorded reply. Code that behaves as the recorded code did sends the same
prompts in the same order, writes the same files and ends the same way; only
what ``normalise`` (``tests/recorded/tape.py``) replaces may differ.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from devfactory.settings import Settings
from tests.recorded.case import case_settings, outcome_of, run_case, settings_difference
from tests.recorded.models import ReplayModels
from tests.recorded.tape import (
    Places,
    artifact_differences,
    load,
    normalised,
    prompt_difference,
    prompts,
    read_artifacts,
    schema_difference,
)


@pytest.fixture
def settings(pg_settings: Settings) -> Settings:
    return case_settings(pg_settings)


def test_the_recorded_run_replays_with_the_same_prompts_files_and_status(
    settings: Settings, tmp_path: Path
) -> None:
    recording = load()
    changed = settings_difference(recording.meta["settings"], settings)
    assert not changed, f"the replay's settings differ from the recording's: {changed}"
    out = tmp_path / "out"
    models = ReplayModels(settings, recording, out)

    report = run_case(settings, models, out)

    here = Places(out, settings.data_dir)
    sent = models.player.tape.calls
    difference = prompt_difference(prompts(recording.calls, recording.places), prompts(sent, here))
    assert not difference, difference + schema_difference(
        recording, sent, models.player.tape.schemas
    )
    assert not models.player.misses, (
        f"counted texts the recorded run never counted: {models.player.misses}"
    )
    files = artifact_differences(
        normalised(recording.artifacts, recording.places), normalised(read_artifacts(out), here)
    )
    assert not files, files
    assert outcome_of(report).normalised(here) == recording.outcome.normalised(recording.places)
