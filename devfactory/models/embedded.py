"""The embedded chat models in process: a packaged GGUF file on llama.cpp.

Which models are packaged, and how their slices become one checked file, is
``packaged.py``; this is the in-process adapter that loads one.

``langchain_community``'s ``ChatLlamaCpp`` reports no ``usage_metadata`` and
constrains output through a forced tool call; this adapter passes a JSON
schema straight to llama.cpp's grammar sampler and reports token usage, which
the factory meters per stage.
"""

from __future__ import annotations

import json
import os
import threading
import time
from functools import lru_cache
from pathlib import Path
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.messages.ai import UsageMetadata
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import ConfigDict, PrivateAttr

from devfactory.models.packaged import (
    SMALL,
    PackagedModel,
    SchemaOrder,
    ensure_model_file,
)

MODEL_NAME = SMALL.name
"""The packaged model an ``EmbeddedChatModel`` names when it is given none."""


def embedded_available(model: PackagedModel = SMALL) -> bool:
    """Say whether llama.cpp and every slice of ``model`` are installed."""
    try:
        import llama_cpp  # noqa: F401
    except ImportError:
        return False
    return model.installed()


_CHAR_RULE = r'char ::= [^"\\\x7F\x00-\x1F] | "\\" (["\\/bfnrt] | "u" [0-9a-fA-F]{4})'
_GRAMMAR_LOCK = threading.Lock()


@lru_cache(maxsize=64)
def json_schema_grammar(schema_json: str) -> str:
    """Convert a JSON schema to GBNF that a small model cannot wander out of.

    Two changes to llama-cpp-python's converter (pinned at 0.3.36): bounded
    strings use GBNF's ``{m,n}`` repetition instead of thousands of nested
    optionals, and string characters exclude raw control characters, which
    would make the JSON invalid.
    """
    from llama_cpp import llama_grammar

    original = llama_grammar._build_repetition

    def compact(
        item_rule: str,
        min_items: int,
        max_items: int | None,
        separator_rule: str | None = None,
        item_rule_is_literal: bool = False,
    ) -> str:
        if separator_rule is None and not item_rule_is_literal and (max_items or 0) > 1:
            return f"{item_rule}{{{min_items},{max_items}}}"
        return str(original(item_rule, min_items, max_items, separator_rule, item_rule_is_literal))

    with _GRAMMAR_LOCK:
        llama_grammar._build_repetition = compact
        try:
            text = llama_grammar.json_schema_to_gbnf(schema_json)
        finally:
            llama_grammar._build_repetition = original
    lines = [_CHAR_RULE if ln.startswith("char ::=") else ln for ln in text.splitlines()]
    return "\n".join(lines) + "\n"


def schema_grammar(schema: dict[str, Any], order: SchemaOrder) -> str:
    """Return ``schema``'s grammar, its fields to be written in ``order``.

    llama.cpp's converter writes an object's fields in the order the schema
    lists them: ``sorted`` lists them alphabetically (as the embedded models
    have always been asked), ``declared`` as the schema declares them.
    """
    return json_schema_grammar(json.dumps(schema, sort_keys=order == "sorted"))


_LOADED: dict[tuple[str, int, int], tuple[Any, threading.Lock]] = {}
_LOAD_LOCK = threading.Lock()


def _load(path: Path, n_ctx: int, n_threads: int) -> tuple[Any, threading.Lock]:
    """Load a model once per process; llama.cpp contexts are not thread-safe, hence a lock."""
    key = (str(path), n_ctx, n_threads)
    with _LOAD_LOCK:
        if key not in _LOADED:
            from llama_cpp import Llama

            llm = Llama(
                model_path=str(path), n_ctx=n_ctx, n_threads=n_threads, verbose=False, seed=0
            )
            _LOADED[key] = (llm, threading.Lock())
        return _LOADED[key]


def _role(message: BaseMessage) -> str:
    return {"human": "user", "ai": "assistant", "system": "system"}.get(message.type, "user")


class ModelTimeoutError(TimeoutError):
    """A model call ran past ``model_call_timeout_s``."""


def deadline_processor(seconds: float) -> Any:
    """Return a llama.cpp logits processor that stops the generation ``seconds`` from now.

    It runs before each token is sampled, so a generation never outlives its
    deadline by more than one token (the prompt's evaluation, bounded by the
    context size, comes before the first check).
    """
    deadline = time.monotonic() + seconds

    def check(input_ids: Any, scores: Any) -> Any:
        if time.monotonic() > deadline:
            raise ModelTimeoutError(f"no reply within {seconds:g} s (model_call_timeout_s)")
        return scores

    return check


class EmbeddedChatModel(BaseChatModel):
    """A LangChain chat model over an in-process llama.cpp GGUF model.

    Pass ``json_schema={...}`` (through ``bind`` or ``invoke`` kwargs) to
    constrain decoding to that schema with llama.cpp's grammar sampler.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    model_path: Path
    model_name: str = MODEL_NAME
    n_ctx: int = 8192
    n_threads: int = 2
    max_tokens: int = 1024
    temperature: float = 0.2
    repeat_penalty: float = 1.1
    schema_order: SchemaOrder = "sorted"
    seed: int = 0
    timeout_s: float | None = None  # a call past it raises ModelTimeoutError
    _handle: tuple[Any, threading.Lock] | None = PrivateAttr(default=None)

    @property
    def _llm_type(self) -> str:
        return "devfactory-embedded-llamacpp"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_name": self.model_name, "n_ctx": self.n_ctx, "max_tokens": self.max_tokens}

    def ensure_loaded(self) -> None:
        """Load the weights now.

        llama-cpp-python points file descriptors 1 and 2 at /dev/null while it
        loads a model quietly, which swallows anything another thread prints
        meanwhile. Loading when the model is resolved, before a stage reports
        progress, keeps that window away from the CLI's output.
        """
        if self._handle is None:
            self._handle = _load(self.model_path, self.n_ctx, self.n_threads)

    def count_tokens(self, text: str) -> int:
        """Count ``text`` in this model's own tokens (for context packing)."""
        self.ensure_loaded()
        assert self._handle is not None
        llm, lock = self._handle
        with lock:
            return len(llm.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        self.ensure_loaded()
        assert self._handle is not None
        llm, lock = self._handle
        payload = [{"role": _role(m), "content": str(m.content)} for m in messages]
        grammar = None
        if kwargs.get("json_schema") is not None:
            from llama_cpp.llama_grammar import LlamaGrammar

            gbnf = schema_grammar(kwargs["json_schema"], self.schema_order)
            grammar = LlamaGrammar.from_string(gbnf, verbose=False)
        processors = None
        if self.timeout_s is not None:
            from llama_cpp import LogitsProcessorList

            processors = LogitsProcessorList([deadline_processor(self.timeout_s)])
        with lock:
            out = llm.create_chat_completion(
                messages=payload,
                max_tokens=kwargs.get("max_tokens", self.max_tokens),
                temperature=kwargs.get("temperature", self.temperature),
                seed=self.seed,
                stop=stop,
                grammar=grammar,
                repeat_penalty=kwargs.get("repeat_penalty", self.repeat_penalty),
                logits_processor=processors,
            )
        choice = out["choices"][0]
        usage = out.get("usage") or {}
        message = AIMessage(
            content=choice["message"].get("content") or "",
            usage_metadata=UsageMetadata(
                input_tokens=usage.get("prompt_tokens", 0),
                output_tokens=usage.get("completion_tokens", 0),
                total_tokens=usage.get("total_tokens", 0),
            ),
            response_metadata={
                "model_name": f"embedded:{self.model_name}",
                "finish_reason": choice.get("finish_reason"),
            },
        )
        return ChatResult(generations=[ChatGeneration(message=message)])


def default_threads(requested: int) -> int:
    """Pick llama.cpp threads: the requested number, else one per core up to four."""
    if requested > 0:
        return requested
    return max(1, min(4, os.cpu_count() or 1))


def build_embedded(
    data_dir: Path,
    *,
    max_tokens: int,
    temperature: float,
    n_ctx: int,
    n_threads: int,
    timeout_s: float | None = None,
    load: bool = True,
    model_path: Path | None = None,
    model: PackagedModel = SMALL,
    repeat_penalty: float = 1.1,
    schema_order: SchemaOrder = "sorted",
) -> EmbeddedChatModel:
    """Verify the weights and return an ``EmbeddedChatModel``, loaded unless ``load`` is off.

    A fallback is built unloaded: it reads the weights on its first call, so a
    process that never needs it holds no copy of them. ``model_path`` is a file
    ``ensure_model_file`` already verified; ``model`` is which packaged model.
    """
    chat = EmbeddedChatModel(
        model_path=model_path or ensure_model_file(data_dir, model),
        model_name=model.name,
        max_tokens=max_tokens,
        temperature=temperature,
        n_ctx=n_ctx,
        n_threads=default_threads(n_threads),
        timeout_s=timeout_s,
        repeat_penalty=repeat_penalty,
        schema_order=schema_order,
    )
    if load:
        chat.ensure_loaded()
    return chat
