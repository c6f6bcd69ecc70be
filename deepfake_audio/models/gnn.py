"""Graph convolutional detector on kNN graphs of mel frames."""

from __future__ import annotations

import torch
from lightning.pytorch.cli import LRSchedulerCallable, OptimizerCallable

from deepfake_audio.models.base import Detector
from deepfake_audio.models.networks import GCNNetwork


class GCNDetector(Detector):
    """Two GCN layers, mean pooling over the frames of each clip, one linear output."""

    def __init__(
        self,
        input_shape: list[int],
        hidden_size: int = 64,
        optimizer: OptimizerCallable = torch.optim.Adam,
        scheduler: LRSchedulerCallable | None = None,
        balanced_loss: bool = False,
    ) -> None:
        super().__init__(input_shape, optimizer, scheduler, balanced_loss)
        self.save_hyperparameters()
        self.network = GCNNetwork(self.input_shape[-1], hidden_size)
