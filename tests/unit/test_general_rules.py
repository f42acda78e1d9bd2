"""The tools' rules on requirement text, each on sentences of its own that no eval case has.

Every rule of the requirement parser, the skeletons, the example tests and the
filters states a general shape of requirement text; these tests hold each to
that shape with requirements written for the test, so a rule tuned to one eval
case's wording fails here.
"""

from __future__ import annotations

from devfactory.software.kinds import examples, skeleton
from devfactory.software.kinds.text_filter import stream
from devfactory.software.requirement import read_requirement

SHELVES = """# shelves

Build a shelf HTTP service with FastAPI: an app object named `app` in the module
`shelves_api`, keeping shelves in memory.

- `GET /shelves`: 200 and the shelves; `?page=K` shows the K-th page, `?size=COUNT` its
  length, `?label=L` only the shelves with that label, `?code=EU` those of one region and
  `?row=N` those on row N.
- `GET /shelves/{id}`: 200 and the shelf, or 404.
"""

SQUARES = """# squares

Build a Python module `squares` of pure functions.

- `square(n: int) -> int`: `n` times itself (3 is `9`, -2 is `4`).
- `halve(n: int) -> int`: half of an even `n` (10 is `5`); an odd `n` raises `ValueError`.
"""

UPPER = """# shout

Build a command-line program, run as `python -m shout FILE [--output OUT]`, that
prints the text of FILE in capitals.

- Exit codes: 0 on success; 1 if FILE cannot be read; 2 on usage errors.
"""


def test_a_query_placeholder_is_a_number_only_when_it_names_one_by_convention() -> None:
    made = skeleton(read_requirement(SHELVES), "Shelves.")
    assert made is not None
    assert (
        "def get_shelves(page: int | None = None, size: int | None = None, "
        "label: str | None = None, code: str | None = None, row: int | None = None):"
    ) in made.source


def test_an_argument_is_value_in_a_functions_own_sentence_is_an_example() -> None:
    bodies = {e.body.strip() for e in examples(read_requirement(SQUARES))}
    assert {"assert square(3) == 9", "assert square(-2) == 4", "assert halve(10) == 5"} <= bodies


def test_every_filter_drops_a_byte_order_mark_whatever_the_requirement_says() -> None:
    made = skeleton(read_requirement(UPPER), "Shout.")
    found = stream(read_requirement(UPPER))
    assert made is not None and found is not None
    assert "byte" not in UPPER and 'encoding="utf-8-sig"' in made.source
