"""The package's layout: no import cycle between its folders (read from the source)."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "deepfake_audio"


def unit(module: str) -> str:
    """A module's folder (``data``, ``models``, ...), or the module itself at the top level."""
    parts = module.split(".")[1:]
    return parts[0] if parts else "deepfake_audio"


def imports_between_units() -> dict[str, set[str]]:
    """Which folders (and top-level modules) each one imports from, lazy imports included."""
    edges: dict[str, set[str]] = defaultdict(set)
    for path in PACKAGE.rglob("*.py"):
        relative = path.relative_to(PACKAGE.parent).with_suffix("")
        module = ".".join(relative.parts).removesuffix(".__init__")
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            for name in names:
                if name.startswith("deepfake_audio.") and unit(name) != unit(module):
                    edges[unit(module)].add(unit(name))
    return edges


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the graph, as the units along it, else None."""
    state: dict[str, str] = {}

    def visit(node: str, path: list[str]) -> list[str] | None:
        state[node] = "open"
        for target in sorted(edges.get(node, ())):
            if state.get(target) == "open":  # on the path being walked
                return [*path[path.index(target) :], target]
            if target not in state and (cycle := visit(target, [*path, target])):
                return cycle
        state[node] = "done"
        return None

    for start in sorted(edges):
        if start not in state and (cycle := visit(start, [start])):
            return cycle
    return None


def test_no_import_cycle_between_folders():
    edges = imports_between_units()
    assert {"data", "models", "evaluate", "serve", "training"} <= set(edges)
    assert find_cycle(edges) is None, " -> ".join(find_cycle(edges))


def test_the_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_evaluation_and_serving_never_train():
    edges = imports_between_units()
    for folder in ("features", "data", "models", "evaluate", "serve"):
        assert "training" not in edges[folder], folder


def test_every_network_front_end_and_config_is_documented():
    from deepfake_audio.features import registered_front_ends
    from deepfake_audio.models.networks import registered_networks

    docs = PACKAGE.parent / "docs"
    development = (docs / "development.md").read_text()
    usage = (docs / "usage.md").read_text()
    missing = [f"network {n}" for n in registered_networks() if f"`{n}`" not in development]
    missing += [
        f"front end {kind}"
        for kind, settings in registered_front_ends().items()
        if f"`{kind}`" not in development or f"`{settings.__name__}`" not in development
    ]
    configs = PACKAGE.parent / "configs"
    for config in sorted(configs.rglob("*.yaml")):
        if f"`configs/{config.relative_to(configs)}`" not in usage:
            missing.append(f"config configs/{config.relative_to(configs)} (docs/usage.md)")
    assert not missing, missing
