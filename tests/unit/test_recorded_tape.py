"""The recorded-run harness: its comparison catches a change, and its models record and replay.

``tests/integration/test_recorded_run.py`` trusts these pieces: a changed prompt,
a missing or extra call, a changed file are reported with a diff; ``normalise``
replaces only what differs between two runs of the same replies; the replaying
model answers in order and keeps what the factory sent, options included.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from langchain_core.outputs import ChatGeneration, ChatResult

from devfactory.models.server_chat import schema_grammar
from devfactory.settings import Settings
from tests.recorded.case import CASES, interpreter, replayable_here, the_case
from tests.recorded.models import RecordingChatModel, ReplayError, ReplayModels
from tests.recorded.tape import (
    RECORDING,
    Call,
    Outcome,
    Places,
    Recording,
    Reply,
    Sent,
    Tape,
    artifact_differences,
    load,
    normalise,
    prompt_difference,
    prompts,
    save,
    schema_difference,
    schema_key,
    sha256,
)

PLACES = Places(Path("/tmp/run-a/out"), Path("/tmp/run-a/data"), Path("/work/a"), Path("/tmp"))
OTHER = Places(Path("/tmp/run-b/out"), Path("/tmp/run-b/data"), Path("/work/b"), Path("/tmp"))
SCHEMA = {"type": "object", "properties": {"status": {"enum": ["COMPLETE", "BLOCKED"]}}}


def _call(task: str, content: str = "ok", **options: Any) -> Call:
    sent = Sent(
        messages=(("system", "You are the Backend Engineering team."), ("human", task)),
        options={"temperature": 0.2, "seed": 0, "schema": None, **options},
    )
    return Call(team="backend-engineering", sent=sent, reply=Reply(content=content))


def _recording(*calls: Call, tokens: dict[str, int] | None = None) -> Recording:
    meta = {
        "labels": {"factory/coder": "embedded:qwen"},
        **{k: str(v) for k, v in vars(PLACES).items()},
    }
    return Recording(
        calls=list(calls),
        tokens=tokens or {},
        schemas={schema_key(SCHEMA): SCHEMA},
        artifacts={},
        outcome=Outcome(status="COMPLETED", reason="", stages=[]),
        meta=meta,
    )


def test_a_changed_prompt_is_reported_with_a_diff_of_the_first_difference() -> None:
    recorded = [_call("Write the plan."), _call("Write `slugify`.\nKeep it short.")]
    replayed = [_call("Write the plan."), _call("Write `slugify`.\nKeep it brief.")]

    found = prompt_difference(prompts(recorded, PLACES), prompts(replayed, PLACES))

    assert found.startswith("call 1 was sent another prompt:")
    assert "-Keep it short." in found and "+Keep it brief." in found
    assert "Write the plan." not in found  # call 0 is the same
    assert prompt_difference(prompts(recorded, PLACES), prompts(recorded, OTHER)) == ""


def test_changed_options_are_a_changed_prompt() -> None:
    found = prompt_difference(
        prompts([_call("Write it.", temperature=0.2)], PLACES),
        prompts([_call("Write it.", temperature=0.9)], PLACES),
    )
    assert "-### options:" in found and "temperature=0.9" in found


def test_a_missing_or_an_extra_call_is_reported() -> None:
    two = prompts([_call("Plan."), _call("Build.")], PLACES)
    one = prompts([_call("Plan.")], PLACES)

    assert prompt_difference(two, one).startswith("the recorded run made 2 calls, the replay 1")
    assert "Build." in prompt_difference(two, one)
    assert "the replayed run's call 1" in prompt_difference(one, two)


def test_a_changed_schema_is_shown_as_a_diff_of_the_schemas() -> None:
    other = {**SCHEMA, "required": ["status"]}
    recording = _recording(_call("Report.", schema=schema_key(SCHEMA)))
    sent = [_call("Report.", schema=schema_key(other))]

    found = schema_difference(recording, sent, {schema_key(other): other})

    assert found.startswith("call 0 was constrained to another schema")
    assert '+ "required": [' in found
    assert schema_difference(recording, recording.calls, recording.schemas) == ""


def test_changed_missing_and_extra_files_are_reported() -> None:
    recorded = {"textslug.py": "def slugify():\n    return 1\n", "README.md": "# x\n"}
    replayed = {"textslug.py": "def slugify():\n    return 2\n", "notes.md": "n\n"}

    found = artifact_differences(recorded, replayed)

    assert "README.md: written by the recorded run only" in found
    assert "notes.md: written by the replay only" in found
    assert "-    return 1" in found and "+    return 2" in found
    assert artifact_differences(recorded, dict(recorded)) == ""


def test_normalise_replaces_the_places_temporary_directories_and_wall_times() -> None:
    text = (
        "cd /tmp/run-a/out && pytest --junitxml=/tmp/run-a/data/sandbox/runs/run-7e0ip_8j/j.xml\n"
        "python -I /work/a/devfactory/sandbox/drivers/imports.py /tmp/devfactory-ws-chmfpm41 x\n"
        "tests: exit 0; 3 passed in 12.5 s\n"
        "    mod = import_path(\n../recorded-run-cnh53s (stopped)\n"
        "(spent 29,091 tokens, $0.0000, 527.7s of model time)\n"
        '{"seconds": 1.569, "confidence": 0.95, "passed": 3}\n'
        "\n| Stage | Confidence | Seconds |\n|---|---|---|\n| qa | 0.95 | 1.6 |\n"
    )

    assert normalise(text, PLACES) == (
        "cd <out> && pytest --junitxml=<data>/sandbox/runs/run-<tmp>/j.xml\n"
        "python -I <repo>/devfactory/sandbox/drivers/imports.py <temp>/devfactory-ws-<tmp> x\n"
        "tests: exit 0; 3 passed in <s> s\n"
        "    mod = import_path(\n../recorded-run-<tmp> (stopped)\n"
        "(spent 29,091 tokens, $0.0000, <s>s of model time)\n"
        '{"seconds": <s>, "confidence": 0.95, "passed": 3}\n'
        "\n| Stage | Confidence | Seconds |\n|---|---|---|\n| qa | 0.95 | <s> |\n"
    )


def test_normalise_keeps_what_a_change_could_alter() -> None:
    kept = (
        "slugify(text, max_length=80) -> str\n3 passed, 1 failed\nrun 2 of 3 took 4 tries\n"
        "../lib/python3.11/site-packages/_pytest/python.py:528: in importtestmodule\n"
        '{"confidence": 0.95, "input_tokens": 812}\n'
        "| Team | Tokens in | Cost USD |\n|---|---|---|\n| qa | 812 | 0.0010 |\n"
    )
    assert normalise(kept, OTHER) == kept


def test_the_replaying_model_answers_in_order_and_keeps_what_it_was_sent(
    settings: Settings,
) -> None:
    recording = _recording(_call("a", "first"), _call("b", "second"), _call("c", '{"x": 1}'))
    models = ReplayModels(settings, recording, OTHER.out_dir)
    resolved = models.resolve("factory/coder")
    ask = [SystemMessage("You are the QA Engineering team."), HumanMessage("Write the tests.")]

    assert resolved.label == "embedded:qwen"
    assert resolved.plain().invoke(ask).content == "first"
    assert resolved.sampled(0.7, 3).invoke(ask).content == "second"
    assert resolved.structured(SCHEMA).invoke(ask).content == '{"x": 1}'
    with pytest.raises(ReplayError):
        resolved.plain().invoke(ask)

    sent = models.player.tape.calls
    assert [c.team for c in sent] == ["qa-engineering"] * 4
    assert sent[0].sent.messages == (
        ("system", "You are the QA Engineering team."),
        ("human", "Write the tests."),
    )
    options = [(c.sent.options["temperature"], c.sent.options["seed"]) for c in sent]
    assert options[:2] == [(settings.generation.temperature, 0), (0.7, 3)]
    assert [c.sent.options["schema"] for c in sent[1:3]] == [None, schema_key(SCHEMA)]
    assert sent[0].sent.options["max_tokens"] == settings.generation.stage_max_tokens


def test_a_recorded_error_is_raised_again(settings: Settings) -> None:
    failed = _call("a")
    failed.reply = Reply(error_type="builtins:TimeoutError", error="late")
    chat = (
        ReplayModels(settings, _recording(failed), OTHER.out_dir).resolve("factory/coder").plain()
    )

    with pytest.raises(TimeoutError, match="late"):
        chat.invoke([HumanMessage("a")])


def test_token_counts_are_the_recorded_ones_and_a_text_never_counted_is_noted(
    settings: Settings,
) -> None:
    places = Places(OTHER.out_dir, settings.storage.data_dir)
    counted = {sha256("tests: 3 passed in <s> s, in <out>"): 7}
    models = ReplayModels(settings, _recording(tokens=counted), places.out_dir)
    chat = models.resolve("factory/coder").chat

    # the same text as the recorded one but for a wall time and the run's folder
    assert chat.count_tokens(f"tests: 3 passed in 0.2 s, in {places.out_dir}") == 7  # type: ignore[attr-defined]
    assert models.player.misses == []
    chat.count_tokens("a text of 40 characters, or about that..")  # type: ignore[attr-defined]
    assert models.player.misses == ["a text of 40 characters, or about that.."]


class FakeServed(BaseChatModel):
    """The served model's stand-in: it says how many messages it got and what it was sent."""

    temperature: float = 0.0
    seed: int = 0
    max_completion_tokens: int = 1
    repeat_penalty: float = 1.0
    sent: list[dict[str, Any]] = []

    @property
    def _llm_type(self) -> str:
        return "fake-served"

    def _generate(
        self, messages: Any, stop: Any = None, run_manager: Any = None, **kw: Any
    ) -> ChatResult:
        self.sent.append({**kw, "temperature": self.temperature, "seed": self.seed})
        message = AIMessage(
            f"seen {len(messages)}",
            usage_metadata={"input_tokens": 9, "output_tokens": 2, "total_tokens": 11},
            response_metadata={"model_name": "embedded:qwen", "finish_reason": "stop"},
        )
        return ChatResult(generations=[ChatGeneration(message=message)])

    def count_tokens(self, text: str) -> int:
        return len(text) // 3


def test_a_recording_saved_and_loaded_replays_to_the_same_prompts(
    settings: Settings, tmp_path: Path
) -> None:
    tape, served = Tape(), FakeServed(sent=[])
    recorder = RecordingChatModel(
        max_tokens=settings.generation.stage_max_tokens,
        temperature=settings.generation.temperature,
        served=served,
        tape=tape,
    )
    ask = [SystemMessage("You are the governance board."), HumanMessage("Rate it.")]
    assert recorder.bind(json_schema=SCHEMA).invoke(ask).content == "seen 2"
    [asked] = served.sent  # the schema goes to the server as the product sends it
    assert asked["extra_body"]["grammar"] == schema_grammar(SCHEMA, "sorted")
    assert asked["temperature"] == settings.generation.temperature
    assert recorder.count_tokens("twelve chars") == 4
    save(
        tmp_path / "rec",
        tape,
        {"a.py": "x = 1\n"},
        Outcome(status="FAILED", reason="r", stages=[("qa-engineering", "BLOCKED")]),
        {"labels": {"factory/coder": "embedded:qwen"}},
        PLACES,
    )

    recording = load(tmp_path / "rec")
    assert recording.places == PLACES
    assert recording.calls[0].team == "governance"
    assert recording.calls[0].reply.usage == {
        "input_tokens": 9,
        "output_tokens": 2,
        "total_tokens": 11,
    }
    assert recording.artifacts == {"a.py": "x = 1\n"}
    models = ReplayModels(settings, recording, OTHER.out_dir)
    replayed = models.resolve("factory/coder").structured(SCHEMA).invoke(ask)
    assert replayed.content == "seen 2"
    assert replayed.usage_metadata == {"input_tokens": 9, "output_tokens": 2, "total_tokens": 11}
    assert replayed.response_metadata["finish_reason"] == "stop"
    assert models.resolve("factory/coder").chat.count_tokens("twelve chars") == 4  # type: ignore[attr-defined]
    sent = models.player.tape.calls
    assert prompt_difference(prompts(recording.calls, PLACES), prompts(sent, OTHER)) == ""


@pytest.mark.parametrize("case_id", CASES)
def test_a_committed_recording_is_a_small_dev_case_run_and_a_changed_prompt_in_it_is_caught(
    case_id: str,
) -> None:
    recording = load(RECORDING / case_id)
    assert recording.meta["case"] == case_id and the_case(case_id).split == "dev"
    assert len(recording.calls) == recording.meta["calls"] > 0
    assert sum(f.stat().st_size for f in (RECORDING / case_id).iterdir()) < 1_000_000
    recorded = prompts(recording.calls, recording.places)
    assert prompt_difference(recorded, list(recorded)) == ""

    n = len(recorded) // 2
    changed = [*recorded[:n], recorded[n].replace("\n", "\n\n", 1), *recorded[n + 1 :]]

    assert prompt_difference(recorded, changed).startswith(f"call {n} was sent another prompt")
    assert prompt_difference(recorded, recorded[:-1]).startswith(
        f"the recorded run made {len(recorded)} calls, the replay {len(recorded) - 1}"
    )


def test_a_recording_quoting_another_interpreter_is_not_replayed_here() -> None:
    elsewhere = {"python": "3.11.2", "prefix": "/opt/python-elsewhere"}
    quoting = _call("Fix it:\n/opt/python-elsewhere/lib/python3.11/ast.py:50: in parse")
    plain = _recording(_call("Write `slugify`."))
    plain.meta["interpreter"] = elsewhere
    quoted = _recording(quoting)
    quoted.meta["interpreter"] = elsewhere
    same = _recording(quoting)
    same.meta["interpreter"] = interpreter()

    assert replayable_here(plain) == ""  # nothing it sent names the interpreter
    assert replayable_here(same) == ""
    assert "recorded with Python 3.11.2 at /opt/python-elsewhere" in replayable_here(quoted)


def test_calls_drawn_at_once_are_each_answered_by_their_own_prompt_in_any_order(
    settings: Settings, tmp_path: Path
) -> None:
    # candidates drawn at once on a model with several slots were recorded as they ended
    tape = Tape()
    ask = [SystemMessage("You are the Backend Engineering team."), HumanMessage("Write it.")]
    for seed in (2, 1):
        RecordingChatModel(
            max_tokens=settings.generation.stage_max_tokens,
            temperature=0.9,
            seed=seed,
            repeat_penalty=1.0,  # the 1.5B's (the 0.5B samples with 1.1)
            served=FakeServed(sent=[]),
            tape=tape,
        ).invoke(ask)
    tape.calls = [
        call.model_copy(update={"reply": Reply(content=f"body {call.sent.options['seed']}")})
        for call in tape.calls
    ]
    labels = {"factory/coder": "embedded:qwen2.5-coder-1.5b-instruct-q4_k_m"}
    outcome = Outcome(status="FAILED", reason="r", stages=[])
    save(tmp_path / "rec", tape, {}, outcome, {"labels": labels}, PLACES)
    recording = load(tmp_path / "rec")

    models = ReplayModels(settings, recording, OTHER.out_dir)
    coder = models.resolve("factory/coder")
    assert coder.sampled(0.9, 1).invoke(ask).content == "body 1"  # not the first recorded's
    assert coder.sampled(0.9, 2).invoke(ask).content == "body 2"
    replayed = models.player.in_recorded_order()
    assert [c.sent.options["seed"] for c in replayed] == [2, 1]
    assert prompt_difference(prompts(recording.calls, PLACES), prompts(replayed, OTHER)) == ""
    assert replayed[0].sent.options["repeat_penalty"] == 1.0  # the 1.5B's own
    with pytest.raises(ReplayError):
        coder.sampled(0.9, 3).invoke(ask)  # a third call: the recorded run made two
