"""The import graph of devfactory/ has no circle and runs down the layers of docs/architecture.md.

grimp builds the graph from every import statement, including those under
``TYPE_CHECKING`` and those inside functions: a circle hidden that way is still
two modules that need each other. The layers are read from the fenced blocks
under "## Layers" in docs/architecture.md, so the document and the code cannot
drift apart: ```text holds the layers of devfactory's packages and root
modules, ```text <name> those of the modules inside ``devfactory.<name>``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = "devfactory"


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph(PACKAGE, cache_dir=None)


def circles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Return the strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    work: list[tuple[str, Iterator[str]]] = []

    def enter(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        work.append((module, iter(sorted(graph.find_modules_directly_imported_by(module)))))

    for start in sorted(graph.modules):
        if start in index:
            continue
        enter(start)
        while work:
            module, targets = work[-1]
            target = next(targets, None)
            if target is not None:
                if target not in index:
                    enter(target)
                elif target in on_stack:
                    low[module] = min(low[module], index[target])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[module])
            if low[module] == index[module]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == module:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def parse(block: str) -> list[grimp.Layer]:
    """Return the layers of one block, highest first.

    One line per layer; ``|`` separates independent siblings (they never
    import each other), spaces separate siblings that may.
    """
    found = []
    for line in block.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        if "|" in line:
            found.append(grimp.Layer(*(n.strip() for n in line.split("|")), independent=True))
        else:
            found.append(grimp.Layer(*line.split(), independent=False))
    return found


def blocks() -> dict[str, list[grimp.Layer]]:
    """Return the layers of docs/architecture.md by container (``devfactory``, ``devfactory.x``)."""
    doc = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    start = doc.index("## Layers")
    end = doc.find("\n## ", start + 1)
    section = doc[start : end if end != -1 else None]
    found = {}
    for name, block in re.findall(r"```text(?: +([\w.]+))?\n(.*?)```", section, re.S):
        container = f"{PACKAGE}.{name}" if name else PACKAGE
        assert container not in found, f"two blocks of layers for {container}"
        found[container] = parse(block)
    return found


CONTAINERS = sorted(blocks())


def test_no_import_circle(graph: grimp.ImportGraph) -> None:
    found = circles(graph)
    assert not found, f"modules that import each other, directly or through others: {found}"


def test_the_circle_finder_finds_a_circle() -> None:
    made = grimp.ImportGraph()
    for name in ("p", "p.a", "p.b", "p.c"):
        made.add_module(name)
    made.add_import(importer="p.a", imported="p.b")
    made.add_import(importer="p.b", imported="p.c")
    made.add_import(importer="p.c", imported="p.a")
    assert circles(made) == [["p.a", "p.b", "p.c"]]


def test_the_package_and_the_run_service_have_their_layers() -> None:
    # the run service's own order keeps the switchboard below the driver and the
    # decisions that answer runs above Answers
    assert {PACKAGE, f"{PACKAGE}.factory"} <= set(CONTAINERS), CONTAINERS


@pytest.mark.parametrize("container", CONTAINERS)
def test_every_part_has_a_layer(graph: grimp.ImportGraph, container: str) -> None:
    placed = {name for layer in blocks()[container] for name in layer.module_tails}
    depth = container.count(".") + 1
    parts = {m.split(".")[depth] for m in graph.modules if m.startswith(f"{container}.")}
    assert not parts - placed, f"not on any layer of {container}: {sorted(parts - placed)}"
    assert not placed - parts, (
        f"layers of {container} name what does not exist: {sorted(placed - parts)}"
    )


@pytest.mark.parametrize("container", CONTAINERS)
def test_imports_run_down_the_layers(graph: grimp.ImportGraph, container: str) -> None:
    illegal = graph.find_illegal_dependencies_for_layers(
        layers=blocks()[container], containers={container}
    )
    shown = sorted(
        f"{d.importer} imports {d.imported}: "
        + "; ".join(
            " -> ".join([",".join(sorted(r.heads)), *r.middle, ",".join(sorted(r.tails))])
            for r in list(d.routes)[:3]
        )
        for d in illegal
    )
    assert not shown, "imports against the layers:\n" + "\n".join(shown)
