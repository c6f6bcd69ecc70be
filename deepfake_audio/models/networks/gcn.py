"""Graph convolutions over kNN graphs of feature frames (PyG)."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from deepfake_audio.models.networks.base import Network, expect_rank, register_network


@register_network
class GCNNetwork(Network):
    """Two GCN layers over a batch of frame graphs, mean pooling per graph, one linear output."""

    reads = "graph"

    def __init__(self, input_shape: list[int], hidden_size: int = 64) -> None:
        super().__init__(input_shape=list(input_shape), hidden_size=hidden_size)
        expect_rank("GCNNetwork", input_shape, "[frames, rows]", "GraphDataModule")
        from torch_geometric.nn import GCNConv

        self.conv1 = GCNConv(input_shape[-1], hidden_size)
        self.conv2 = GCNConv(hidden_size, hidden_size)
        self.head = nn.Linear(hidden_size, 1)

    def forward(self, graphs: Any) -> torch.Tensor:
        from torch_geometric.nn import global_mean_pool

        hidden = torch.relu(self.conv1(graphs.x, graphs.edge_index))
        hidden = torch.relu(self.conv2(hidden, graphs.edge_index))
        return self.head(global_mean_pool(hidden, graphs.batch)).reshape(-1)
