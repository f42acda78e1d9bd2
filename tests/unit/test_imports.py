"""A Python draft that uses a standard-library module it never imported gets the import."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import HumanMessage

from devfactory.graph.model_io.structured import draft_file
from devfactory.repairs.missing_imports import (
    absolute_project_imports,
    add_missing_imports,
    add_project_imports,
    project_modules,
)
from devfactory.software.plan import PLAN_PATH, BuildPlan
from tests.fakes import ScriptedModels, always_good, run_graph
from tests.unit.test_build_plan import CLI_REQUIREMENT, cli_plan
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
        "def test_x(monkeypatch):\n    monkeypatch.setattr(datetime, 'now', f)\n",  # the class's
        "def test_x(monkeypatch):\n    monkeypatch.setattr(hashlib, name, f)\n",  # which one?
    ],
)
def test_only_an_unbound_stdlib_module_with_those_attributes_is_imported(source: str) -> None:
    assert add_missing_imports(source) == (source, [])


def test_a_module_patched_by_name_is_imported() -> None:
    # demo at abb69bb, run 3: QA's file patched hashlib and never imported it
    source = (
        "def test_x(monkeypatch):\n    monkeypatch.setattr(hashlib, 'sha256', f)\n"
        "    with patch.object(json, 'dumps'):\n        setattr(os, 'sep', '/')\n"
    )
    fixed, added = add_missing_imports(source)
    assert added == ["hashlib", "json", "os"]
    assert fixed.startswith("import hashlib\nimport json\nimport os\n")


def test_a_file_without_a_docstring_gets_the_import_on_its_first_line() -> None:
    assert add_missing_imports("x = os.getcwd()") == ("import os\nx = os.getcwd()", ["os"])


def test_a_python_draft_is_repaired_and_says_so() -> None:
    got = draft_file(model(SLUG), [HumanMessage("x")], path="slug.py", kind="python",
                     max_model_errors=1)  # fmt: skip
    assert got.artifact is not None and "import re\n" in got.artifact.content
    said = "added (used, never imported) [stdlib-imports]"
    added = [f"`import {m}` {said}" for m in ("json", "re", "sys")]
    assert got.repairs == added
    doc = draft_file(model("# Doc\n\nUse re.sub here.\n"), [HumanMessage("x")], path="a.md",
                     kind="markdown", max_model_errors=1)  # fmt: skip
    assert doc.repairs == []


def test_the_project_names_a_file_uses_are_imported_from_the_one_module_that_defines_them() -> None:
    source = (
        '"""Tests."""\n\nimport pytest\n\n\ndef test_it(tmp_path):\n'
        "    assert slugify('A b') == 'a-b' and parse('1.0') and len(tmp_path.name)\n"
        "    assert Version and helper()\n"
    )
    modules = {"textslug": ["slugify", "helper"], "semver": ["Version", "parse", "helper"]}
    fixed, lines = add_project_imports(source, modules)
    assert lines == ["from semver import Version, parse", "from textslug import slugify"]
    assert fixed.startswith('"""Tests."""\nfrom semver import Version, parse\nfrom textslug')
    assert "helper" not in fixed.split("import pytest")[0]  # two modules define it: not guessed
    bound = "from textslug import slugify as slugify\nslugify('x')\n"
    assert add_project_imports(bound, modules) == (bound, [])


def test_a_relative_import_of_a_project_module_is_made_absolute_wherever_it_stands() -> None:
    source = (
        "try:\n    from ..wordcount.core import (\n        count,  # é\n        split as s,\n"
        "    )\nexcept ImportError:\n    raise\nfrom . import cli, core  # both\n"
        "from . import cli, fixtures\n"
    )
    fixed, changed = absolute_project_imports(source, ["wordcount.core", "wordcount.cli"])
    assert fixed == (
        "try:\n    from wordcount.core import count, split as s\nexcept ImportError:\n    raise\n"
        "from wordcount import cli, core  # both\nfrom . import cli, fixtures\n"
    )  # `fixtures` is no project module: that import is the tests' own, left
    assert [new for _, new in changed] == [
        "from wordcount.core import count, split as s",
        "from wordcount import cli, core",
    ]
    two = ["a.core", "b.core"]  # `.core` could be either: not guessed
    assert absolute_project_imports("from .core import f\n", two) == ("from .core import f\n", [])


def test_the_repaired_tests_file_runs_where_the_relative_one_cannot(tmp_path: Path) -> None:
    (tmp_path / "checksum.py").write_text("def digest(text):\n    return len(text)\n")
    tests = tmp_path / "tests"
    tests.mkdir()
    written = "from .checksum import digest\n\n\ndef test_digest():\n    assert digest('ab') == 2\n"
    pytest_run = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"]
    (tests / "test_checksum.py").write_text(written)
    before = subprocess.run(pytest_run, cwd=tmp_path, capture_output=True, text=True, check=False)
    assert "attempted relative import with no known parent package" in before.stdout
    (tests / "test_checksum.py").write_text(absolute_project_imports(written, ["checksum"])[0])
    after = subprocess.run(pytest_run, cwd=tmp_path, capture_output=True, text=True, check=False)
    assert after.returncode == 0, after.stdout


def test_the_project_modules_are_the_written_code_files_but_this_one_and_main() -> None:
    plan = BuildPlan.model_validate(cli_plan())
    written = {
        "wordcount/__init__.py": "def count_words(text):\n    return 0\n\n_hidden = 1\n",
        "wordcount/__main__.py": "def main():\n    pass\n",
    }
    assert project_modules(plan, written, "tests/test_wordcount.py") == {
        "wordcount": ["count_words"]
    }
    assert project_modules(plan, written, "wordcount/__init__.py") == {}


def unimported(call: Any) -> str:
    """A lean run whose tests file uses ``count_words`` and never imports it."""
    if call.kind == "draft" and call.path == PLAN_PATH:
        return json.dumps(cli_plan())
    if call.kind == "draft" and call.path == "wordcount/__init__.py":
        return "def count_words(text: str) -> int:\n    return len(text.split())\n"
    if call.kind == "draft" and call.path == "tests/test_wordcount.py":
        return "def test_counts() -> None:\n    assert count_words('a b') == 2\n"
    return always_good(call)


def test_a_tests_file_that_never_imports_the_code_gets_the_import_in_the_stage(
    settings: Any,
) -> None:
    state = run_graph("lean", ScriptedModels(unimported), settings, CLI_REQUIREMENT)
    qa = state["stages"]["qa-engineering"]
    assert (
        "tests/test_wordcount.py: `from wordcount import count_words` added (used, never imported)"
        " [project-imports]" in qa["repairs"]
    )
    (tests,) = [a for a in qa["result"]["artifacts"] if a["path"] == "tests/test_wordcount.py"]
    assert tests["content"].startswith("from wordcount import count_words\n")


def test_a_repair_switched_off_in_the_settings_is_not_made_in_the_stage(settings: Any) -> None:
    """``repairs_off`` reaches the stage: the import is not added, and no repair says it was."""
    off = settings.with_overrides(repairs_off=("project-imports",))
    state = run_graph("lean", ScriptedModels(unimported), off, CLI_REQUIREMENT)
    qa = state["stages"]["qa-engineering"]
    repairs = qa.get("repairs", [])
    assert not any("added (used, never imported)" in r for r in repairs)
    # left as written, the file uses a name it never binds: refused and asked again at once
    assert any(r.startswith("tests/test_wordcount.py: asked again at once") for r in repairs)


COPIED = 'def count_words(text: str) -> int:\n    """Count the words of the text, split on\n'


def test_a_tests_file_that_copies_the_module_is_told_so_and_not_shown_the_copy_again(
    settings: Any,
) -> None:
    """QA's file the module written out again, cut (make test's demo at d22dde2)."""
    seen: list[str] = []

    def copies_first(call: Any) -> str:
        if call.kind == "draft" and call.path == "tests/test_wordcount.py":
            seen.append(str(call.messages[-1].content))
            if call.n == 0:
                return COPIED
            return "from wordcount import count_words\n\ndef test_counts() -> None:\n" + (
                "    assert count_words('a b') == 2\n"
            )
        return unimported(call)

    state = run_graph("lean", ScriptedModels(copies_first), settings, CLI_REQUIREMENT)
    qa = state["stages"]["qa-engineering"]
    assert qa["outcome"] == "PASSED"
    assert len(seen) == 2
    assert "tests/test_wordcount.py holds no test" in seen[1]
    assert "`count_words` again, copied from wordcount/__init__.py" in seen[1]
    assert "Your previous version" not in seen[1]  # the copy is not shown as the one to fix
    assert any(
        "asked again at once: tests/test_wordcount.py holds no test" in r for r in qa["repairs"]
    )


def test_the_fixtures_of_a_conftest_already_written_keep_the_tests_that_ask_for_them() -> None:
    from devfactory.contracts import Artifact, ArtifactKind, Usage
    from devfactory.graph.model_io.structured import Draft
    from devfactory.graph.stage.work import bind_project_names

    plan = BuildPlan.model_validate(cli_plan())
    tests = (
        "def test_counts(words):\n    assert words\n\n\n"
        "def test_cases(text, expected):\n    assert text == expected\n"
    )

    def drafted(written: dict[str, str]) -> Draft:
        draft = Draft(Artifact(path="tests/test_x.py", kind=ArtifactKind.PYTHON, content=tests),
                      Usage())  # fmt: skip
        bind_project_names(draft, plan, written, "tests/test_x.py")
        return draft

    conftest = "import pytest\n\n\n@pytest.fixture\ndef words():\n    return ['a']\n"
    kept = drafted({"tests/conftest.py": conftest})
    assert kept.artifact is not None and "def test_counts" in kept.artifact.content
    assert "def test_cases" not in kept.artifact.content
    assert kept.repairs == [
        "tests asking for a fixture nothing defines dropped: test_cases (asks for `text`) "
        "[unknown-fixtures]"
    ]
    unkept = drafted({})  # no conftest: both ask for what nothing defines, the file is the model's
    assert unkept.artifact is not None and unkept.artifact.content == tests
    assert unkept.repairs == []


def test_a_handler_of_a_written_module_called_in_a_test_is_sent_as_a_request() -> None:
    from devfactory.contracts import Artifact, ArtifactKind, Usage
    from devfactory.graph.model_io.structured import Draft
    from devfactory.graph.stage.work import bind_project_names

    plan = BuildPlan.model_validate(cli_plan())
    service = (
        "from fastapi import FastAPI\n\napp = FastAPI()\n\n\n"
        "@app.post('/count', status_code=201)\ndef count(text: str):\n    return len(text)\n"
    )
    tests = (
        "from wordcount import count\n\n\n"
        "def test_a():\n    assert count('a b').status_code == 201\n"
    )
    draft = Draft(
        Artifact(path="tests/test_x.py", kind=ArtifactKind.PYTHON, content=tests), Usage()
    )
    bind_project_names(draft, plan, {"wordcount/__init__.py": service}, "tests/test_x.py")
    assert draft.artifact is not None
    assert (
        "TestClient(app).post('/count', params={'text': 'a b'}).status_code"
        in draft.artifact.content
    )
    assert draft.repairs == ["calls of `count` read as responses sent as requests [handler-calls]"]
