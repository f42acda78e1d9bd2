"""Model I/O: invoke with bounded retries, ask for structured answers, derive their schemas.

Every structured question the factory asks a model (a stage's report, a risk
assessment, a clarification answer, a fact extraction, a moderator's pick)
goes through ``ask_structured``. It parses the reply into a pydantic model,
repairing what is mechanical and recording it: JSON syntax (fences, trailing
commas, a cut-off tail, via ``json_repair``, and then the cut-off last item of a
list), the case and spacing of enum values, and whatever the caller's
``normalise`` fixes. A reply that still does
not validate goes back to the model with the validation errors, up to
``max_parse_retries`` times; transport errors are retried with backoff up to
``max_model_errors`` tries. It never raises: the caller gets an ``Answer``
whose value is None with the reasons.

``grammar_schema`` derives the JSON schema a grammar-constrained decoder gets
from the same pydantic model, so each contract is written once.
"""

from __future__ import annotations

import copy
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Generic, TypeAlias, TypeVar

import json_repair
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langchain_core.runnables import Runnable
from pydantic import BaseModel, ValidationError
from tenacity import Retrying, stop_after_attempt, wait_exponential

from devfactory.contracts import Usage
from devfactory.prompts import render
from devfactory.redact import redact

log = logging.getLogger(__name__)
T = TypeVar("T", bound=BaseModel)
ECHO_CHARS = 4000  # how much of an invalid reply is shown back to the model
MAX_REPLY_CHARS = 60_000  # a structured reply longer than this is refused unread
MAX_DEPTH = 32  # deeper nesting is refused before any parser sees it
REPAIRED = "JSON syntax repaired"  # the repair note of a reply whose syntax was mended

# normalise(data, repairs) -> data: fix what is mechanical, note each fix in repairs
Normalise = Callable[[dict[str, Any], list[str]], dict[str, Any]]


@dataclass
class Answer(Generic[T]):
    """A parsed answer (None when every try failed), what it cost and what went wrong."""

    value: T | None
    usage: Usage = field(default_factory=Usage)
    model: str = ""
    problems: list[str] = field(default_factory=list)  # why each invalid reply was refused
    repairs: list[str] = field(default_factory=list)  # what was fixed mechanically
    error: str = ""  # the model call itself failed (after its retries)

    @property
    def problem(self) -> str:
        """The last reason the answer was refused ("" when it was not)."""
        return self.error or (self.problems[-1] if self.problems else "")


def invoke(model: Runnable[Any, Any], messages: list[BaseMessage], tries: int) -> AIMessage:
    """Invoke ``model``, retrying transport errors with backoff up to ``tries`` times."""
    for attempt in Retrying(
        stop=stop_after_attempt(tries),
        wait=wait_exponential(multiplier=0.5, max=8),
        reraise=True,
    ):
        with attempt:
            message = model.invoke(messages)
    if not isinstance(message, AIMessage):
        raise TypeError(f"model returned {type(message).__name__}, not an AIMessage")
    return message


def invoked(
    model: Runnable[Any, Any], messages: list[BaseMessage], tries: int
) -> AIMessage | Exception:
    """Return ``invoke``'s reply, or the error that ended it (one of several calls in flight).

    The error is handed back rather than raised, so that the caller takes it in
    its turn among the others' replies (``fanout.in_order``).
    """
    try:
        return invoke(model, messages, tries)
    except Exception as exc:  # noqa: BLE001 - the caller says what failed
        return exc


def usage_of(message: AIMessage) -> Usage:
    """Return the tokens one reply used (one call)."""
    meta: dict[str, Any] = dict(message.usage_metadata or {})
    return Usage(
        input_tokens=meta.get("input_tokens", 0),
        output_tokens=meta.get("output_tokens", 0),
        calls=1,
    )


def served_by(message: AIMessage) -> str:
    """Return the model that served a reply, as the provider names it ("" if it does not)."""
    meta = message.response_metadata or {}
    return str(meta.get("model_name") or meta.get("model") or "")


def text_of(message: AIMessage) -> str:
    """Return a reply's text, without NUL characters (no database can store them)."""
    text = message.content if isinstance(message.content, str) else str(message.content)
    return text.replace("\x00", "")


def _depth(text: str) -> int:
    """Return how deeply ``text``'s brackets nest (strings are not parsed: an upper bound)."""
    depth = deepest = 0
    for char in text:
        if char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}" and depth:
            depth -= 1
    return deepest


def _without_nul(value: Any) -> Any:
    """Drop NUL characters from every string of a parsed reply (JSON may escape them)."""
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, dict):
        return {_without_nul(k): _without_nul(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_nul(v) for v in value]
    return value


def _load(text: str, repairs: list[str]) -> Any:
    """Read JSON, repairing its syntax when needed; raise ``ValueError`` on what cannot be read.

    The input is bounded first (length, nesting), so neither parser recurses or
    spins on hostile text: 50,000 ``{``, a 5,000-digit number or 1,000 levels of
    nesting are refused as invalid output.
    """
    if len(text) > MAX_REPLY_CHARS:
        raise ValueError(f"the reply is {len(text)} characters; at most {MAX_REPLY_CHARS}")
    if _depth(text) > MAX_DEPTH:
        raise ValueError(f"the reply nests deeper than {MAX_DEPTH} levels")
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        pass
    except (ValueError, RecursionError) as exc:  # e.g. an integer past Python's digit limit
        raise ValueError(f"the reply is not valid JSON: {exc}"[:300]) from None
    try:
        data = json_repair.loads(text)
    except (ValueError, RecursionError, TypeError) as exc:
        raise ValueError(f"the reply is not valid JSON: {exc}"[:300]) from None
    repairs.append(REPAIRED)
    return data


def _cut_item(data: Mapping[str, object], exc: ValidationError) -> str:
    """Return the list field whose last item alone fails ``exc``, else "".

    A reply cut off at the token limit ends inside the last item of its list
    (the tests of a unit, the facts of a requirement): ``json_repair`` closes
    the text, and that item lacks its remaining fields. The items before it are
    whole, so the item is dropped rather than the reply.
    """
    spots = {tuple(err["loc"][:2]) for err in exc.errors()}
    if len(spots) != 1:
        return ""
    spot = spots.pop()
    if len(spot) != 2 or not isinstance(spot[0], str) or not isinstance(spot[1], int):
        return ""
    items = data.get(spot[0])
    return spot[0] if isinstance(items, list) and spot[1] == len(items) - 1 else ""


def summarise(exc: ValidationError) -> str:
    """Say what is wrong with a reply in terms a model can act on (at most six errors)."""
    parts = []
    for err in exc.errors()[:6]:
        loc = ".".join(str(p) for p in err["loc"]) or "(object)"
        got = err.get("input")  # a short value the model wrote is named: it knows what to fix
        shown = f" (got {got[:60]!r})" if isinstance(got, str) and err["type"] != "missing" else ""
        parts.append(f"{loc}: {err['msg']}{shown}")
    more = exc.error_count() - len(parts)
    return "; ".join(parts) + (f"; and {more} more" if more > 0 else "")


def _closed(node: Any, defs: dict[str, Any]) -> Any:
    """Return ``node`` with every ``$ref`` replaced by its definition and every object closed.

    Grammar samplers want no refs; a closed object requires every property and
    allows no others (a model must emit all).
    """
    if isinstance(node, dict):
        if "$ref" in node:
            return _closed(defs[node["$ref"].split("/")[-1]], defs)
        node = {k: _closed(v, defs) for k, v in node.items() if k not in ("$defs", "title")}
        if isinstance(node.get("properties"), dict):
            node["required"] = list(node["properties"])
            node["additionalProperties"] = False
        return node
    if isinstance(node, list):
        return [_closed(v, defs) for v in node]
    return node


@cache
def _schema(cls: type[BaseModel]) -> dict[str, Any]:
    raw = cls.model_json_schema()
    schema: dict[str, Any] = _closed(raw, raw.get("$defs", {}))
    return schema


JsonSchema: TypeAlias = dict[str, Any]
"""A JSON Schema, as the object a model's grammar or a tool's arguments are constrained by."""


def grammar_schema(cls: type[BaseModel]) -> JsonSchema:
    """Return ``cls``'s JSON schema for constrained decoding: no refs, every field required.

    The copy is the caller's to narrow (an enum of today's choices, a count).
    """
    return copy.deepcopy(_schema(cls))


def with_choices(schema: dict[str, Any], name: str, choices: list[str]) -> dict[str, Any]:
    """Narrow property ``name`` of ``schema`` to ``choices`` (null stays allowed if it was)."""
    prop = schema["properties"][name]
    nullable = any(option.get("type") == "null" for option in prop.get("anyOf", []))
    enum: dict[str, Any] = {"enum": list(choices)}
    schema["properties"][name] = {"anyOf": [enum, {"type": "null"}]} if nullable else enum
    return schema


def _choices(cls: type[BaseModel]) -> dict[str, list[str]]:
    """Return the fields of ``cls`` whose values are an enum of strings, with the values."""
    found = {}
    for name, prop in _schema(cls).get("properties", {}).items():
        options: list[dict[str, Any]] = [prop, *prop.get("anyOf", [])]
        values: list[Any] = next((o["enum"] for o in options if "enum" in o), [])
        if values and all(isinstance(v, str) for v in values):
            found[name] = list(values)
    return found


def _enum_case(data: dict[str, Any], cls: type[BaseModel], repairs: list[str]) -> None:
    """Fix the case and spacing of enum values ("needs clarification" -> NEEDS_CLARIFICATION)."""
    for name, allowed in _choices(cls).items():
        value = data.get(name)
        if not isinstance(value, str) or value in allowed:
            continue
        fixed = value.strip().upper().replace(" ", "_").replace("-", "_")
        if fixed in allowed:
            repairs.append(f"{name} {value!r} -> {fixed!r}")
            data[name] = fixed


def parse_object(
    text: str, cls: type[T], *, normalise: Normalise | None = None
) -> tuple[T | None, str, list[str]]:
    """Parse ``text`` into ``cls``.

    Returns:
        ``(value, problem, repairs)``: ``value`` is None when the text cannot be
        made valid, and ``problem`` says why in terms a model can act on.

    """
    repairs: list[str] = []
    if not text or not text.strip():
        return None, "the reply was empty", repairs
    try:
        data = _load(text, repairs)
    except ValueError as exc:
        return None, str(exc), repairs
    if not isinstance(data, dict):
        return None, "the reply is not a JSON object", repairs
    data = _without_nul(data)
    try:
        if normalise is not None:
            data = normalise(data, repairs)
        _enum_case(data, cls, repairs)
        return cls.model_validate(data), "", repairs
    except ValidationError as exc:
        cut = _cut_item(data, exc) if REPAIRED in repairs else ""
        if cut:
            data[cut] = data[cut][:-1]
            try:
                value = cls.model_validate(data)
            except ValidationError:
                return None, summarise(exc), repairs
            repairs.append(f"{cut}: the last item, cut off, dropped")
            return value, "", repairs
        return None, summarise(exc), repairs
    except (ValueError, RecursionError, TypeError) as exc:  # a normaliser choked on it
        return None, f"the reply could not be read: {exc}"[:300], repairs


def ask_structured(
    model: Runnable[Any, Any],
    messages: list[BaseMessage],
    cls: type[T],
    *,
    max_parse_retries: int,
    max_model_errors: int,
    normalise: Normalise | None = None,
    check: Callable[[T], str] | None = None,
) -> Answer[T]:
    """Invoke ``model`` until its reply validates as ``cls`` or the caps run out; never raise.

    ``check`` judges a valid reply's content: a problem it names is sent back like
    a parse error while retries are left; the last try's valid reply is kept.
    """
    answer: Answer[T] = Answer(None)
    convo = list(messages)
    for attempt in range(max_parse_retries + 1):
        try:
            message = invoke(model, convo, max_model_errors)
        except Exception as exc:  # noqa: BLE001 - reported in the answer, never raised
            log.warning("model call failed: %s", exc)
            answer.error = redact(
                f"model call failed after {max_model_errors} tries: {type(exc).__name__}: {exc}"
            )
            return answer
        used = usage_of(message)
        answer.usage = answer.usage.add(used)
        answer.model = served_by(message) or answer.model
        log.info(
            "%s from %s: %d tokens in, %d out",
            cls.__name__,
            answer.model or "a model",
            used.input_tokens,
            used.output_tokens,
        )
        text = text_of(message)
        value, problem, repairs = parse_object(text, cls, normalise=normalise)
        answer.repairs.extend(repairs)
        if value is not None:
            problem = check(value) if check is not None else ""
            if not problem or attempt == max_parse_retries:
                answer.value = value
                return answer
        answer.problems.append(problem)
        log.info("invalid %s (attempt %d): %s", cls.__name__, attempt + 1, problem)
        convo += [
            AIMessage(text[:ECHO_CHARS]),
            HumanMessage(render("devfactory.models", "repair", problem=problem)),
        ]
    return answer
