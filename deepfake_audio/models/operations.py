"""The candidate operations of the DARTS temporal search space, on ``[batch, channels, time]``.

Every operation keeps the channel count and the number of frames, so any edge of a cell can
take any of them. :data:`OPERATIONS` maps each name to a builder taking the channel count.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn


class Zero(nn.Module):
    """``none``: no connection (its weight lets the search switch an edge off)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mul(0.0)


class Recurrent(nn.Module):
    """A bidirectional LSTM or GRU with ``channels / 2`` units a direction, so that its output
    has as many channels as its input."""

    def __init__(self, channels: int, kind: type[nn.LSTM] | type[nn.GRU]) -> None:
        super().__init__()
        if channels % 2:
            raise ValueError(f"recurrent operations need an even channel count, got {channels}")
        self.recurrence = kind(channels, channels // 2, batch_first=True, bidirectional=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outputs, _ = self.recurrence(x.transpose(1, 2))
        return outputs.transpose(1, 2)


def conv(channels: int, kernel: int, dilation: int = 1) -> nn.Module:
    """ReLU, a 'same'-padded dilated 1-D convolution, batch norm."""
    return nn.Sequential(
        nn.ReLU(),
        nn.Conv1d(
            channels,
            channels,
            kernel,
            padding=dilation * (kernel - 1) // 2,
            dilation=dilation,
            bias=False,
        ),
        nn.BatchNorm1d(channels),
    )


OPERATIONS: dict[str, Callable[[int], nn.Module]] = {
    "none": lambda channels: Zero(),
    "skip": lambda channels: nn.Identity(),
    "avg_pool_3": lambda channels: nn.AvgPool1d(3, stride=1, padding=1, count_include_pad=False),
    "max_pool_3": lambda channels: nn.MaxPool1d(3, stride=1, padding=1),
    "conv_3": lambda channels: conv(channels, 3),
    "dil_conv_3": lambda channels: conv(channels, 3, dilation=2),
    "dil_conv_5": lambda channels: conv(channels, 5, dilation=4),
    "lstm": lambda channels: Recurrent(channels, nn.LSTM),
    "gru": lambda channels: Recurrent(channels, nn.GRU),
}
NONE = "none"
