"""Searched temporal cells, kept as data: written and read as JSON, never evaluated as code."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from deepfake_audio.models.operations import NONE, OPERATIONS

Edge = tuple[str, int]  # (operation, source node)


@dataclass(frozen=True)
class Genotype:
    """A discrete cell: ``nodes[i]`` lists the edges ``(operation, source)`` into intermediate
    node ``i + 1``; node 0 is the cell's input, and a source must precede its node."""

    nodes: tuple[tuple[Edge, ...], ...]

    def __post_init__(self) -> None:
        if not self.nodes:
            raise ValueError("a genotype needs at least one intermediate node")
        for node, edges in enumerate(self.nodes, start=1):
            if not edges:
                raise ValueError(f"node {node} has no incoming edge")
            for operation, source in edges:
                if operation not in OPERATIONS or operation == NONE:
                    known = sorted(set(OPERATIONS) - {NONE})
                    raise ValueError(f"unknown operation {operation!r}; known: {known}")
                if not 0 <= source < node:
                    raise ValueError(f"node {node} takes node {source}, which does not precede it")

    def to_dict(self) -> dict[str, Any]:
        return {"nodes": [[[op, source] for op, source in edges] for edges in self.nodes]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Genotype:
        nodes = tuple(
            tuple((str(op), int(source)) for op, source in edges) for edges in data["nodes"]
        )
        return cls(nodes=nodes)

    def to_json(self) -> str:
        """JSON with one line per node."""
        nodes = ",\n  ".join(json.dumps(edges) for edges in self.to_dict()["nodes"])
        return f'{{"nodes": [\n  {nodes}\n]}}\n'

    @classmethod
    def from_json(cls, text: str) -> Genotype:
        return cls.from_dict(json.loads(text))


def load_genotype(genotype: str | Path | dict[str, Any]) -> Genotype:
    """A genotype from a JSON file, or from its :meth:`Genotype.to_dict` data."""
    if isinstance(genotype, dict):
        return Genotype.from_dict(genotype)
    path = Path(genotype)
    if not path.is_file():
        raise ValueError(f"genotype {str(genotype)!r} is not a file (a JSON genotype is)")
    return Genotype.from_json(path.read_text())


def derive_genotype(
    operations: Sequence[str],
    sources: Sequence[Sequence[int]],
    edge_weights: torch.Tensor,
    node_weights: torch.Tensor,
    top_k: int = 2,
) -> Genotype:
    """The discrete cell of a search: each node keeps its ``top_k`` incoming edges ranked by
    node weight times the edge's strongest operation other than ``none``, which each kept edge
    becomes. ``edge_weights`` is ``[edges, operations]``, ``node_weights`` ``[edges]``, both
    normalised, edges in the order of ``sources``."""
    candidates = [index for index, name in enumerate(operations) if name != NONE]
    if not candidates:
        raise ValueError("the search space has no operation besides 'none'")
    nodes, k = [], 0
    for node_sources in sources:
        ranked = []
        for source in node_sources:
            weights = edge_weights[k, candidates]
            best = int(weights.argmax())
            strength = float(node_weights[k] * weights[best])
            ranked.append((strength, source, operations[candidates[best]]))
            k += 1
        kept = sorted(ranked, key=lambda edge: -edge[0])[:top_k]
        nodes.append(tuple((name, source) for _, source, name in sorted(kept, key=lambda e: e[1])))
    return Genotype(nodes=tuple(nodes))
