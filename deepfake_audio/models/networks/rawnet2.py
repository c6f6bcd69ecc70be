"""RawNet2 on the raw waveform: sinc filters, residual blocks with filter-wise feature map
scaling, a GRU and a fully connected layer.

Tak, Patino, Todisco, Nautsch, Evans and Larcher, "End-to-end anti-spoofing with RawNet2",
ICASSP 2021 (the ASVspoof 2021 baseline): 20 sinc filters of 1024 taps, two residual blocks of
20 filters and four of 128, each ending in max pooling and FMS, a 3-layer GRU of 1024 units
and a 1024-unit fully connected layer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import nn

from deepfake_audio.models.networks.base import Network, expect_rank, register_network
from deepfake_audio.models.sinc import SincConv

if TYPE_CHECKING:
    from deepfake_audio.features import InputSpec

_SLOPE = 0.3  # LeakyReLU negative slope, as in the RawNet family


class FeatureMapScaling(nn.Module):
    """Filter-wise feature map scaling: a sigmoid gate per filter from the time average,
    applied as ``x * s + s`` (scales each filter's map and shifts it by the same amount, so an
    important filter is both amplified and lifted)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.linear = nn.Linear(channels, channels)

    def forward(self, maps: torch.Tensor) -> torch.Tensor:
        scale = torch.sigmoid(self.linear(maps.mean(dim=-1))).unsqueeze(-1)
        return maps * scale + scale


class ResidualBlock(nn.Module):
    """(BN, LeakyReLU,) conv 3, BN, LeakyReLU, conv 3, plus the input (a 1x1 conv where the
    filter count changes), then max pooling by 3 and FMS. The first block skips the leading
    BN and activation: the front end has just applied them."""

    def __init__(self, in_channels: int, out_channels: int, first: bool = False) -> None:
        super().__init__()
        self.pre = (
            nn.Identity()
            if first
            else nn.Sequential(nn.BatchNorm1d(in_channels), nn.LeakyReLU(_SLOPE))
        )
        self.body = nn.Sequential(
            nn.Conv1d(in_channels, out_channels, 3, padding=1),
            nn.BatchNorm1d(out_channels),
            nn.LeakyReLU(_SLOPE),
            nn.Conv1d(out_channels, out_channels, 3, padding=1),
        )
        self.skip = (
            nn.Identity()
            if in_channels == out_channels
            else nn.Conv1d(in_channels, out_channels, 1)
        )
        self.pool = nn.MaxPool1d(3)
        self.fms = FeatureMapScaling(out_channels)

    def forward(self, maps: torch.Tensor) -> torch.Tensor:
        return self.fms(self.pool(self.body(self.pre(maps)) + self.skip(maps)))


@register_network
class RawNet2Network(Network):
    """RawNet2 on a window's waveform ``[batch, samples]`` at 16 kHz: ``sinc_filters`` sinc
    band-pass filters of ``sinc_kernel`` taps (magnitude, max pooling by 3, BN, LeakyReLU), one
    residual block with FMS per entry of ``block_channels`` (each divides time by 3), BN and
    LeakyReLU, a GRU of ``gru_layers`` x ``gru_units`` whose last step feeds a fully connected
    layer of ``fc_size`` and the logit. The defaults are the paper's (about 17.6 M parameters,
    16 M of them in the GRU). ``learn_sinc=False`` freezes the band edges at their mel-spaced
    start, as the paper does; by default they are learned."""

    reads = "waveform"

    def __init__(
        self,
        input_shape: list[int],
        sinc_filters: int = 20,
        sinc_kernel: int = 1024,
        block_channels: tuple[int, ...] = (20, 20, 128, 128, 128, 128),
        gru_units: int = 1024,
        gru_layers: int = 3,
        fc_size: int = 1024,
        learn_sinc: bool = True,
        sample_rate: int = 16000,
    ) -> None:
        super().__init__()
        expect_rank("RawNet2Network", input_shape, "[samples]", "WaveformDataModule")
        frames = (input_shape[0] - sinc_kernel + 1) // 3 ** (1 + len(block_channels))
        if frames < 1:
            raise ValueError(
                f"{input_shape[0]} samples are too few for a {sinc_kernel}-tap sinc layer and "
                f"{len(block_channels)} blocks that each divide time by 3"
            )
        self.sinc = SincConv(sinc_filters, sinc_kernel, sample_rate, learnable=learn_sinc)
        self.front = nn.Sequential(
            nn.MaxPool1d(3), nn.BatchNorm1d(sinc_filters), nn.LeakyReLU(_SLOPE)
        )
        channels = [sinc_filters, *block_channels]
        self.blocks = nn.Sequential(
            *(
                ResidualBlock(channels[i], channels[i + 1], first=i == 0)
                for i in range(len(block_channels))
            )
        )
        self.before_gru = nn.Sequential(nn.BatchNorm1d(channels[-1]), nn.LeakyReLU(_SLOPE))
        self.gru = nn.GRU(channels[-1], gru_units, num_layers=gru_layers, batch_first=True)
        self.fc = nn.Linear(gru_units, fc_size)
        self.head = nn.Linear(fc_size, 1)

    @classmethod
    def example(cls, input_shape: list[int]) -> RawNet2Network:
        return cls(
            input_shape,
            sinc_filters=8,
            sinc_kernel=129,
            block_channels=[8, 16, 16],
            gru_units=16,
            gru_layers=1,
            fc_size=16,
        )

    def check_input(self, spec: InputSpec) -> None:
        # The sinc band edges are in Hz: another sample rate would shift every band.
        if spec.sample_rate != self.sinc.sample_rate:
            raise ValueError(
                f"RawNet2Network was built for {self.sinc.sample_rate} Hz audio, got "
                f"{spec.sample_rate} Hz"
            )

    def forward(self, waves: torch.Tensor) -> torch.Tensor:
        maps = self.front(self.sinc(waves).abs())
        maps = self.before_gru(self.blocks(maps))
        steps, _ = self.gru(maps.transpose(1, 2))
        return self.head(self.fc(steps[:, -1])).reshape(-1)
