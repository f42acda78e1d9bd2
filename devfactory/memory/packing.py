"""Context packing: build a stage's context within a token budget, objective first.

Order of importance: the objective (always present), the team's mental model,
recalled memories (most relevant first), upstream artifacts. While everything
fits under ``compress_at`` of the budget it is used as is. Past that line the
context is compressed in four steps, each only as far as needed:

1. **retain** the batch: everything about to be shortened or cut is handed to
   memory first (``retain``), so compression never loses knowledge;
2. **consolidate**: duplicate memories are merged and each upstream artifact is
   replaced by an extractive summary (its headings and first lines);
3. **refresh the mental model** from what was kept (``refresh``);
4. **truncate**: the least important parts are dropped, then the last kept
   part is cut, until the context fits the budget.

Token counts come from ``count`` (the serving model's tokenizer where it has
one; see ``token_counter``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

Count = Callable[[str], int]

CUT_MARK = "[...]"  # where a text shown to a model was cut (packing here, briefs' files)
CUT = f" {CUT_MARK}"


@dataclass(frozen=True)
class Upstream:
    """One upstream artifact offered to the stage."""

    path: str
    content: str


@dataclass
class Packed:
    """A packed context and what packing did to fit it."""

    text: str
    tokens: int
    budget: int
    compressed: bool = False
    retained: list[str] = field(default_factory=list)  # handed to memory before shortening
    merged: int = 0  # duplicate memories merged
    summarised: list[str] = field(default_factory=list)  # upstream paths replaced by summaries
    dropped: list[str] = field(default_factory=list)  # parts cut entirely
    truncated: str = ""  # the part cut short, if any


def _norm(text: str) -> str:
    return re.sub(r"\W+", " ", text.lower()).strip()


def consolidate(memories: Sequence[str]) -> list[str]:
    """Merge duplicates: the same words, or one memory contained in another."""
    kept: list[str] = []
    for memory in memories:
        key = _norm(memory)
        if not key or any(key in _norm(k) for k in kept):
            continue
        kept = [k for k in kept if _norm(k) not in key]  # a longer one replaces a shorter
        kept.append(memory)
    return kept


def summarise(content: str, *, lines: int = 6) -> str:
    """Summarise a file extractively: its headings, then its first meaningful lines."""
    rows = [r.rstrip() for r in content.splitlines() if r.strip() and not r.startswith("```")]
    headings = [r for r in rows if r.lstrip().startswith("#")]
    body = [r for r in rows if not r.lstrip().startswith("#")]
    return "\n".join([*headings[:lines], *body[: max(0, lines - len(headings[:lines]))]])


def _fit(text: str, budget: int, count: Count) -> str:
    """Return the longest prefix of ``text`` (plus a cut mark) within ``budget`` tokens."""
    if count(text) <= budget:
        return text
    lo, hi = 0, len(text)
    while lo < hi:  # binary search on characters; counts are monotone in prefix length
        mid = (lo + hi + 1) // 2
        if count(text[:mid].rstrip() + CUT) <= budget:
            lo = mid
        else:
            hi = mid - 1
    fitted = text[:lo].rstrip() + CUT if lo else ""
    while fitted and count(fitted) > budget:  # a tokenizer that is not monotone in length
        lo = lo - max(1, lo // 10)
        fitted = text[:lo].rstrip() + CUT if lo > 0 else ""
    return fitted


_NUMBERS = re.compile(r"\d+")


def fold_alike(lines: Sequence[str]) -> list[str]:
    """Say once each line among those that differ only in their numbers, with how many came.

    Forty parametrised tests that fail the same way (``test_x_1`` ... ``test_x_40``) say one
    thing; the first of them stands for the others.
    """
    groups: dict[str, list[str]] = {}
    for line in lines:
        groups.setdefault(_NUMBERS.sub("#", line), []).append(line)
    return [
        first if not rest else f"{first} (and {len(rest)} more like it, only numbers differ)"
        for first, *rest in groups.values()
    ]


def fit_lines(lines: Sequence[str], budget: int, count: Count) -> list[str]:
    """Return ``lines`` within ``budget`` tokens, one line each with a two-token mark.

    All of them while they fit (their bytes bound their tokens: the tokenizer is
    asked only past that); else those alike said once (``fold_alike``), as many
    as fit in order, the first that does not fit cut, and a last line saying how
    many more were left out.
    """
    if sum(len(line.encode()) + 2 for line in lines) <= budget:  # no token is under a byte
        return list(lines)
    if count("\n".join(lines)) + 2 * len(lines) <= budget:
        return list(lines)
    folded = fold_alike(lines)
    room = budget - count(f"({len(folded)} more not shown)") - 2  # the last line's room
    kept: list[str] = []
    for line in folded:
        cost = count(line) + 2
        if cost > room:
            cut = _fit(line, room - 2, count) if room > 2 else ""
            kept += [cut] if cut else []
            break
        kept.append(line)
        room -= cost
    if len(kept) < len(folded):
        kept.append(f"({len(folded) - len(kept)} more not shown)")
    return kept


def _render(
    objective: str, model: str, memories: Sequence[str], upstream: Sequence[Upstream]
) -> list[tuple[str, str]]:
    parts = [("objective", objective)]
    if model:
        parts.append(("mental model", "## Your notes\n" + model))
    if memories:
        parts.append(("memories", "## Recalled\n" + "\n".join(f"- {m}" for m in memories)))
    parts.extend((f"upstream {u.path}", f"## {u.path}\n{u.content}") for u in upstream)
    return parts


def _join(parts: Sequence[tuple[str, str]]) -> str:
    return "\n\n".join(text for _, text in parts if text)


def pack(
    objective: str,
    *,
    budget: int,
    count: Count,
    mental_model: str = "",
    memories: Sequence[str] = (),
    upstream: Sequence[Upstream] = (),
    compress_at: float = 0.8,
    retain: Callable[[list[str]], None] | None = None,
    refresh: Callable[[list[str]], str] | None = None,
) -> Packed:
    """Pack the stage context into ``budget`` tokens; the objective always comes first."""
    if budget < 1:
        raise ValueError("the budget must be at least one token")
    parts = _render(objective, mental_model, memories, upstream)
    text = _join(parts)
    if count(text) <= compress_at * budget:
        return Packed(text, count(text), budget)
    out = Packed("", 0, budget, compressed=True)
    # 1. retain the batch before anything is shortened
    batch = [*memories, *(f"{u.path}: {summarise(u.content, lines=3)}" for u in upstream)]
    if retain is not None and batch:
        retain(batch)
        out.retained = batch
    if count(objective) >= budget:  # nothing else fits: the objective, cut to the budget
        out.text = _fit(objective, budget, count)
        out.truncated = "objective"
        out.dropped = [name for name, _ in parts[1:]]
        out.tokens = count(out.text)
        return out
    # 2. consolidate
    kept = consolidate(memories)
    out.merged = len(memories) - len(kept)
    short = [Upstream(u.path, summarise(u.content)) for u in upstream]
    out.summarised = [
        u.path for u, s in zip(upstream, short, strict=True) if s.content != u.content
    ]
    # 3. refresh the mental model from what is kept
    model = refresh(kept) if refresh is not None else mental_model
    parts = _render(objective, model, kept, short)
    # 4. truncate: drop the least important parts, then cut the last one kept
    while len(parts) > 1 and count(_join(parts)) > budget:
        dropped_name, _ = parts.pop()
        out.dropped.insert(0, dropped_name)
    if count(_join(parts)) > budget:  # only the objective and one part remain
        head = _join(parts[:-1])
        room = budget - count(head + "\n\n")
        name, last = parts[-1]
        cut = _fit(last, room, count) if room > 0 else ""
        parts = [*parts[:-1], (name, cut)] if cut else parts[:-1]
        if cut:
            out.truncated = name
        else:
            out.dropped.insert(0, name)
    out.text = _join(parts)
    if count(out.text) > budget:  # joining added tokens: cut the whole, objective first
        out.text = _fit(out.text, budget, count)
    out.tokens = count(out.text)
    return out


_WORD = re.compile(r"[a-z][a-z0-9_]{2,}|--?[a-z][a-z0-9-]*|/[a-z0-9_/{}.-]+")
_COMMON = frozenset(
    "the and for with that this from are was were have has not but all any can each "
    "its into one two when what which who will would should must shall may also only "
    "than then them they their there these those such per via use used file files".split()
)


@dataclass(frozen=True)
class Excerpt:
    """What a call sees of a long text: the overview and the sections that matter to it."""

    text: str
    whole: bool = True
    left_out: tuple[str, ...] = ()  # the heading of each section left out ("paragraph n")


def sections(text: str) -> list[str]:
    """Split a document at its markdown headings, or at blank lines when it has none."""
    lines = text.strip().splitlines()
    if sum(1 for line in lines if line.startswith("#")) >= 2:
        out: list[list[str]] = [[]]
        for line in lines:
            if line.startswith("#") and any(r.strip() for r in out[-1]):
                out.append([])
            out[-1].append(line)
        return ["\n".join(s).strip() for s in out if "".join(s).strip()]
    return [p.strip() for p in re.split(r"\n\s*\n", text.strip()) if p.strip()]


def _terms(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in _COMMON}


def excerpt(text: str, focus: str, *, budget: int, count: Count) -> Excerpt:
    """Return ``text`` whole when it fits ``budget``, else the parts a call needs.

    A long document is cut into sections (``sections``). The first one, its
    overview, is always kept (shortened to half the budget if need be). The
    others are ranked by the rare terms they share with ``focus`` (what the call
    is about: the file, its interface, the team's work) and with the overview
    (what the spec is about), ties in the document's order, and kept while they
    fit, most relevant first; one that shares nothing with either is left out. Kept sections are
    printed in the document's order, and a last line names what was left out,
    so the reader knows it exists.
    """
    if budget < 1:
        raise ValueError("the budget must be at least one token")
    if count(text) <= budget:
        return Excerpt(text)
    parts = sections(text)
    if len(parts) == 1:
        return Excerpt(_fit(text, budget, count), whole=False)
    head = _fit(parts[0], budget // 2, count)
    rest = parts[1:]
    wanted = _terms(focus) | _terms(parts[0])  # the overview names what the spec is about
    found = [_terms(p) for p in rest]
    rare = {t: math.log(1 + len(rest) / sum(t in f for f in found)) for t in set().union(*found)}
    score = [sum(rare[t] for t in f & wanted) for f in found]
    order = sorted(range(len(rest)), key=lambda i: (-score[i], i))
    kept: set[int] = set()
    for i in order:
        if score[i] <= 0:
            break  # it shares nothing with the call or the overview: not needed here
        trial = kept | {i}
        body = "\n\n".join([head, *(rest[j] for j in sorted(trial))])
        if count(body + "\n\n" + _left_out_note(rest, trial)) <= budget:
            kept.add(i)
    left_out = tuple(
        _name(rest[j]) or f"paragraph {j + 2}" for j in range(len(rest)) if j not in kept
    )
    body = "\n\n".join([head, *(rest[j] for j in sorted(kept))])
    if left_out:
        body = _fit(body + "\n\n" + _left_out_note(rest, kept), budget, count)
    return Excerpt(body, whole=False, left_out=left_out)


def _name(section: str) -> str:
    """Return a section's heading ("" for a paragraph without one), at most 50 characters."""
    line = section.strip().splitlines()[0]
    name = line.lstrip("# ").strip() if line.startswith("#") else ""
    return name if len(name) <= 50 else name[:47] + "..."


def _left_out_note(rest: Sequence[str], kept: set[int]) -> str:
    names = [_name(rest[j]) for j in range(len(rest)) if j not in kept]
    named = [n for n in names if n]
    unnamed = len(names) - len(named)
    if unnamed:
        named.append(f"{unnamed} paragraph{'s' if unnamed > 1 else ''}")
    return f"[left out of this excerpt, less relevant here: {'; '.join(named)}]" if names else ""


def approx_tokens(text: str) -> int:
    """Estimate tokens when no tokenizer is at hand (about four characters a token)."""
    return (len(text) + 3) // 4


def token_counter(chat_model: object) -> Count:
    """Return the serving model's token counter, or the estimate when it has none."""
    tokenize = getattr(chat_model, "count_tokens", None)
    if callable(tokenize):
        return tokenize
    return approx_tokens
