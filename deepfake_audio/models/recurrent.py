"""Recurrent detectors on log-mel frame sequences ``[batch, frames, n_mels]``."""

from __future__ import annotations

import torch
from lightning.pytorch.cli import LRSchedulerCallable, OptimizerCallable
from torch import nn

from deepfake_audio.models.base import Detector
from deepfake_audio.models.darts_cell import DartsRecurrence


class _LastStateHead(nn.Module):
    """Run a batch-first recurrence and classify its final hidden state."""

    def __init__(self, recurrence: nn.Module, hidden_size: int) -> None:
        super().__init__()
        self.recurrence = recurrence
        self.head = nn.Linear(hidden_size, 1)

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        outputs, _ = self.recurrence(frames)
        return self.head(outputs[:, -1])


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
        lstm = nn.LSTM(self.input_shape[-1], hidden_size, num_layers, batch_first=True)
        self.network = _LastStateHead(lstm, hidden_size)


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
        cell = DartsRecurrence(self.input_shape[-1], hidden_size, genotype)
        self.network = _LastStateHead(cell, hidden_size)
