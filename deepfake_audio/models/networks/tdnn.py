"""Time-delay networks: dilated 1-D convolutions along time with statistics pooling."""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

import torch
from torch import nn

from deepfake_audio.models.networks.base import Network, expect_rank, register_network

if TYPE_CHECKING:
    from deepfake_audio.features import InputSpec


def _conv_bn_relu(
    in_channels: int, out_channels: int, kernel_size: int, dilation: int = 1
) -> nn.Sequential:
    padding = dilation * (kernel_size - 1) // 2
    return nn.Sequential(
        nn.Conv1d(in_channels, out_channels, kernel_size, padding=padding, dilation=dilation),
        nn.BatchNorm1d(out_channels),
        nn.ReLU(),
    )


@register_network
class TDNNNetwork(Network):
    """A time-delay network on ``[batch, frames, rows]``: the rows are the channels of 1-D
    convolutions along time (5 frames, then residual blocks of a dilated 3-frame and a 1x1
    convolution per dilation), and mean and standard deviation over time feed one linear
    output, as in x-vector embeddings; about 0.1 M parameters. ``used_features`` < the rows of
    a frame reads only its first values (e.g. the cepstral block, not the phase rows after it):
    ensemble members that see different features err on different clips."""

    def __init__(
        self,
        input_shape: list[int],
        channels: int = 64,
        dilations: tuple[int, ...] = (1, 2, 3, 4),
        dropout: float = 0.0,
        used_features: int | None = None,
    ) -> None:
        super().__init__()
        expect_rank("TDNNNetwork", input_shape, "[frames, rows]", "SequenceDataModule")
        in_features = input_shape[-1]
        self.used_features = in_features if used_features is None else used_features
        if not 0 < self.used_features <= in_features:
            raise ValueError(
                f"used_features must be 1 to the {in_features} values of a frame, "
                f"got {used_features}"
            )
        self.stem = _conv_bn_relu(self.used_features, channels, 5)
        self.blocks = nn.ModuleList(
            nn.Sequential(
                _conv_bn_relu(channels, channels, 3, d), _conv_bn_relu(channels, channels, 1)
            )
            for d in dilations
        )
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(2 * channels, 1)

    def check_input(self, spec: InputSpec) -> None:
        # A count that stops inside a block (e.g. after a change of cepstra) would feed the
        # network part of the phase rows: refuse it.
        ends = list(itertools.accumulate(spec.features.blocks))
        if self.used_features not in ends:
            raise ValueError(
                f"used_features {self.used_features} does not end a block of these features: "
                f"a network can read the first {' or '.join(map(str, ends))} values "
                "(the cepstral rows, then the phase rows)"
            )

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        hidden = self.stem(frames[..., : self.used_features].transpose(1, 2))
        for block in self.blocks:
            hidden = hidden + block(hidden)
        std, mean = torch.std_mean(hidden, dim=-1)
        return self.head(self.dropout(torch.cat([mean, std], dim=-1))).reshape(-1)
