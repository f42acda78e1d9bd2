"""A stage's model I/O: each file drafted as plain text, then the ``TaskResult`` report.

The report goes through the one structured-output helper
(``models/io.ask_structured``), with the report's own mechanical repairs
(the ``report`` registry of ``repairs/repair.py``) recorded beside the generic
ones: a percentage given for confidence, a bare string where a list belongs,
unknown top-level keys. After the retries a report that is still invalid
becomes a BLOCKED result with the reason. A BLOCKED report whose blockers only
repeat the request is asked again too; one that still does is read as the
gate's policy says (``graph/gate.py``, ``settle_echoed_block``).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langchain_core.runnables import Runnable

from devfactory.contracts import (
    MAX_ARTIFACT_CHARS,
    Artifact,
    ArtifactKind,
    Status,
    TaskResult,
    Usage,
)
from devfactory.graph.gate import settle_echoed_block
from devfactory.models.io import ask_structured, invoke, parse_object, served_by, text_of, usage_of
from devfactory.models.loops import LineLoop, PhraseLoop, drop_repeats, line_loop, phrase_loop
from devfactory.redact import redact
from devfactory.repairs.repair import CUT_TESTS, REPEATS, RepairKind, is_tests_file, repair
from devfactory.software.salvage import salvage_cut

log = logging.getLogger(__name__)


@dataclass
class Reply:
    """What one report request produced."""

    result: TaskResult
    usage: Usage = field(default_factory=Usage)
    model: str = ""
    repairs: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def _normalise(
    data: dict[str, Any],
    repairs: list[str],
    *,
    artifacts: Sequence[Artifact] | None,
    off: Collection[str] = (),
) -> dict[str, Any]:
    """Repair a report mechanically (the ``report`` repairs, but ``off``).

    Drafted ``artifacts`` replace any the report lists.
    """
    if artifacts is not None:
        data["artifacts"] = [a.model_dump(mode="json") for a in artifacts]
    fixed = repair(RepairKind.REPORT, data, off=off)
    repairs.extend(fixed.notes)
    return fixed.content


def parse_task_result(
    text: str, artifacts: Sequence[Artifact] | None = None
) -> tuple[TaskResult | None, str, list[str]]:
    """Parse ``text`` into a ``TaskResult``.

    Args:
        text: the model's reply.
        artifacts: files drafted separately; when given they replace whatever
            ``artifacts`` the reply carries.

    Returns:
        ``(result, problem, repairs)``: ``result`` is None when the text cannot be
        made valid, and ``problem`` says why in terms a model can act on.

    """
    return parse_object(text, TaskResult, normalise=partial(_normalise, artifacts=artifacts))


_WORD = re.compile(r"[a-z0-9_]+")
ECHO_SHARE = 0.75  # of a blocker's word 4-grams found in the request: it repeats the request


def _grams(text: str) -> set[tuple[str, ...]]:
    words = _WORD.findall(text.lower())
    return {tuple(words[i : i + 4]) for i in range(len(words) - 3)}


def _echoes(blocker: str, seen: set[tuple[str, ...]]) -> bool:
    grams = _grams(blocker)
    return len(grams) >= 3 and len(grams & seen) >= ECHO_SHARE * len(grams)


def echoed_blockers(result: TaskResult, prompt: str) -> str:
    """Name a BLOCKED report whose every blocker only repeats the request's own text.

    Small models list lines of their instructions, the requirement's own
    sentences or recalled memories as blockers, nearly word for word. A blocker
    says what stops the objective; a sentence of the request is not news, so
    such a report is asked again (within the parse retries) rather than costing
    the stage an attempt. A blocker repeats the request when at least
    ``ECHO_SHARE`` of its word 4-grams (three or more) occur in it.
    """
    if result.status is not Status.BLOCKED or not result.blockers:
        return ""
    seen = _grams(prompt)
    if not all(_echoes(b, seen) for b in result.blockers):
        return ""
    quoted = "; ".join(repr(b[:80]) for b in result.blockers[:3])
    return (
        f"your blockers only repeat the request ({quoted}). A blocker names something "
        "outside your control that stops the objective. If nothing does, report COMPLETE "
        "and list the decisions you made under assumptions_made"
    )


def request_task_result(
    model: Runnable[Any, Any],
    messages: list[BaseMessage],
    *,
    max_parse_retries: int,
    max_model_errors: int,
    artifacts: Sequence[Artifact] | None = None,
    repairs_off: Collection[str] = (),
) -> Reply:
    """Invoke ``model`` until it yields a valid ``TaskResult`` or the caps are reached.

    A BLOCKED report whose blockers only repeat the request is asked again
    (``echoed_blockers``); one still echoing at the cap is read as the gate's
    policy says (``gate.settle_echoed_block``: as COMPLETE, the reading
    recorded with the reply's repairs).

    Args:
        model: a chat model (already bound to the JSON schema where supported).
        messages: the stage's prompt.
        artifacts: files drafted before the report, joined to the result.
        max_parse_retries: extra requests allowed after an invalid reply.
        max_model_errors: attempts per request when the model call itself fails.
        repairs_off: the ``report`` repairs left out (``repairs/repair.py``).

    Returns:
        A ``Reply``; its result is BLOCKED with the reason when the caps ran out.

    """
    prompt = "\n".join(str(m.content) for m in messages)
    answer = ask_structured(
        model,
        messages,
        TaskResult,
        max_parse_retries=max_parse_retries,
        max_model_errors=max_model_errors,
        normalise=partial(_normalise, artifacts=artifacts, off=repairs_off),
        check=partial(echoed_blockers, prompt=prompt),
    )
    if answer.value is not None:
        result = answer.value
        if echoed_blockers(result, prompt):  # asked again and echoed again: the gate's reading
            result, reading = settle_echoed_block(result)
            answer.repairs.append(reading)
    elif answer.error:
        result = TaskResult.blocked(answer.error)
    else:
        said = f"model output was not a valid TaskResult after {max_parse_retries + 1} tries"
        result = TaskResult.blocked(
            f"{said}: {answer.problems[-1]}"[:300],
            reasoning="Invalid replies: " + " | ".join(answer.problems),
        )
    return Reply(result, answer.usage, answer.model, answer.repairs, answer.problems)


_OPEN_FENCE = re.compile(r"^\s*```[\w.+-]*[ \t]*\n")
_FENCE_LINE = re.compile(r"^[ \t]*```", re.M)
_CLOSE_FENCE = re.compile(r"\n[ \t]*```\s*$")
_BLOCK = re.compile(r"^[ \t]*```([\w.+-]*)[ \t]*\n(.*?)(?:^[ \t]*```[ \t]*$|\Z)", re.S | re.M)
_LANGS: dict[ArtifactKind, tuple[str, ...]] = {
    ArtifactKind.PYTHON: ("python", "py", "python3"),
    ArtifactKind.TYPESCRIPT: ("typescript", "ts", "tsx"),
    ArtifactKind.YAML: ("yaml", "yml"),
    ArtifactKind.JSON: ("json",),
    ArtifactKind.SQL: ("sql", "postgresql", "sqlite"),
    ArtifactKind.DOCKERFILE: ("dockerfile", "docker"),
    ArtifactKind.SHELL: ("sh", "bash", "shell"),
}


def extract_file(text: str, kind: ArtifactKind) -> str:
    """Take the file out of a reply: drop wrapping fences and, for code, chatter.

    Markdown keeps its inner fences. For code and config, a fenced block in the
    file's language (else the first block, when the reply opens with one) is
    the file; a reply that opens with raw code ends at its first fence line.
    """
    if kind in (ArtifactKind.MARKDOWN, ArtifactKind.TEXT):
        return _unwrap(text)
    blocks = [(tag.lower(), body) for tag, body in _BLOCK.findall(text)]
    tagged = [body for tag, body in blocks if tag in _LANGS.get(kind, ())]
    if tagged:
        return tagged[0].strip("\n")
    if blocks and text.lstrip().startswith("```"):
        return blocks[0][1].strip("\n")
    fence = _FENCE_LINE.search(text)
    return (text[: fence.start()] if fence else text).strip("\n")


def _unwrap(text: str) -> str:
    """Drop a code fence wrapped around a whole file, closed or cut off.

    Fences inside the file come in pairs, so an odd number of fence lines after
    the opening one means the last of them closes the wrapper.
    """
    opened = _OPEN_FENCE.match(text)
    if opened:
        body = text[opened.end() :]
        if len(_FENCE_LINE.findall(body)) % 2 == 1:
            body = _CLOSE_FENCE.sub("", body.rstrip())
        text = body
    return text.strip("\n")


@dataclass
class Draft:
    """A file drafted as plain text, with what it cost and anything cut."""

    artifact: Artifact | None
    usage: Usage
    model: str = ""
    problem: str = ""
    repairs: list[str] = field(default_factory=list)  # mechanical fixes made to the reply
    origin: str = field(default="model", kw_only=True)  # model (free text), build (loop), tools
    # files tools made beside it for another team's planned file (the build loop's agreed
    # tests): handed on in the stage's record, not published as this file's team's
    companions: list[Artifact] = field(default_factory=list, kw_only=True)


def draft_file(
    model: Runnable[Any, Any],
    messages: list[BaseMessage],
    *,
    path: str,
    kind: ArtifactKind,
    max_model_errors: int,
    max_continuations: int = 0,
    repairs_off: Collection[str] = (),
    unloop: Runnable[Any, Any] | None = None,
) -> Draft:
    """Ask ``model`` for one file as plain text.

    A reply cut off at the token limit is continued where it stopped, up to
    ``max_continuations`` more calls (a continuation that starts the file over
    is dropped: what was cut off is all there is); one still unfinished then is
    reported, so the gate can ask for a shorter one, except a tests file that
    has complete tests before the one it stopped in: those are kept, the
    unfinished one is dropped and named (``salvage_cut``). A reply that loops
    (``models/loops.py``) is never continued: a markdown one ends where the
    loop began (repeated paragraphs dropped, or a list's lines written over after
    their first copy; recorded as a repair), and one looping inside its lines (a
    phrase written over) is first asked for once more from ``unloop``, as code is,
    then ends after the phrase's first copy; a Python one is asked for once more
    from ``unloop`` (the same model sampled wider, with a repeat penalty) when given,
    and one that still loops is cut after the loop's first copy and reported with the
    line it repeated (the repairs ``repeats`` and ``cut-tests``). A Python reply gets
    the ``python`` repairs (``repairs/repair.py``: quotes it left unescaped
    inside a string literal escaped, then the standard-library imports it uses
    and forgot added; each recorded; those named in ``repairs_off`` left out). A reply wrapped in
    one code fence is unwrapped; a reply over the artifact limit is cut and the
    cut is reported.
    """
    prose, code = kind == ArtifactKind.MARKDOWN, kind == ArtifactKind.PYTHON
    repairs: list[str] = []
    try:
        message = invoke(model, messages, max_model_errors)
        usage = usage_of(message)
        if unloop is not None and (loop := _looping(message, prose=prose, code=code)):
            repairs.append(f"{loop.describe()} until the token limit: asked again with a penalty")
            message = invoke(unloop, messages, max_model_errors)
            usage = usage.add(usage_of(message))
        served, text = served_by(message), text_of(message)
        for _ in range(max_continuations):
            if not _cut_off(message) or len(text) > MAX_ARTIFACT_CHARS:
                break
            if (prose and (drop_repeats(text, cut=True)[2] or phrase_loop(text))) or line_loop(
                text, prose=prose
            ):
                break  # looping: more would only repeat (the message was cut off)
            went_on = invoke(model, [*messages, *_continue(text)], max_model_errors)
            usage, more = usage.add(usage_of(went_on)), _rest(text, text_of(went_on))
            if _starts_over(text, more):
                break  # it wrote the file again from its top: the cut one is all there is
            message, text = went_on, text + more
    except Exception as exc:  # noqa: BLE001 - reported as a problem, never raised
        failed = f"model call failed: {type(exc).__name__}: {exc}"
        return Draft(None, Usage(), problem=redact(failed))
    loop = line_loop(text) if code and REPEATS not in repairs_off and _cut_off(message) else None
    content = extract_file(loop.kept if loop else text, kind)
    if not content.strip():
        return Draft(None, usage, served, problem=f"{path}: the reply was empty")
    looped = False
    dropped_repeats = f"until the token limit: the repeats dropped [{REPEATS}]"
    if prose and REPEATS not in repairs_off:
        content, dropped, looped = drop_repeats(content, cut=_cut_off(message))
        if dropped:
            repairs.append(f"{dropped} repeated paragraphs dropped (the reply looped) [{REPEATS}]")
        if not looped and _cut_off(message) and (lines := line_loop(content, prose=True)):
            content, looped = lines.kept.rstrip("\n"), True  # a list written over line by line
            repairs.append(f"{lines.describe()} {dropped_repeats}")
        if not looped and _cut_off(message) and (words := phrase_loop(content)):
            content, looped = words.kept.rstrip(), True  # a line that repeats a phrase to the end
            repairs.append(f"{words.describe()} {dropped_repeats}")
    cut = _cut_off(message) and not looped  # a reply cut off in a loop had nothing more
    if code and cut and is_tests_file(path) and CUT_TESTS not in repairs_off:
        saved = salvage_cut(content)  # its complete tests are a complete, shorter file
        if saved is not None:
            content, cut = saved.source, False
            lost = ", ".join(f"`{name}`" for name in saved.dropped) + f" [{CUT_TESTS}]"
            repairs.append(f"cut off at the token limit: kept its complete tests, dropped {lost}")
            if loop:
                repairs.append(f"{loop.describe()} {dropped_repeats}")
    if code:
        python = RepairKind.PYTHON_TESTS if is_tests_file(path) else RepairKind.PYTHON
        fixed = repair(python, content, off=repairs_off)
        content, repairs = fixed.content, [*repairs, *fixed.notes]
    problem = ""
    if cut:
        problem = (
            f"{path}: {loop.describe()} until the token limit; write each case once "
            "and finish the file"
            if loop
            else f"{path}: cut off at the token limit before it was finished; "
            "write it shorter and complete"
        )
    if len(content) > MAX_ARTIFACT_CHARS:
        problem = (
            f"{path}: {len(content)} characters, cut at {MAX_ARTIFACT_CHARS}; write it shorter"
        )
        content = content[:MAX_ARTIFACT_CHARS]
    return Draft(Artifact(path=path, kind=kind, content=content), usage, served, problem, repairs)


def _looping(message: AIMessage, *, prose: bool, code: bool) -> LineLoop | PhraseLoop | None:
    """Return the loop that a reply cut off at the token limit ends in, when it is asked again.

    Code: a block of lines written over. Markdown: a phrase written over inside a line
    (a block of its lines or paragraphs written over ends after its first copy instead).
    """
    if not _cut_off(message) or not (code or prose):
        return None
    return line_loop(text_of(message)) if code else phrase_loop(text_of(message))


def _continue(text: str) -> list[BaseMessage]:
    """Return the turns that ask a model to go on with a reply it was cut off in."""
    return [
        AIMessage(text),
        HumanMessage(
            "You were cut off at the token limit. Continue exactly where you stopped: "
            "no repetition, no preamble, no opening fence."
        ),
    ]


def _rest(first: str, more: str) -> str:
    """Return a continuation without the reply's opening fence, if the model repeated it."""
    opened, again = _OPEN_FENCE.match(first), _OPEN_FENCE.match(more)
    if opened and again and opened.group().strip() == again.group().strip():
        return more[again.end() :]
    return more


def _starts_over(first: str, more: str) -> bool:
    """Say whether a continuation starts the reply over: its first line is the reply's first."""

    def opening(text: str) -> str:
        text = text[m.end() :] if (m := _OPEN_FENCE.match(text)) else text
        return next((line.strip() for line in text.splitlines() if line.strip()), "")

    head = opening(first)
    return len(head) >= 6 and opening(more) == head


def _cut_off(message: AIMessage) -> bool:
    """Say whether the reply stopped at the token limit (provider-neutral)."""
    meta = message.response_metadata or {}
    reason = meta.get("finish_reason") or meta.get("done_reason") or meta.get("stop_reason")
    return reason in ("length", "max_tokens")
