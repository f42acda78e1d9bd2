"""The models of a recorded run: one records the embedded model, one replays it.

Both are the product's ``EmbeddedChatModel`` with its own fields (temperature,
seed, max_tokens, ...), so the factory tunes and binds them exactly as it tunes
the real one (``ResolvedModel.sampled`` copies it with another temperature and
seed; ``structured`` binds a JSON schema). The recording one calls llama.cpp
and keeps each call on a ``Tape``; the replaying one loads no weights, answers
the n-th call with the n-th recorded reply and keeps what it was sent. The
tokenizer is recorded and replayed too: context packing counts a stage's
context with the serving model's tokenizer.
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.messages.ai import UsageMetadata
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import SkipValidation

from devfactory.memory.packing import approx_tokens
from devfactory.models.embedded import EmbeddedChatModel
from devfactory.models.health import HealthBook, HealthPolicy
from devfactory.models.router import ModelRouter, ResolvedModel, Routing
from devfactory.settings import Settings
from devfactory.teams import load_teams
from tests.recorded.tape import (
    Call,
    Places,
    Recording,
    Reply,
    Sent,
    Tape,
    normalise,
    schema_key,
    sha256,
)


class ReplayError(RuntimeError):
    """The replay was asked for more calls than the recorded run made."""


def team_of(messages: list[BaseMessage]) -> str:
    """Return the slug of the team the system prompt speaks to ('' when it names none)."""
    if not messages or messages[0].type != "system":
        return ""
    first = str(messages[0].content).split("\n", 1)[0]
    for spec in load_teams().values():
        if f"the {spec.name} team" in first:
            return spec.slug
    return "governance" if "governance" in first.lower() else ""


def sent_of(
    model: EmbeddedChatModel,
    messages: list[BaseMessage],
    stop: list[str] | None,
    kwargs: Mapping[str, Any],
    tape: Tape,
) -> Sent:
    """Return what one call sends: the messages, and the options llama.cpp would decode with."""
    schema = kwargs.get("json_schema")
    key = None
    if schema is not None:
        key = schema_key(schema)
        with tape.lock:
            tape.schemas.setdefault(key, schema)
    options = {
        "temperature": model.temperature,
        "seed": model.seed,
        "max_tokens": model.max_tokens,
        "repeat_penalty": model.repeat_penalty,
        **{k: v for k, v in kwargs.items() if k != "json_schema"},
        "stop": stop,
        "schema": key,
    }
    return Sent(messages=tuple((m.type, str(m.content)) for m in messages), options=options)


def reply_of(message: BaseMessage) -> Reply:
    """Return what a model's reply holds that the factory reads."""
    usage = getattr(message, "usage_metadata", None) or {}
    return Reply(
        content=str(message.content),
        usage={k: int(v) for k, v in usage.items() if isinstance(v, int)},
        metadata=dict(message.response_metadata),
    )


def _fields(chat: EmbeddedChatModel) -> dict[str, Any]:
    return {name: getattr(chat, name) for name in EmbeddedChatModel.model_fields}


class RecordingChatModel(EmbeddedChatModel):
    """The embedded model, keeping every call and every token count on ``tape``."""

    tape: SkipValidation[Tape]

    def count_tokens(self, text: str) -> int:
        """Count with the real tokenizer, and keep the count."""
        count = super().count_tokens(text)
        with self.tape.lock:
            self.tape.tokens[text] = count
        return count

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        sent = sent_of(self, messages, stop, kwargs, self.tape)
        team = team_of(messages)
        try:
            result = super()._generate(messages, stop, run_manager, **kwargs)
        except Exception as exc:
            kind = f"{type(exc).__module__}:{type(exc).__qualname__}"
            with self.tape.lock:
                self.tape.calls.append(
                    Call(team=team, sent=sent, reply=Reply(error_type=kind, error=str(exc)))
                )
            raise
        reply = reply_of(result.generations[0].message)
        with self.tape.lock:
            self.tape.calls.append(Call(team=team, sent=sent, reply=reply))
        return result


class RecordingModels:
    """A model source: the router's embedded model for every alias, recorded on one tape."""

    def __init__(self, settings: Settings) -> None:
        self.router = ModelRouter(settings)
        self.tape = Tape()
        self.labels: dict[str, str] = {}

    def resolve(self, alias: str) -> ResolvedModel:
        """Return the router's model for ``alias`` with a recording chat model in it.

        Raises:
            RuntimeError: the alias is not served by the embedded model alone.

        """
        resolved = self.router.resolve(alias)
        if resolved.fallbacks or not isinstance(resolved.chat, EmbeddedChatModel):
            raise RuntimeError(
                f"{alias} is served by {resolved.label}: record with model_chain=embedded"
            )
        chat = RecordingChatModel(**_fields(resolved.chat), tape=self.tape)
        chat.ensure_loaded()  # the weights llama.cpp already holds for this process
        self.labels[alias] = resolved.label
        return dataclasses.replace(resolved, chat=chat)


class Player:
    """The recorded calls and counts, and what a replay was sent, in order."""

    def __init__(self, recording: Recording, places: Places) -> None:
        self.recorded = recording.calls
        self.counts = recording.tokens
        self.places = places
        self.tape = Tape()  # what the replay sends
        self.misses: list[str] = []  # texts counted that the recorded run never counted

    def answer(self, call: Call) -> Reply:
        """Keep ``call``; return the reply the recorded run got at the same place.

        Raises:
            ReplayError: the recorded run made fewer calls.

        """
        with self.tape.lock:
            n = len(self.tape.calls)
            self.tape.calls.append(call)
        if n >= len(self.recorded):
            raise ReplayError(f"the recorded run made {len(self.recorded)} calls; this is call {n}")
        return self.recorded[n].reply

    def count(self, text: str) -> int:
        """Return what the recorded tokenizer counted for ``text``.

        A text it never counted is estimated and noted in ``misses``: the replay
        then cannot say what the real tokenizer would have counted.
        """
        key = sha256(normalise(text, self.places))
        if key in self.counts:
            return self.counts[key]
        with self.tape.lock:
            self.misses.append(text[:200])
        return approx_tokens(text)


def raised(reply: Reply) -> Exception:
    """Return the error a recorded call raised, as its own class where it can be made."""
    module, _, name = reply.error_type.partition(":")
    try:
        cls = getattr(importlib.import_module(module), name)
        if isinstance(cls, type) and issubclass(cls, Exception):
            return cls(reply.error)
    except (ImportError, AttributeError, TypeError):
        pass
    return RuntimeError(f"{reply.error_type}: {reply.error}")


class ReplayChatModel(EmbeddedChatModel):
    """Answers each call with the recorded reply at its place; loads no weights."""

    player: SkipValidation[Player]

    def ensure_loaded(self) -> None:
        """Load nothing: every answer is recorded."""

    def count_tokens(self, text: str) -> int:
        """Count as the recorded tokenizer counted."""
        return self.player.count(text)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        sent = sent_of(self, messages, stop, kwargs, self.player.tape)
        reply = self.player.answer(Call(team=team_of(messages), sent=sent, reply=Reply()))
        if reply.error_type:
            raise raised(reply)
        message = AIMessage(
            content=reply.content,
            usage_metadata=UsageMetadata(
                input_tokens=reply.usage.get("input_tokens", 0),
                output_tokens=reply.usage.get("output_tokens", 0),
                total_tokens=reply.usage.get("total_tokens", 0),
            ),
            response_metadata=dict(reply.metadata),
        )
        return ChatResult(generations=[ChatGeneration(message=message)])


class ReplayModels:
    """A model source that serves every alias with the replaying model, as the router would.

    The chat model gets the settings the router gives the embedded model, and
    each alias the label it had when recorded. ``out_dir`` is the replayed run's
    folder (the texts it counts are normalised with it).
    """

    def __init__(self, settings: Settings, recording: Recording, out_dir: Path) -> None:
        self.player = Player(recording, Places(out_dir, settings.data_dir))
        self.health = HealthBook(HealthPolicy.from_settings(settings))
        self.labels: dict[str, str] = dict(recording.meta["labels"])
        self.chat = ReplayChatModel(
            model_path=settings.data_dir / "models" / "replayed.gguf",  # never read
            max_tokens=settings.stage_max_tokens,
            temperature=settings.temperature,
            n_ctx=settings.embedded_ctx,
            n_threads=1,
            timeout_s=settings.model_call_timeout_s,
            player=self.player,
        )

    def resolve(self, alias: str) -> ResolvedModel:
        """Return the replaying model for ``alias``, bound and watched as the embedded one is.

        Routed through a health book, as the router routes it, so each reply is
        labelled with the link that served it.
        """
        return ResolvedModel(
            alias,
            self.labels[alias],
            self.chat,
            lambda chat, schema: chat.bind(json_schema=schema),
            routing=Routing(alias, self.health),
        )
