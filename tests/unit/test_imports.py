"""A Python draft that uses a standard-library module it never imported gets the import."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from langchain_core.messages import HumanMessage

from devfactory.graph.imports import add_missing_imports
from devfactory.graph.structured import draft_file
from tests.unit.test_structured import model

SLUG = '''"""Slugs."""

from __future__ import annotations


def slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def main() -> None:
    print(json.dumps([slugify(a) for a in sys.argv[1:]]))


if __name__ == "__main__":
    main()
'''


def test_the_forgotten_modules_are_imported_after_the_docstring_and_future(
    tmp_path: Path,
) -> None:
    fixed, added = add_missing_imports(SLUG)
    assert added == ["json", "re", "sys"]
    assert fixed.startswith(
        '"""Slugs."""\n\nfrom __future__ import annotations\nimport json\nimport re\nimport sys\n'
    )
    script = tmp_path / "slug.py"
    script.write_text(fixed)
    ran = subprocess.run(
        [sys.executable, str(script), "Hello World"], capture_output=True, text=True, check=True
    )
    assert ran.stdout.strip() == '["hello-world"]'
    assert add_missing_imports(fixed) == (fixed, [])  # nothing twice


@pytest.mark.parametrize(
    "source",
    [
        "import re as regex\nre = regex\nprint(re.sub('a', 'b', 'a'))\n",  # bound by assignment
        "def f(re):\n    return re.sub('a', 'b', 'a')\n",  # an argument
        "from datetime import datetime\nprint(datetime.now())\n",  # imported
        "print(datetime.now())\n",  # meant `from datetime import datetime`: not guessed
        "print(requests.get('http://x'))\n",  # not the standard library's
        "print(this.s)\n",  # importing it would print: never
        "def broken(:\n    re.sub()\n",  # a syntax error: the syntax check reports it
    ],
)
def test_only_an_unbound_stdlib_module_with_those_attributes_is_imported(source: str) -> None:
    assert add_missing_imports(source) == (source, [])


def test_a_file_without_a_docstring_gets_the_import_on_its_first_line() -> None:
    assert add_missing_imports("x = os.getcwd()") == ("import os\nx = os.getcwd()", ["os"])


def test_a_python_draft_is_repaired_and_says_so() -> None:
    got = draft_file(model(SLUG), [HumanMessage("x")], path="slug.py", kind="python",
                     max_model_errors=1)  # fmt: skip
    assert got.artifact is not None and "import re\n" in got.artifact.content
    added = [f"`import {m}` added (used, never imported)" for m in ("json", "re", "sys")]
    assert got.repairs == added
    doc = draft_file(model("# Doc\n\nUse re.sub here.\n"), [HumanMessage("x")], path="a.md",
                     kind="markdown", max_model_errors=1)  # fmt: skip
    assert doc.repairs == []
