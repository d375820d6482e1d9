"""The package's import graph keeps the gateway on top: the router and the chat endpoint import nothing that
leads back to `mcp_guard.gateway`, and no import cycle runs through it (issue 20, item 7), nor anywhere else
in the package.

The graph is read from the source by AST and counts every import: module level, under `if TYPE_CHECKING:`
and inside functions, since a type-only or deferred import back to the gateway is still a circle to read.
`from x import y` counts as importing the submodule `x.y` when there is one, else `x` itself.
"""

from __future__ import annotations

import ast
from collections import deque
from functools import cache
from pathlib import Path

import pytest

import mcp_guard

PACKAGE = "mcp_guard"
ROOT = Path(mcp_guard.__file__).parent
GATEWAY = f"{PACKAGE}.gateway"
BELOW_GATEWAY = (f"{PACKAGE}.router", f"{PACKAGE}.chat")


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imported(module: str, is_package: bool, node: ast.Import | ast.ImportFrom, modules: set[str]) -> set[str]:
    """The package's modules one import statement loads: `from x import y` loads the submodule `x.y` when
    there is one, else `x` (a name defined in `x`)."""
    if isinstance(node, ast.Import):
        return {alias.name for alias in node.names} & modules
    if node.level:
        base = module.split(".")
        base = base[: len(base) - node.level + (1 if is_package else 0)]
        source = ".".join([*base, node.module] if node.module else base)
    else:
        source = node.module or ""
    submodules = {f"{source}.{alias.name}" for alias in node.names} & modules
    named_in_source = len(submodules) < len(node.names)
    return submodules | ({source} & modules if named_in_source else set())


@cache
def import_graph() -> dict[str, set[str]]:
    """Module -> the package's modules it imports (anywhere in its source)."""
    sources = {_module_name(path): path for path in ROOT.rglob("*.py")}
    modules = set(sources)
    graph: dict[str, set[str]] = {}
    for module, path in sources.items():
        is_package = path.name == "__init__.py"
        edges: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import | ast.ImportFrom):
                edges |= _imported(module, is_package, node, modules)
        edges.discard(module)
        graph[module] = edges
    return graph


def path_between(graph: dict[str, set[str]], start: str, goal: str) -> list[str] | None:
    """The shortest import chain from `start` to `goal`, or None."""
    came_from: dict[str, str | None] = {start: None}
    queue = deque([start])
    while queue:
        module = queue.popleft()
        for target in sorted(graph.get(module, ())):
            if target in came_from:
                continue
            came_from[target] = module
            if target == goal:
                chain = [goal]
                while (step := came_from[chain[-1]]) is not None:
                    chain.append(step)
                return chain[::-1]
            queue.append(target)
    return None


def test_the_graph_sees_the_gateways_own_imports() -> None:
    """Guards the checks below against a reader that finds nothing (they would then pass vacuously)."""
    graph = import_graph()
    assert f"{PACKAGE}.router" in graph[GATEWAY]
    assert path_between(graph, GATEWAY, f"{PACKAGE}.router.mcp_endpoint") is not None
    assert any(module.startswith(f"{PACKAGE}.chat.") for module in graph)


def test_router_and_chat_do_not_reach_the_gateway() -> None:
    graph = import_graph()
    below = sorted(m for m in graph if any(m == p or m.startswith(f"{p}.") for p in BELOW_GATEWAY))
    offending = [chain for m in below if (chain := path_between(graph, m, GATEWAY))]
    assert not offending, "imports leading back to the gateway:\n" + "\n".join(" -> ".join(c) for c in offending)


@pytest.mark.parametrize("module", [GATEWAY, f"{PACKAGE}.host", f"{PACKAGE}.core"])
def test_no_import_cycle_runs_through_the_gateway_or_its_protocols(module: str) -> None:
    """Nor through the Protocols the composed modules take instead of `Gateway`: a circle through them
    would be the same circle, typed differently."""
    graph = import_graph()
    cycles = [
        [module, *chain]
        for target in sorted(graph[module])
        if (chain := path_between(graph, target, module)) is not None
    ]
    assert not cycles, f"import cycles through {module}:\n" + "\n".join(" -> ".join(c) for c in cycles[:10])


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The graph's strongly connected components of more than one module (each holds at least one cycle),
    sorted; Tarjan's algorithm, iterative so a deep chain cannot hit the recursion limit."""
    index: dict[str, int] = {}
    lowest: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = lowest[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            module, targets = work[-1]
            target = next(targets, None)
            if target is not None:
                if target not in index:
                    index[target] = lowest[target] = len(index)
                    stack.append(target)
                    on_stack.add(target)
                    work.append((target, iter(sorted(graph.get(target, ())))))
                elif target in on_stack:
                    lowest[module] = min(lowest[module], index[target])
                continue
            work.pop()
            if work:
                lowest[work[-1][0]] = min(lowest[work[-1][0]], lowest[module])
            if lowest[module] == index[module]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == module:
                        break
                if len(component) > 1:
                    components.append(sorted(component))
    return sorted(components)


def _described(component: list[str], graph: dict[str, set[str]]) -> str:
    members = set(component)
    short = {m: m.removeprefix(f"{PACKAGE}.") or m for m in component}
    edges = [f"    {short[m]} -> {', '.join(sorted(short[t] for t in graph[m] & members))}" for m in component]
    return f"  {len(component)} modules: {', '.join(short.values())}\n" + "\n".join(edges)


def test_the_cycle_finder_finds_cycles() -> None:
    """Guards the check below against a finder that finds nothing."""
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set(), "e": {"e2"}, "e2": {"e"}}
    assert import_cycles(graph) == [["a", "b", "c"], ["e", "e2"]]


def test_no_import_cycle_anywhere_in_the_package() -> None:
    """Two modules that need the same thing take it from a module below both (`tool_call.py`,
    `auth/key_record.py`), a store's opener sits above its drivers, and a module composed by another takes
    it as a Protocol (`ui/handler.py`) rather than importing it back."""
    graph = import_graph()
    cycles = import_cycles(graph)
    assert not cycles, f"{len(cycles)} import cycles (each module with its imports inside the cycle):\n" + "\n".join(
        _described(component, graph) for component in cycles
    )
