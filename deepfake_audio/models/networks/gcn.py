"""Graph convolutions over kNN graphs of feature frames (PyG)."""

from __future__ import annotations

import warnings
from typing import Any

import torch
from torch import nn

from deepfake_audio.models.networks.base import Network, expect_rank, register_network


def _pyg() -> Any:
    """``torch_geometric.nn``, imported without PyG's torch.jit deprecation notice."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*torch.jit.script.* is deprecated")
        import torch_geometric.nn

    return torch_geometric.nn


@register_network
class GCNNetwork(Network):
    """Two GCN layers over a batch of frame graphs, mean pooling per graph, one linear output."""

    reads = "graph"

    def __init__(self, input_shape: list[int], hidden_size: int = 64) -> None:
        super().__init__()
        expect_rank("GCNNetwork", input_shape, "[frames, rows]", "GraphDataModule")
        layers = _pyg()
        self.conv1 = layers.GCNConv(input_shape[-1], hidden_size)
        self.conv2 = layers.GCNConv(hidden_size, hidden_size)
        self.head = nn.Linear(hidden_size, 1)

    def forward(self, graphs: Any) -> torch.Tensor:
        global_mean_pool = _pyg().global_mean_pool
        hidden = torch.relu(self.conv1(graphs.x, graphs.edge_index))
        hidden = torch.relu(self.conv2(hidden, graphs.edge_index))
        return self.head(global_mean_pool(hidden, graphs.batch)).reshape(-1)
