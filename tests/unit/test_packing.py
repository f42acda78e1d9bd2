"""Context packing: never over budget, objective always kept, compress only past the line."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devfactory.memory.packing import (
    Upstream,
    approx_tokens,
    consolidate,
    excerpt,
    fit_lines,
    fold_alike,
    pack,
    sections,
    summarise,
)


def words(text: str) -> int:
    """A deterministic tokenizer for the properties: one token per word."""
    return len(text.split())


WORD = st.text(alphabet="abcdefghij", min_size=1, max_size=6)
TEXT = st.lists(WORD, min_size=1, max_size=120).map(" ".join)
UPSTREAM = st.lists(
    st.builds(Upstream, path=st.sampled_from(["a.md", "b.py", "c.yaml"]), content=TEXT),
    max_size=4,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    objective=TEXT,
    model=st.one_of(st.just(""), TEXT),
    memories=st.lists(TEXT, max_size=8),
    upstream=UPSTREAM,
    budget=st.integers(min_value=1, max_value=400),
)
def test_packing_never_exceeds_the_budget_and_keeps_the_objective(
    objective: str, model: str, memories: list[str], upstream: list[Upstream], budget: int
) -> None:
    retained: list[list[str]] = []
    packed = pack(
        objective,
        budget=budget,
        count=words,
        mental_model=model,
        memories=memories,
        upstream=upstream,
        retain=retained.append,
    )
    assert words(packed.text) <= budget
    assert packed.tokens == words(packed.text)
    if words(objective) + 1 <= budget:  # it fits (with room for a cut mark): kept whole, first
        assert packed.text.startswith(objective)
    else:  # it does not: its beginning is what there is
        assert objective.startswith(packed.text.removesuffix(" [...]")) or packed.text == ""
    if not packed.compressed:
        assert packed.dropped == [] and retained == []
    elif upstream or memories:  # everything was handed to memory before it was shortened
        [batch] = retained
        assert batch[: len(memories)] == memories
        assert [b.split(":")[0] for b in batch[len(memories) :]] == [u.path for u in upstream]


@given(objective=TEXT, memories=st.lists(TEXT, max_size=5), budget=st.integers(50, 2000))
def test_nothing_is_compressed_below_the_line(
    objective: str, memories: list[str], budget: int
) -> None:
    packed = pack(objective, budget=budget, count=words, memories=memories)
    full = words(objective) + sum(words(m) + 1 for m in memories) + (2 if memories else 0)
    if full <= 0.8 * budget:
        assert not packed.compressed
        assert all(m in packed.text for m in memories)


def test_past_the_line_it_retains_then_consolidates_then_refreshes_then_truncates() -> None:
    steps: list[str] = []
    memories = [
        "todos live in sqlite",
        "todos live in sqlite",  # a duplicate
        "todos live in sqlite with wal",  # contains the one above
        "the api is fastapi",
    ]
    long_file = "# Design\n## Storage\n" + "\n".join(f"line {i} " * 5 for i in range(60))

    def retain(batch: list[str]) -> None:
        steps.append("retain")
        assert "todos live in sqlite" in batch  # before anything was merged away

    def refresh(kept: list[str]) -> str:
        steps.append("refresh")
        return "notes: " + "; ".join(kept)

    packed = pack(
        "OBJECTIVE build the todo api",
        budget=120,
        count=words,
        mental_model="old notes",
        memories=memories,
        upstream=[Upstream("architecture.md", long_file), Upstream("b.md", long_file)],
        retain=retain,
        refresh=refresh,
    )
    assert steps == ["retain", "refresh"]
    assert packed.compressed and packed.merged == 2
    assert packed.summarised == ["architecture.md", "b.md"]
    assert packed.text.startswith("OBJECTIVE build the todo api")
    assert "notes: todos live in sqlite with wal; the api is fastapi" in packed.text
    assert "# Design" in packed.text  # the summary keeps headings
    assert words(packed.text) <= 120


def test_the_objective_alone_over_budget_is_cut_to_it() -> None:
    packed = pack("one two three four five six", budget=4, count=words, memories=["x"])
    assert packed.text == "one two three [...]"
    assert packed.truncated == "objective" and packed.dropped == ["memories"]


def test_consolidate_and_summarise() -> None:
    assert consolidate(["A b", "a B!", "a b c", "d"]) == ["a b c", "d"]
    text = "```\n# Title\nfirst\nsecond\n## Part\nthird\n"
    assert summarise(text, lines=3) == "# Title\n## Part\nfirst"


def test_the_model_tokenizer_counts_are_respected() -> None:
    from devfactory.models.embeddings import MiniLMEmbedder

    tokens = MiniLMEmbedder().count_tokens
    upstream = [Upstream("spec.md", "The service exposes /todos and /todos/{id}. " * 80)]
    packed = pack("Build the todo API.", budget=200, count=tokens, upstream=upstream)
    assert tokens(packed.text) <= 200
    assert packed.text.startswith("Build the todo API.")


SPEC = "\n\n".join(
    [
        "# wordcount\nA command-line tool that counts words.",
        "## Counting\nThe function count_words(text) splits on whitespace and returns the count.",
        "## Billing\nInvoices are issued monthly to every customer account holder.",
        "## Output\nThe CLI prints the count; --json prints one JSON object instead.",
        "## Glossary\nA customer account holder is a person who pays the invoices.",
    ]
)


def test_a_requirement_that_fits_is_seen_whole() -> None:
    seen = excerpt(SPEC, "anything", budget=words(SPEC), count=words)
    assert seen.whole and seen.text == SPEC and seen.left_out == ()


def test_a_long_requirement_keeps_its_overview_and_the_sections_the_call_needs() -> None:
    seen = excerpt(
        SPEC, "wordcount/core.py def count_words(text: str) -> int", budget=40, count=words
    )
    assert not seen.whole and words(seen.text) <= 40
    assert seen.text.startswith("# wordcount\nA command-line tool")  # the overview first
    assert "splits on whitespace" in seen.text  # the section about count_words
    assert "Invoices are issued" not in seen.text
    assert "Billing" in seen.left_out and "Counting" not in seen.left_out
    assert seen.text.rstrip().endswith("]") and "Billing" in seen.text.splitlines()[-1]
    # kept sections stay in the document's order
    output = excerpt(SPEC, "count_words --json output", budget=60, count=words)
    assert output.text.index("## Counting") < output.text.index("## Output")


def test_a_requirement_without_headings_is_cut_at_paragraphs_and_one_block_to_the_budget() -> None:
    billing = "Invoices go out monthly to every account holder on the list."
    plain = "Overview of the tool.\n\nThe slugify function lowercases.\n\n" + billing * 3
    seen = excerpt(plain, "slugify", budget=24, count=words)
    assert "slugify function" in seen.text and "Invoices" not in seen.text
    assert sections(plain)[0] == "Overview of the tool."
    block = " ".join(["word"] * 50)
    assert words(excerpt(block, "word", budget=10, count=words).text) <= 10


@settings(max_examples=200, deadline=None)
@given(text=st.lists(TEXT, min_size=1, max_size=12).map("\n\n".join), focus=TEXT,
       budget=st.integers(min_value=1, max_value=300))  # fmt: skip
def test_an_excerpt_never_exceeds_its_budget(text: str, focus: str, budget: int) -> None:
    seen = excerpt(text, focus, budget=budget, count=words)
    assert words(seen.text) <= budget
    assert seen.whole == (words(text) <= budget)


def test_lines_that_differ_only_in_their_numbers_are_said_once_with_their_count() -> None:
    lines = [f"test_sum_{n} failed: assert {n} == {n + 1}" for n in range(1, 41)]
    other = "test_sum_3 failed: the module did not import"
    folded = fold_alike([*lines[:2], other, *lines[2:]])
    assert folded == [
        "test_sum_1 failed: assert 1 == 2 (and 39 more like it, only numbers differ)",
        other,
    ]
    assert fold_alike(["a 1", "b 1"]) == ["a 1", "b 1"]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=st.lists(TEXT, max_size=30), budget=st.integers(min_value=20, max_value=400))
def test_fitted_lines_never_exceed_the_budget_and_keep_their_order(
    lines: list[str], budget: int
) -> None:
    fitted = fit_lines(lines, budget, words)
    assert sum(words(line) + 2 for line in fitted) <= budget
    if sum(words(line) + 2 for line in lines) <= budget:
        assert fitted == lines  # nothing is changed while everything fits
    elif fitted and fitted[-1].endswith("more not shown)"):
        shown = len(fitted) - 1
        assert int(fitted[-1].strip("(").split()[0]) == len(fold_alike(lines)) - shown


def test_a_line_too_long_for_what_is_left_is_cut_and_the_rest_counted() -> None:
    lines = ["short one", "x " * 400, "third", "fourth"]
    fitted = fit_lines(lines, 60, approx_tokens)
    assert fitted[0] == "short one"
    assert fitted[1].startswith("x x") and fitted[1].endswith("[...]")
    assert fitted[2] == "(2 more not shown)"
    assert sum(approx_tokens(line) + 2 for line in fitted) <= 60
