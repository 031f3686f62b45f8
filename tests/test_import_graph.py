"""No import cycles in either package, read statically from the source with ``ast``.

Every ``import`` / ``from ... import`` counts, at module level and inside functions alike (a
function-level import that closes a cycle only hides it until the function runs), except those
under ``if TYPE_CHECKING:``, which never run. ``from pkg import name`` is an edge to the module
``pkg.name`` where that is a module, else to ``pkg`` (its ``__init__``). A package's ``__init__``
importing its own submodules is not an edge back from them: Python runs the submodules while
the package is initialising, which is the ordinary layout, not a cycle.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = {
    "memory_gym_envs": ROOT / "memory_gym_envs" / "src" / "memory_gym_envs",
    "memory_agents": ROOT / "memory_agents" / "src" / "memory_agents",
}


def modules() -> dict[str, Path]:
    """Dotted module name -> file, for every module of both packages."""
    out = {}
    for package, folder in PACKAGES.items():
        for path in folder.rglob("*.py"):
            parts = [package, *path.relative_to(folder).with_suffix("").parts]
            if parts[-1] == "__init__":
                parts.pop()
            out[".".join(parts)] = path
    return out


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST):
    """Import nodes that can run (all but those under ``if TYPE_CHECKING:``)."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and _is_type_checking(node):
            stack.extend(node.orelse)
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        stack.extend(ast.iter_child_nodes(node))


def import_graph() -> dict[str, set[str]]:
    """Module -> the modules of both packages it imports."""
    mods = modules()
    graph: dict[str, set[str]] = {name: set() for name in mods}
    for name, path in mods.items():
        is_package = path.name == "__init__.py"
        for node in _imports(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                if node.level:
                    base = name.split(".")
                    base = base[: len(base) - node.level + (1 if is_package else 0)]
                    source = ".".join(base + ([node.module] if node.module else []))
                else:
                    source = node.module or ""
                targets = [
                    f"{source}.{alias.name}" if f"{source}.{alias.name}" in mods else source
                    for alias in node.names
                ]
            for target in targets:
                while target and target not in mods:  # `import a.b.c` of a non-module name: its module
                    target = target.rpartition(".")[0]
                if target and target != name:
                    graph[name].add(target)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def _path(graph: dict[str, set[str]], component: list[str]) -> str:
    """The shortest cycle through the component's first module, for the failure message: a -> b -> a."""
    members, start = set(component), component[0]
    parents: dict[str, str] = {}
    frontier = [start]
    while frontier:
        nxt = []
        for v in frontier:
            for w in sorted(graph[v] & members):
                if w == start:
                    trail = [v]
                    while trail[-1] != start:
                        trail.append(parents[trail[-1]])
                    return " -> ".join([*reversed(trail), start])
                if w not in parents:
                    parents[w] = v
                    nxt.append(w)
        frontier = nxt
    return start


def test_the_graph_sees_every_kind_of_import():
    graph = import_graph()
    assert "memory_agents.suite.catalog" in graph["memory_agents.suite.config"]  # from . import catalog
    assert "memory_gym_envs.presets" in graph["memory_gym_envs.tasks.delayed_cue"]  # from ..presets import
    assert "memory_agents.suite.training" in graph["memory_agents.suite.cli"]  # inside a function
    assert "memory_gym_envs" in graph["memory_agents.suite.catalog"]  # `import memory_gym_envs` in a function


def test_cycle_finder_finds_a_planted_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]
    assert _path(graph, ["a", "b", "c"]) == "a -> b -> c -> a"


def test_no_import_cycles_in_either_package():
    graph = import_graph()
    found = cycles(graph)
    assert not found, "import cycles:\n" + "\n".join(_path(graph, c) for c in found)


@pytest.mark.parametrize("module", ["memory_agents.cores", "memory_agents.suite.catalog", "memory_agents"])
def test_light_modules_do_not_import_stable_baselines3(module):
    code = f"import sys, {module}\nassert 'stable_baselines3' not in sys.modules, {module!r}\n"
    subprocess.run([sys.executable, "-c", code], check=True)
