"""The models of a recorded run: one records the embedded model, one replays it.

Both are a ``TapedChatModel``: a chat model with the sampling fields the factory
tunes (temperature, seed, max_tokens, repeat_penalty), copied and bound as the
factory copies and binds any model (``ResolvedModel.sampled`` copies it with
another temperature and seed; ``structured`` binds a JSON schema). The
recording one calls the embedded model on its shared server, as the router
serves it, and keeps each call on a ``Tape``; the replaying one answers the
n-th call with the n-th recorded reply and keeps what it was sent. The
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
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.messages.ai import UsageMetadata
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import SkipValidation

from devfactory.memory.packing import approx_tokens
from devfactory.models.health import HealthBook, HealthPolicy
from devfactory.models.packaged import PACKAGED, SMALL
from devfactory.models.router import ModelRouter, ResolvedModel, Routing
from devfactory.models.server_chat import ServerChatModel, bind_server_schema
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
    prompts,
    render,
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


class TapedChatModel(BaseChatModel):
    """A chat model with the sampling fields the factory copies and the tape records."""

    temperature: float = 0.2
    seed: int = 0
    max_tokens: int = 1024
    repeat_penalty: float = 1.1

    @property
    def _llm_type(self) -> str:
        return "devfactory-taped"

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        raise NotImplementedError


def bind_json_schema(chat: BaseChatModel, schema: dict[str, Any]) -> Any:
    """Bind ``schema`` as the call's ``json_schema``, which the tape keys each call by."""
    return chat.bind(json_schema=schema)


def sent_of(
    model: TapedChatModel,
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


class RecordingChatModel(TapedChatModel):
    """The served embedded model, keeping every call and every token count on ``tape``."""

    served: SkipValidation[ServerChatModel]
    tape: SkipValidation[Tape]

    def count_tokens(self, text: str) -> int:
        """Count with the served model's tokenizer, and keep the count."""
        count = self.served.count_tokens(text)
        with self.tape.lock:
            self.tape.tokens[text] = count
        return count

    def _served(
        self, messages: list[BaseMessage], stop: list[str] | None, kwargs: Mapping[str, Any]
    ) -> ChatResult:
        """Ask the served model as this model's fields and the call's schema say."""
        chat = self.served.model_copy(
            update={
                "temperature": self.temperature,
                "seed": self.seed,
                "max_completion_tokens": self.max_tokens,
                "repeat_penalty": self.repeat_penalty,
            }
        )
        schema = kwargs.get("json_schema")
        asked = bind_server_schema(chat, schema) if schema is not None else chat
        message = asked.invoke(messages, stop=stop)
        return ChatResult(generations=[ChatGeneration(message=message)])

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
            result = self._served(messages, stop, kwargs)
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
        self.parallel: dict[str, int] = {}  # how many calls each alias made at once

    def resolve(self, alias: str) -> ResolvedModel:
        """Return the router's model for ``alias`` with a recording chat model in it.

        Its fallbacks are left out (the 1.5B's is the 0.5B, for when the 1.5B
        cannot load): a call the embedded model fails ends the recording.

        Raises:
            RuntimeError: the alias is not served by an embedded model.

        """
        resolved = self.router.resolve(alias)
        served = resolved.chat
        if not isinstance(served, ServerChatModel):
            raise RuntimeError(
                f"{alias} is served by {resolved.label}: record with model_chain=embedded"
            )
        chat = RecordingChatModel(
            temperature=served.temperature,
            seed=served.seed,
            max_tokens=served.max_tokens,
            repeat_penalty=served.repeat_penalty,
            served=served,
            tape=self.tape,
        )
        self.labels[alias] = resolved.label
        self.parallel[alias] = resolved.parallel
        routing = resolved.routing  # labels each reply with the link that served it
        if routing is not None:
            routing = dataclasses.replace(routing, rates=routing.rates[:1])
        return dataclasses.replace(
            resolved, chat=chat, bind_schema=bind_json_schema, fallbacks=(), routing=routing
        )


class Player:
    """The recorded calls and counts, and what a replay was sent.

    Calls made at once (the build loop's candidates, on a model with several
    slots) were recorded in the order they ended, which no replay repeats: each
    call is answered with the first recorded call not yet used that was sent the
    same prompt, else with the first not yet used (its prompt differs, and the
    test says where).
    """

    def __init__(self, recording: Recording, places: Places) -> None:
        self.recorded = recording.calls
        self.counts = recording.tokens
        self.places = places
        self.tape = Tape()  # what the replay sends, in the order it sends it
        self.matched: list[int] = []  # for each call sent, the recorded call that answered it
        self.misses: list[str] = []  # texts counted that the recorded run never counted
        self._prompts = prompts(recording.calls, recording.places)

    def answer(self, call: Call) -> Reply:
        """Keep ``call``; return the reply the recorded run got to the same prompt.

        Raises:
            ReplayError: the recorded run made fewer calls.

        """
        text = normalise(render(call.sent), self.places)
        with self.tape.lock:
            free = [i for i in range(len(self.recorded)) if i not in self.matched]
            n = next((i for i in free if self._prompts[i] == text), free[0] if free else -1)
            self.tape.calls.append(call)
            self.matched.append(n)
        if n < 0:
            made = len(self.recorded)
            raise ReplayError(
                f"the recorded run made {made} calls; this is call {len(self.matched)}"
            )
        return self.recorded[n].reply

    def in_recorded_order(self) -> list[Call]:
        """Return the calls sent, each at the place of the recorded call that answered it."""
        pairs = sorted(zip(self.matched, self.tape.calls, strict=True), key=lambda p: p[0])
        return [call for n, call in pairs if n >= 0] + [c for n, c in pairs if n < 0]

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


class ReplayChatModel(TapedChatModel):
    """Answers each call with the recorded reply at its place; calls no model."""

    player: SkipValidation[Player]

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
        self.player = Player(recording, Places(out_dir, settings.storage.data_dir))
        self.health = HealthBook(HealthPolicy.from_settings(settings))
        self.labels: dict[str, str] = dict(recording.meta["labels"])
        # as many calls at once as when recorded: the build loop draws fewer candidates one by one
        self.parallel: dict[str, int] = dict(recording.meta.get("parallel", {}))
        self.chats = {  # each model samples with its own repeat penalty, as the router gives it
            label: ReplayChatModel(
                max_tokens=settings.generation.stage_max_tokens,
                temperature=settings.generation.temperature,
                repeat_penalty=PACKAGED.get(label.removeprefix("embedded:"), SMALL).repeat_penalty,
                player=self.player,
            )
            for label in set(self.labels.values())
        }

    def resolve(self, alias: str) -> ResolvedModel:
        """Return the replaying model for ``alias``, bound and watched as the embedded one is.

        Routed through a health book, as the router routes it, so each reply is
        labelled with the link that served it.
        """
        return ResolvedModel(
            alias,
            self.labels[alias],
            self.chats[self.labels[alias]],
            bind_json_schema,
            routing=Routing(alias, self.health),
            parallel=self.parallel.get(alias, 1),
        )
