"""Recurrent detectors on log-mel frame sequences ``[batch, frames, n_mels]``."""

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
    ) -> None:
        super().__init__(input_shape, optimizer, scheduler)
        self.save_hyperparameters()
        self.network = RecurrentNetwork(self.input_shape[-1], hidden_size, "lstm", num_layers)


class DartsDetector(Detector):
    """The seed's DARTS-LSTM: a recurrent cell from the DARTS search space, given as a genotype.

    ``genotype`` names an entry of :data:`deepfake_audio.models.genotypes.GENOTYPES` or a JSON file.
    """

    def __init__(
        self,
        input_shape: list[int],
        genotype: str = "darts_v2",
        hidden_size: int = 32,
        optimizer: OptimizerCallable = torch.optim.Adam,
        scheduler: LRSchedulerCallable | None = None,
    ) -> None:
        super().__init__(input_shape, optimizer, scheduler)
        self.save_hyperparameters()
        self.network = RecurrentNetwork(
            self.input_shape[-1], hidden_size, "darts", genotype=genotype
        )
