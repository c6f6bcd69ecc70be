"""The TDNN detector: a small time-delay network with statistics pooling over frame sequences
(:class:`~.networks.TDNNNetwork`)."""

from __future__ import annotations

import torch
from lightning.pytorch.cli import LRSchedulerCallable, OptimizerCallable

from deepfake_audio.models.base import Detector
from deepfake_audio.models.networks import TDNNNetwork, ensemble


class TDNNDetector(Detector):
    """Dilated 1-D convolutions over the frames of a filterbank sequence, mean and std pooling,
    one linear output (pair it with ``SequenceDataModule``); about 0.1 M parameters per member.
    ``members`` > 1 trains that many TDNNs side by side and averages their logits
    (:class:`~.networks.EnsembleNetwork`)."""

    def __init__(
        self,
        input_shape: list[int],
        channels: int = 64,
        dilations: list[int] | None = None,
        dropout: float = 0.0,
        members: int = 1,
        optimizer: OptimizerCallable = torch.optim.Adam,
        scheduler: LRSchedulerCallable | None = None,
        balanced_loss: bool = False,
    ) -> None:
        super().__init__(input_shape, optimizer, scheduler, balanced_loss)
        self.save_hyperparameters()
        network = TDNNNetwork(self.input_shape[-1], channels, dilations, dropout)
        self.network = ensemble(network, members)
