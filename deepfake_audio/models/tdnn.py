"""The TDNN detector: a small time-delay network with statistics pooling over frame sequences
(:class:`~.networks.TDNNNetwork`)."""

from __future__ import annotations

import torch
from lightning.pytorch.cli import LRSchedulerCallable, OptimizerCallable

from deepfake_audio.models.base import Detector
from deepfake_audio.models.networks import TDNNNetwork


class TDNNDetector(Detector):
    """Dilated 1-D convolutions over the frames of a filterbank sequence, mean and std pooling,
    one linear output (pair it with ``SequenceDataModule``); about 0.1 M parameters."""

    def __init__(
        self,
        input_shape: list[int],
        channels: int = 64,
        dilations: list[int] | None = None,
        dropout: float = 0.0,
        optimizer: OptimizerCallable = torch.optim.Adam,
        scheduler: LRSchedulerCallable | None = None,
        balanced_loss: bool = False,
    ) -> None:
        super().__init__(input_shape, optimizer, scheduler, balanced_loss)
        self.save_hyperparameters()
        self.network = TDNNNetwork(self.input_shape[-1], channels, dilations, dropout)
