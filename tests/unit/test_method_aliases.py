"""A planned function written as a classmethod or staticmethod gets its module-level name."""

from __future__ import annotations

import json
from typing import Any

from devfactory.repairs.method_aliases import alias_methods
from tests.fakes import ScriptedModels, always_good
from tests.unit.test_build_plan import CLI_REQUIREMENT, cli_plan, run_graph

SOURCE = """class Version:
    def __init__(self, text):
        self.text = text

    @classmethod
    def parse(cls, text):
        return cls(text)

    @staticmethod
    def compare(a, b):
        return (a > b) - (a < b)

    def bump(self, part):
        return self.text
"""


def test_a_classmethod_and_a_staticmethod_are_bound_at_module_level_and_work() -> None:
    fixed, lines = alias_methods(SOURCE, ["Version", "parse", "compare", "bump", "parse"])
    assert lines == ["parse = Version.parse", "compare = Version.compare"]
    assert fixed.endswith("\n\nparse = Version.parse\ncompare = Version.compare\n")
    space: dict[str, Any] = {}
    exec(compile(fixed, "semver.py", "exec"), space)  # noqa: S102 - our own test text
    assert space["parse"]("1.0").text == "1.0" and space["compare"]("2", "1") == 1


def test_an_instance_method_a_bound_name_a_shared_name_or_a_broken_file_is_left() -> None:
    assert alias_methods(SOURCE, ["bump"]) == (SOURCE, [])  # needs an instance
    bound = SOURCE + "\n\ndef parse(text):\n    return Version(text)\n"
    assert alias_methods(bound, ["parse"]) == (bound, [])
    imported = "from x import parse\n" + SOURCE
    assert alias_methods(imported, ["parse"]) == (imported, [])
    twice = (
        SOURCE + "\n\nclass Other:\n    @classmethod\n    def parse(cls, t):\n        return t\n"
    )
    assert alias_methods(twice, ["parse"]) == (twice, [])  # which one? not a guess
    assert alias_methods("class (:\n", ["parse"]) == ("class (:\n", [])


def test_the_stage_passes_with_the_alias_recorded_and_no_second_call(settings: Any) -> None:
    written = "class Counter:\n    @staticmethod\n    def count_words(text: str) -> int:\n" \
              "        return len(text.split())\n"  # fmt: skip

    def script(call: Any) -> str:
        if call.kind == "draft" and call.path == "architecture/plan.json":
            return json.dumps(cli_plan())
        if call.kind == "draft" and call.path == "wordcount/__init__.py":
            return written
        return always_good(call)

    models = ScriptedModels(script)
    state = run_graph("lean", models, settings, CLI_REQUIREMENT)
    backend = state["stages"]["backend-engineering"]
    assert backend["outcome"] == "PASSED" and backend["attempts"] == 1
    assert (
        "wordcount/__init__.py: `count_words = Counter.count_words` added "
        "(planned here, written as a method) [method-aliases]"
    ) in backend["repairs"]
    inits = [c for c in models.chat.calls if c.path == "wordcount/__init__.py"]
    assert len(inits) == 1  # repaired, not asked again
