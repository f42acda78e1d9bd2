"""Real runs of the embedded model, replayed: the same prompts, the same files, the same end.

``tests/data/recorded_run/<case>/`` holds a run of a dev case of the evaluation
(``tests/recorded/case.py``) made with the embedded llama.cpp model by
``python -m tests.recorded.record <case>`` at the commit its ``meta.json`` names: every
model call's prompt and reply, what the tokenizer counted, the files the run
wrote and how it ended. Here the same case runs through the same pipeline (real
Postgres, the real sandbox) with a model that answers the n-th call with the
n-th recorded reply. Code that behaves as the recorded code did sends the same
prompts in the same order, writes the same files and ends the same way; only
what ``normalise`` (``tests/recorded/tape.py``) replaces may differ. A recording
whose tests failed inside Python's own modules quotes that interpreter's paths and
line numbers: it is replayed only with the same interpreter (skipped elsewhere,
saying why).
"""

from __future__ import annotations

import pytest

from devfactory.settings import Settings
from tests.recorded.case import (
    CASES,
    case_settings,
    outcome_of,
    replayable_here,
    run_case,
    scratch,
    settings_difference,
)
from tests.recorded.models import ReplayModels
from tests.recorded.tape import (
    RECORDING,
    Places,
    artifact_differences,
    load,
    normalised,
    prompt_difference,
    prompts,
    read_artifacts,
    schema_difference,
)


@pytest.mark.parametrize("case_id", CASES)
def test_a_recorded_run_replays_with_the_same_prompts_files_and_status(
    case_id: str, pg_settings: Settings
) -> None:
    recording = load(RECORDING / case_id)
    if why := replayable_here(recording):
        pytest.skip(why)
    with scratch() as folder:  # laid out as the recorded run was (case.scratch says why)
        settings = case_settings(pg_settings).with_overrides(data_dir=folder / "data")
        changed = settings_difference(recording.meta["settings"], settings)
        assert not changed, f"the replay's settings differ from the recording's: {changed}"
        out = folder / "out"
        models = ReplayModels(settings, recording, out)

        report = run_case(case_id, settings, models, out)

        here = Places(out, settings.storage.data_dir)
        sent = models.player.in_recorded_order()
        found = prompt_difference(prompts(recording.calls, recording.places), prompts(sent, here))
        assert not found, found + schema_difference(recording, sent, models.player.tape.schemas)
        assert not models.player.misses, f"counted texts never counted: {models.player.misses}"
        files = artifact_differences(
            normalised(recording.artifacts, recording.places), normalised(read_artifacts(out), here)
        )
        assert not files, files
        ended = outcome_of(report).normalised(here)
        assert ended == recording.outcome.normalised(recording.places)
