"""The recurrent detector on log-mel frame sequences ``[batch, frames, n_mels]``."""

from __future__ import annotations

import torch
from lightning.pytorch.cli import LRSchedulerCallable, OptimizerCallable

from deepfake_audio.models.base import Detector
from deepfake_audio.models.networks import RecurrentNetwork


class LSTMDetector(Detector):
    """The seed's LSTM: one layer of 32 units over the frames, then a linear output."""

    def __init__(
        self,
        input_shape: list[int],
        hidden_size: int = 32,
        num_layers: int = 1,
        optimizer: OptimizerCallable = torch.optim.Adam,
        scheduler: LRSchedulerCallable | None = None,
        balanced_loss: bool = False,
    ) -> None:
        super().__init__(input_shape, optimizer, scheduler, balanced_loss)
        self.save_hyperparameters()
        self.network = RecurrentNetwork(self.input_shape[-1], hidden_size, "lstm", num_layers)
