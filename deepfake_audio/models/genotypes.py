"""Searched recurrent cells, kept as data: loaded by name or from JSON, never evaluated as code."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

ACTIVATIONS = ("tanh", "relu", "sigmoid", "identity")


@dataclass(frozen=True)
class RecurrentGenotype:
    """A DARTS recurrent cell: node i+1 applies ``nodes[i] = (activation, input node)``;
    the cell's output averages the nodes listed in ``concat``. Node 0 mixes input and state."""

    nodes: tuple[tuple[str, int], ...]
    concat: tuple[int, ...]

    def __post_init__(self) -> None:
        for position, (activation, source) in enumerate(self.nodes, start=1):
            if activation not in ACTIVATIONS:
                raise ValueError(f"unknown activation {activation!r}; known: {sorted(ACTIVATIONS)}")
            if not 0 <= source < position:
                raise ValueError(f"node {position} takes node {source}, which does not precede it")
        if not self.concat or not all(0 <= node <= len(self.nodes) for node in self.concat):
            raise ValueError(f"concat {self.concat} names nodes outside 0..{len(self.nodes)}")

    def to_json(self) -> str:
        return json.dumps({"nodes": self.nodes, "concat": self.concat})

    @classmethod
    def from_json(cls, text: str) -> RecurrentGenotype:
        data = json.loads(text)
        nodes = tuple((str(activation), int(source)) for activation, source in data["nodes"])
        return cls(nodes=nodes, concat=tuple(int(node) for node in data["concat"]))


GENOTYPES = {
    # The recurrent cell reported as DARTS (second order) by Liu et al., ICLR 2019.
    "darts_v2": RecurrentGenotype(
        nodes=(
            ("sigmoid", 0),
            ("relu", 1),
            ("relu", 1),
            ("identity", 1),
            ("tanh", 2),
            ("sigmoid", 5),
            ("tanh", 3),
            ("relu", 5),
        ),
        concat=(1, 2, 3, 4, 5, 6, 7, 8),
    ),
}


def load_genotype(name_or_path: str) -> RecurrentGenotype:
    """A genotype from :data:`GENOTYPES` by name, or from a JSON file."""
    if name_or_path in GENOTYPES:
        return GENOTYPES[name_or_path]
    path = Path(name_or_path)
    if not path.is_file():
        raise ValueError(
            f"genotype {name_or_path!r} is neither one of {sorted(GENOTYPES)} nor a file"
        )
    return RecurrentGenotype.from_json(path.read_text())
