"""Temporal cells on ``[batch, channels, time]``, one structure for the search and for the
derived network: only the edges differ (mixed operations or one operation each)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import nn

from deepfake_audio.models.operations import OPERATIONS

EdgeFactory = Callable[[int], nn.Module]  # flat edge index -> the edge's module


def channel_shuffle(x: torch.Tensor, groups: int) -> torch.Tensor:
    """Interleave ``groups`` channel groups, so that each edge of the next cell sees channels
    that went through the operations and channels that bypassed them."""
    batch, channels, frames = x.shape
    return x.reshape(batch, groups, channels // groups, frames).transpose(1, 2).reshape_as(x)


class MixedEdge(nn.Module):
    """A PC-DARTS edge: a 1/``partial`` slice of the channels goes through every candidate
    operation, summed with the softmax weights of its α row; the other channels bypass."""

    def __init__(self, channels: int, operations: Sequence[str], partial: int) -> None:
        super().__init__()
        if channels % partial:
            raise ValueError(f"channels ({channels}) must be a multiple of partial ({partial})")
        self.partial = partial
        self.operations = nn.ModuleList(OPERATIONS[op](channels // partial) for op in operations)

    def forward(self, x: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        active, bypass = x.tensor_split([x.shape[1] // self.partial], dim=1)
        mixed = sum(w * op(active) for w, op in zip(weights, self.operations, strict=True))
        return channel_shuffle(torch.cat([mixed, bypass], dim=1), self.partial)


class Cell(nn.Module):
    """A DAG over node 0 (the cell's input) and intermediate nodes 1..N: node i sums its edges
    from the nodes in ``sources[i - 1]``. The output is a 1x1 projection of the intermediate
    nodes' concatenation, added to the input.

    For the search, ``forward`` takes each edge's operation weights and each edge's normalised
    node weight (PC-DARTS edge normalisation); the derived cell's edges take neither.
    """

    def __init__(self, channels: int, sources: Sequence[Sequence[int]], edge: EdgeFactory) -> None:
        super().__init__()
        self.sources = [list(node_sources) for node_sources in sources]
        self.edges = nn.ModuleList(edge(k) for k in range(sum(map(len, self.sources))))
        self.project = nn.Sequential(
            nn.ReLU(),
            nn.Conv1d(len(self.sources) * channels, channels, 1, bias=False),
            nn.BatchNorm1d(channels),
        )

    def forward(
        self,
        x: torch.Tensor,
        edge_weights: torch.Tensor | None = None,
        node_weights: torch.Tensor | None = None,
    ) -> torch.Tensor:
        states, k = [x], 0
        for node_sources in self.sources:
            total = torch.zeros_like(x)
            for source in node_sources:
                edge = self.edges[k]
                if edge_weights is None:
                    total = total + edge(states[source])
                else:
                    total = total + node_weights[k] * edge(states[source], edge_weights[k])
                k += 1
            states.append(total)
        return x + self.project(torch.cat(states[1:], dim=1))


class CellStack(nn.Module):
    """Frames ``[batch, frames, n_mels]`` -> stem (per-frame projection to ``channels``) ->
    cells -> mean and standard deviation over time -> one logit."""

    def __init__(
        self, input_size: int, channels: int, cells: int, cell: Callable[[], Cell]
    ) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv1d(input_size, channels, 1, bias=False), nn.BatchNorm1d(channels)
        )
        self.cells = nn.ModuleList(cell() for _ in range(cells))
        self.head = nn.Linear(2 * channels, 1)

    def forward(
        self,
        frames: torch.Tensor,
        edge_weights: torch.Tensor | None = None,
        node_weights: torch.Tensor | None = None,
    ) -> torch.Tensor:
        x = self.stem(frames.transpose(1, 2))
        for cell in self.cells:
            x = cell(x, edge_weights, node_weights)
        mean = x.mean(dim=-1)
        std = (x - mean.unsqueeze(-1)).pow(2).mean(dim=-1).add(1e-5).sqrt()
        return self.head(torch.cat([mean, std], dim=1)).reshape(-1)
