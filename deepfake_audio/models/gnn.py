"""Graph convolutional detector on kNN graphs of mel frames."""

from __future__ import annotations

import torch
from lightning.pytorch.cli import LRSchedulerCallable, OptimizerCallable
from torch import nn
from torch_geometric.data import Batch
from torch_geometric.nn import GCNConv, global_mean_pool

from deepfake_audio.models.base import Detector


class GCNDetector(Detector):
    """Two GCN layers, mean pooling over the frames of each clip, one linear output."""

    def __init__(
        self,
        input_shape: list[int],
        hidden_size: int = 64,
        optimizer: OptimizerCallable = torch.optim.Adam,
        scheduler: LRSchedulerCallable | None = None,
    ) -> None:
        super().__init__(input_shape, optimizer, scheduler)
        self.save_hyperparameters()
        self.conv1 = GCNConv(self.input_shape[-1], hidden_size)
        self.conv2 = GCNConv(hidden_size, hidden_size)
        self.head = nn.Linear(hidden_size, 1)

    def forward(self, graphs: Batch) -> torch.Tensor:
        hidden = torch.relu(self.conv1(graphs.x, graphs.edge_index))
        hidden = torch.relu(self.conv2(hidden, graphs.edge_index))
        return self.head(global_mean_pool(hidden, graphs.batch)).reshape(-1)
