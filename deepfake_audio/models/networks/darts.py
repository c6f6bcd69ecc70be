"""DARTS temporal cells: the search's supernet and the network derived from its genotype."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from deepfake_audio.models.cells import Cell, CellStack, MixedEdge
from deepfake_audio.models.genotypes import Genotype, derive_genotype, load_genotype
from deepfake_audio.models.networks.base import Network, expect_rank, register_network
from deepfake_audio.models.operations import OPERATIONS


@register_network
class DartsNetwork(Network):
    """The network derived from a DARTS search: ``cells`` temporal cells whose edges are the
    operations of ``genotype`` on ``[batch, frames, rows]``. ``genotype`` is a JSON file
    (written by ``deepfake search``) or its :meth:`~.genotypes.Genotype.to_dict` data; the
    config keeps the data, so a checkpoint or package does not need the file."""

    def __init__(
        self,
        input_shape: list[int],
        genotype: str | Path | dict[str, Any],
        channels: int = 32,
        cells: int = 2,
    ) -> None:
        nodes = load_genotype(genotype)
        super().__init__()
        self.cell_genotype = nodes
        expect_rank("DartsNetwork", input_shape, "[frames, rows]", "SequenceDataModule")
        edges = [operation for node in nodes.nodes for operation, _ in node]
        sources = [[source for _, source in node] for node in nodes.nodes]

        def cell() -> Cell:
            return Cell(channels, sources, lambda k: OPERATIONS[edges[k]](channels))

        self.body = CellStack(input_shape[-1], channels, cells, cell)

    def recorded(self, arguments: dict[str, Any]) -> dict[str, Any]:
        return {**arguments, "genotype": self.cell_genotype.to_dict()}  # the data, not a file name

    @classmethod
    def example(cls, input_shape: list[int]) -> DartsNetwork:
        cell = {"nodes": [[["gru", 0]], [["conv_3", 0], ["skip", 1]]]}
        return cls(input_shape, cell, channels=8, cells=1)

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        return self.body(frames)


@register_network
class SearchNetwork(Network):
    """The DARTS search's supernet: cells of ``nodes`` intermediate nodes, each taking every
    preceding node through a PC-DARTS :class:`~.cells.MixedEdge` over ``operations``.

    The architecture parameters, shared by all cells, are ``alphas`` (one row of operation
    weights per edge) and ``betas`` (one weight per edge, normalised over each node's edges).
    """

    def __init__(
        self,
        input_shape: list[int],
        channels: int = 16,
        cells: int = 1,
        nodes: int = 4,
        partial: int = 4,
        operations: list[str] | None = None,
    ) -> None:
        operations = list(operations or OPERATIONS)
        super().__init__()
        expect_rank("SearchNetwork", input_shape, "[frames, rows]", "SequenceDataModule")
        unknown = sorted(set(operations) - set(OPERATIONS))
        if unknown:
            raise ValueError(f"unknown operations {unknown}; known: {sorted(OPERATIONS)}")
        self.operations = operations
        self.sources = [list(range(node)) for node in range(1, nodes + 1)]

        def cell() -> Cell:
            return Cell(channels, self.sources, lambda k: MixedEdge(channels, operations, partial))

        self.body = CellStack(input_shape[-1], channels, cells, cell)
        edges = sum(map(len, self.sources))
        self.alphas = nn.Parameter(1e-3 * torch.randn(edges, len(operations)))
        self.betas = nn.Parameter(1e-3 * torch.randn(edges))

    def architecture_parameters(self) -> list[nn.Parameter]:
        return [self.alphas, self.betas]

    def weight_parameters(self) -> list[nn.Parameter]:
        return list(self.body.parameters())

    def edge_weights(self) -> torch.Tensor:
        """``[edges, operations]``: softmax over each edge's operations."""
        return self.alphas.softmax(dim=-1)

    def node_weights(self) -> torch.Tensor:
        """``[edges]``: softmax of the betas over the edges into each node."""
        sizes = list(map(len, self.sources))
        return torch.cat([part.softmax(dim=0) for part in self.betas.split(sizes)])

    def edge_names(self) -> list[str]:
        """``"source->node"`` for every edge, in order."""
        return [f"{s}->{n}" for n, sources in enumerate(self.sources, start=1) for s in sources]

    def genotype(self, top_k: int = 2) -> Genotype:
        """The discrete cell the architecture parameters currently pick."""
        with torch.no_grad():
            return derive_genotype(
                self.operations, self.sources, self.edge_weights(), self.node_weights(), top_k
            )

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        return self.body(frames, self.edge_weights(), self.node_weights())
