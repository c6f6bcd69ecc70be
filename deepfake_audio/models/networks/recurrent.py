"""Recurrent networks over frame sequences."""

from __future__ import annotations

import torch
from torch import nn

from deepfake_audio.models.networks.base import Network, expect_rank, register_network


@register_network
class RecurrentNetwork(Network):
    """A batch-first LSTM or GRU (``cell``) over ``[batch, frames, rows]``; its last state is
    classified by one linear output. The seed's LSTM is one layer of 32 units."""

    def __init__(
        self,
        input_shape: list[int],
        hidden_size: int = 32,
        cell: str = "lstm",
        num_layers: int = 1,
    ) -> None:
        super().__init__()
        expect_rank("RecurrentNetwork", input_shape, "[frames, rows]", "SequenceDataModule")
        kinds = {"lstm": nn.LSTM, "gru": nn.GRU}
        if cell not in kinds:
            raise ValueError(f"unknown recurrent cell {cell!r}: use one of {sorted(kinds)}")
        self.recurrence = kinds[cell](input_shape[-1], hidden_size, num_layers, batch_first=True)
        self.head = nn.Linear(hidden_size, 1)

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        outputs, _ = self.recurrence(frames)
        return self.head(outputs[:, -1]).reshape(-1)
