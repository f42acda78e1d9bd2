"""The README's examples as Documentation's build check reads them: what runs, what is skipped."""

from __future__ import annotations

from devfactory.checks.tools.readme import Example, Skip, examples

README = """\
# Calc

## Install

```bash
git clone https://example.org/calc.git
cd calc
python -m venv .venv
source .venv/bin/activate
pip install -e .
```

## Usage

```console
$ python -m calc add 2 3
5
$ python -m calc add \\
    10 20
30
```

```sh
# a comment is not a command
export CALC_PRECISION=2
calc add <a> <b>
docker build -t calc .
```

```python
from calc import add
assert add(1, 2) == 3
```

```pycon
>>> from calc import add
>>> add(2, 3)
5
```

```
>>> 1 + 1
2
```

```json
{"not": "run"}
```

    $ python -m calc indented code is prose here
"""


def test_each_example_is_read_in_order_with_its_line() -> None:
    runnable, _ = examples(README)
    assert runnable == [
        Example(7, "shell", "cd calc"),
        Example(16, "shell", "python -m calc add 2 3"),
        Example(18, "shell", "python -m calc add 10 20"),
        Example(25, "shell", "export CALC_PRECISION=2"),
        Example(31, "python", "from calc import add\nassert add(1, 2) == 3\n"),
        Example(36, "doctest", ">>> from calc import add\n>>> add(2, 3)\n5\n"),
        Example(42, "doctest", ">>> 1 + 1\n2\n"),
    ]


def test_what_cannot_run_offline_in_a_sandbox_is_skipped_with_why() -> None:
    _, skipped = examples(README)
    assert skipped == [
        Skip(6, "git clone https://example.org/calc.git", "needs the network"),
        Skip(8, "python -m venv .venv", "a virtualenv"),
        Skip(9, "source .venv/bin/activate", "a virtualenv"),
        Skip(10, "pip install -e .", "installs: the software and its dependencies are installed"),
        Skip(26, "calc add <a> <b>", "a placeholder to fill in"),
        Skip(27, "docker build -t calc .", "needs Docker"),
    ]


def test_a_readme_with_no_fenced_example_has_none() -> None:
    assert examples("# Calc\n\nRun `python -m calc`.\n") == ([], [])
