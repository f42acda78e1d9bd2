"""What a recorded run keeps, how it is stored, and how a replay is held to it.

A recording is a folder:

- ``calls.jsonl``: one model call a line, in call order: who called (the team, when
  the system prompt names one), what was sent (the messages and the decoding
  options) and the reply (its text, token usage and metadata, or the error raised);
- ``schemas.json``: the JSON schemas the calls constrained decoding to, by SHA-256
  (a call names its schema by that hash);
- ``tokens.json``: what the model's tokenizer counted, by the SHA-256 of the text
  counted, normalised (context packing asks the serving model; a replay must answer
  the same; a text holds wall times and places as a prompt does);
- ``artifacts.json``: every file the run wrote in its folder (``.git`` apart), by path;
- ``outcome.json``: the run's final status, its reason and each stage's outcome;
- ``meta.json``: how it was recorded (case, pipeline, commit, settings, time taken).

Everything is stored as the run saw it, with the run's temporary places in
``meta.json``; whatever is compared goes through ``normalise`` first, and only there.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
import tempfile
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

ROOT = Path(__file__).resolve().parents[2]  # the checkout the factory's code runs from
RECORDING = ROOT / "tests" / "data" / "recorded_run"  # a folder per case
RUN_ID = "20260101-000000-record"  # both runs take this id, so no id needs normalising


def sha256(text: str) -> str:
    """Return the hex SHA-256 of ``text`` (UTF-8)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def schema_key(schema: Any) -> str:
    """Return the key a JSON schema is stored under: the hash of its canonical JSON."""
    return sha256(json.dumps(schema, sort_keys=True))


class Sent(BaseModel):
    """What the factory sent the model in one call."""

    model_config = ConfigDict(frozen=True)

    messages: tuple[tuple[str, str], ...] = Field(description="(role, text) in order.")
    options: dict[str, Any] = Field(
        default_factory=dict,
        description="Decoding options: temperature, seed, max_tokens, repeat_penalty, stop "
        "and schema (the SHA-256 of the JSON schema decoding was constrained to, or None).",
    )


class Reply(BaseModel):
    """What the model answered one call (or the error the call raised)."""

    content: str = ""
    usage: dict[str, int] = Field(default_factory=dict)
    metadata: dict[str, Any] = Field(default_factory=dict)
    error_type: str = Field(default="", description="``module:Class`` of the error raised.")
    error: str = ""


class Call(BaseModel):
    """One model call of a run."""

    team: str = Field(description="The team whose system prompt it was ('' when none).")
    sent: Sent
    reply: Reply


class Outcome(BaseModel):
    """How the run ended."""

    status: str
    reason: str
    stages: list[tuple[str, str]] = Field(description="(team, outcome) in the run's order.")

    def normalised(self, places: Places) -> Outcome:
        """Return this outcome with its reason normalised."""
        return self.model_copy(update={"reason": normalise(self.reason, places)})


@dataclass
class Tape:
    """The calls of one run as they happen, and what the tokenizer counted meanwhile.

    Shared by every copy of a recording or replaying model (the factory copies a
    chat model to sample it at another temperature), so it is guarded by a lock.
    """

    calls: list[Call] = field(default_factory=list)
    tokens: dict[str, int] = field(default_factory=dict)  # by the text counted
    schemas: dict[str, Any] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)


@dataclass(frozen=True)
class Recording:
    """A recorded run, as ``load`` reads it."""

    calls: list[Call]
    tokens: dict[str, int]
    schemas: dict[str, Any]
    artifacts: dict[str, str]
    outcome: Outcome
    meta: dict[str, Any]

    @property
    def places(self) -> Places:
        """Where the recorded run lived."""
        meta = self.meta
        return Places(*(Path(meta[k]) for k in ("out_dir", "data_dir", "repo", "temp")))


@dataclass(frozen=True)
class Places:
    """Where one run lived: the paths that differ from one run to the next."""

    out_dir: Path
    data_dir: Path
    repo: Path = ROOT
    temp: Path = Path(tempfile.gettempdir())


# what the factory (and ``case.scratch``) names the directories it makes with mkdtemp
TEMP_PREFIXES = ("devfactory-ws-", "devfactory-base-", "devfactory-probe-", "devfactory-build-",
                 "run-", "recorded-run-")  # fmt: skip
_TEMP_DIR = re.compile(
    rf"(?<=/)({'|'.join(map(re.escape, TEMP_PREFIXES))})[a-z0-9_]{{8}}(?![a-z0-9_])"
)
# the scratch directory's name where the factory cut a long text in the middle of it
_CUT_SCRATCH = re.compile(r"(?<=/)(recorded-run-)[a-z0-9_]{1,7}(?![a-z0-9_])")
_IN_SECONDS = re.compile(r"\bin \d+(?:\.\d+)? s\b")
_MODEL_TIME = re.compile(r"\b\d+(?:\.\d+)?s of model time\b")
_JSON_SECONDS = re.compile(r'("seconds": )\d+(?:\.\d+)?')


def _timed_columns(text: str) -> str:
    """Replace the cells of markdown table columns headed "... seconds" with ``<s>``."""
    lines, timed = text.split("\n"), set[int]()
    for n, line in enumerate(lines):
        if not line.startswith("|"):
            timed = set()
            continue
        cells = line.split("|")
        heads = {i for i, c in enumerate(cells) if c.strip().lower().endswith("seconds")}
        if heads:
            timed = heads
        elif timed and not set(line) <= set("|-: "):
            lines[n] = "|".join(" <s> " if i in timed else c for i, c in enumerate(cells))
    return "\n".join(lines)


def normalise(text: str, places: Places) -> str:
    """Return ``text`` with what differs between two runs given the same replies replaced.

    Only these differ, and only these are replaced:

    - the run's folder, its data directory, the checkout the code runs from and the
      system's temporary directory: ``<out>``, ``<data>``, ``<repo>``, ``<temp>``;
    - the random part of a directory made by ``tempfile.mkdtemp`` (a path segment of
      one of ``TEMP_PREFIXES`` and eight characters of ``[a-z0-9_]``, or fewer for
      the runs' own ``recorded-run-`` directory where a text was cut inside its name):
      ``prefix-<tmp>``;
    - wall times: "in 0.3 s" in a check's summary, "527.7s of model time" in a
      stopped run's reason, a ``"seconds"`` value in a run file, and the cells of a
      markdown table's "Seconds" or "Model seconds" column: ``<s>``.

    The run id needs nothing: both runs are started with ``RUN_ID``.
    """
    for path, name in (
        (places.out_dir, "<out>"),
        (places.data_dir, "<data>"),
        (places.repo, "<repo>"),
        (places.temp, "<temp>/"),  # only as a parent: "/tmp" is a short string
    ):
        for spelling in sorted({str(path), str(path.resolve())}, key=len, reverse=True):
            text = text.replace(spelling + "/" if name == "<temp>/" else spelling, name)
    text = _TEMP_DIR.sub(r"\1<tmp>", text)
    text = _CUT_SCRATCH.sub(r"\1<tmp>", text)
    text = _IN_SECONDS.sub("in <s> s", text)
    text = _MODEL_TIME.sub("<s>s of model time", text)
    text = _JSON_SECONDS.sub(r"\1<s>", text)
    return _timed_columns(text)


def render(sent: Sent) -> str:
    """Render what one call sent as text: its options, then each message under its role."""
    options = " ".join(f"{k}={sent.options[k]!r}" for k in sorted(sent.options))
    parts = [f"### options: {options}"]
    parts += [f"### {role}\n{text}" for role, text in sent.messages]
    return "\n".join(parts) + "\n"


def _diff(recorded: str, replayed: str, what: str) -> str:
    lines = difflib.unified_diff(
        recorded.splitlines(keepends=True),
        replayed.splitlines(keepends=True),
        fromfile=f"recorded {what}",
        tofile=f"replayed {what}",
    )
    return "".join(lines)


def prompt_difference(recorded: list[str], replayed: list[str]) -> str:
    """Say where two runs' prompts (each ``render``ed and normalised) first differ ("" if not).

    The message names the call and holds a unified diff of its two prompts, or
    says which run made calls the other did not.
    """
    for n, (before, after) in enumerate(zip(recorded, replayed, strict=False)):
        if before != after:
            return f"call {n} was sent another prompt:\n" + _diff(before, after, f"call {n}")
    if len(recorded) != len(replayed):
        more = "recorded" if len(recorded) > len(replayed) else "replayed"
        longer = recorded if more == "recorded" else replayed
        n = min(len(recorded), len(replayed))
        return (
            f"the recorded run made {len(recorded)} calls, the replay {len(replayed)}; "
            f"the {more} run's call {n} was:\n{longer[n]}"
        )
    return ""


def schema_difference(
    recorded: Recording, replayed: list[Call], replayed_schemas: Mapping[str, Any]
) -> str:
    """Show the first call whose JSON schema changed, as a diff of the two schemas ("" if none).

    A call names its schema by hash, so a prompt's diff shows only that the hash changed.
    """
    for n, (before, after) in enumerate(zip(recorded.calls, replayed, strict=False)):
        old, new = before.sent.options.get("schema"), after.sent.options.get("schema")
        if old != new:
            before_text, after_text = (
                json.dumps(schemas.get(key) if key else None, indent=1, sort_keys=True) + "\n"
                for key, schemas in ((old, recorded.schemas), (new, replayed_schemas))
            )
            diff = _diff(before_text, after_text, "schema")
            return f"call {n} was constrained to another schema:\n{diff}"
    return ""


def artifact_differences(recorded: Mapping[str, str], replayed: Mapping[str, str]) -> str:
    """Say how two runs' files differ: missing, extra, and a diff of each changed one."""
    out = []
    for path in sorted(set(recorded) | set(replayed)):
        if path not in replayed:
            out.append(f"{path}: written by the recorded run only")
        elif path not in recorded:
            out.append(f"{path}: written by the replay only")
        elif recorded[path] != replayed[path]:
            out.append(f"{path} differs:\n" + _diff(recorded[path], replayed[path], path))
    return "\n".join(out)


def read_artifacts(out_dir: Path) -> dict[str, str]:
    """Return every file a run wrote in ``out_dir`` (``.git`` apart) by path, as written.

    A file that is not UTF-8 text is kept as its SHA-256.
    """
    found = {}
    for path in sorted(p for p in out_dir.rglob("*") if p.is_file()):
        rel = path.relative_to(out_dir).as_posix()
        if rel.split("/")[0] == ".git":
            continue
        data = path.read_bytes()
        try:
            found[rel] = data.decode("utf-8")
        except UnicodeDecodeError:
            found[rel] = "sha256:" + hashlib.sha256(data).hexdigest()
    return found


def _write_json(path: Path, value: Any) -> None:
    path.write_text(json.dumps(value, indent=1, sort_keys=True, ensure_ascii=False) + "\n")


def save(
    folder: Path,
    tape: Tape,
    artifacts: Mapping[str, str],
    outcome: Outcome,
    meta: Mapping[str, Any],
    places: Places,
) -> None:
    """Write a recording of a run that lived in ``places`` into ``folder`` (files replaced).

    ``meta`` gets the places, which ``normalise`` needs to compare anything with it.
    """
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "calls.jsonl").open("w", encoding="utf-8") as fh:
        for call in tape.calls:
            fh.write(call.model_dump_json() + "\n")
    _write_json(folder / "schemas.json", tape.schemas)
    tokens = {sha256(normalise(text, places)): n for text, n in tape.tokens.items()}
    _write_json(folder / "tokens.json", tokens)
    _write_json(folder / "artifacts.json", dict(artifacts))
    _write_json(folder / "outcome.json", outcome.model_dump(mode="json"))
    where = {k: str(getattr(places, k)) for k in ("out_dir", "data_dir", "repo", "temp")}
    _write_json(folder / "meta.json", {**meta, **where})


def load(folder: Path) -> Recording:
    """Read the recording in ``folder``."""

    def read(name: str) -> Any:
        return json.loads((folder / name).read_text(encoding="utf-8"))

    lines = (folder / "calls.jsonl").read_text(encoding="utf-8").splitlines()
    return Recording(
        calls=[Call.model_validate_json(line) for line in lines if line.strip()],
        tokens=read("tokens.json"),
        schemas=read("schemas.json"),
        artifacts=read("artifacts.json"),
        outcome=Outcome.model_validate(read("outcome.json")),
        meta=read("meta.json"),
    )


def prompts(calls: Iterable[Call], places: Places) -> list[str]:
    """Return each call's rendered, normalised prompt, in order."""
    return [normalise(render(call.sent), places) for call in calls]


def normalised(artifacts: Mapping[str, str], places: Places) -> dict[str, str]:
    """Return a run's files with their contents normalised."""
    return {path: normalise(text, places) for path, text in artifacts.items()}
