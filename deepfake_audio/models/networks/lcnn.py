"""Light CNN: convolutions with max-feature-map activations on feature images.

Lavrentyeva et al., "STC antispoofing systems for the ASVspoof2019 challenge" (Interspeech
2019), the LFCC-LCNN baseline of ASVspoof 2021; Kawa et al. (Interspeech 2023) put it on
Whisper encoder frames. Max-feature-map (MFM) splits a layer's channels in two halves and
keeps their element-wise maximum: a learned, competitive feature selection that halves the
channels. Global max and mean pooling replace the original fixed-size fully connected input,
so any number of rows and frames works.
"""

from __future__ import annotations

import torch
from torch import nn

from deepfake_audio.models.networks.base import Network, expect_rank, register_network


class MaxFeatureMap(nn.Module):
    """The element-wise maximum of the two halves of the channels (dim 1)."""

    def forward(self, maps: torch.Tensor) -> torch.Tensor:
        first, second = maps.chunk(2, dim=1)
        return torch.maximum(first, second)


def _mfm_conv(in_channels: int, out_channels: int, kernel: int) -> nn.Sequential:
    """A convolution to twice ``out_channels`` and MFM back to ``out_channels``."""
    return nn.Sequential(
        nn.Conv2d(in_channels, 2 * out_channels, kernel, padding=kernel // 2), MaxFeatureMap()
    )


@register_network
class LCNNNetwork(Network):
    """LCNN on ``[batch, channels, rows, frames]``: a 5x5 MFM convolution, then per entry of
    ``widths`` a 1x1 and a 3x3 MFM convolution with batch norm, 2x2 max pooling after the
    first and after every other block; global max and mean pooling; a fully connected MFM
    layer of ``hidden`` units with dropout; one logit: nine convolutions, as the LCNN-9 of the
    ASVspoof baselines, about 0.17 M parameters at the default widths."""

    reads = "image"

    def __init__(
        self,
        input_shape: list[int],
        widths: tuple[int, ...] = (48, 64, 32, 32),
        hidden: int = 80,
        dropout: float = 0.5,
    ) -> None:
        super().__init__()
        expect_rank("LCNNNetwork", input_shape, "[channels, rows, frames]", "MelImageDataModule")
        layers: list[nn.Module] = [
            _mfm_conv(input_shape[0], 32, 5),
            nn.MaxPool2d(2, ceil_mode=True),
        ]
        channels = 32
        for index, width in enumerate(widths):
            layers += [
                _mfm_conv(channels, channels, 1),
                nn.BatchNorm2d(channels),
                _mfm_conv(channels, width, 3),
            ]
            if index % 2 == 0:
                layers.append(nn.MaxPool2d(2, ceil_mode=True))
            layers.append(nn.BatchNorm2d(width))
            channels = width
        self.body = nn.Sequential(*layers)
        self.head = nn.Sequential(
            nn.Linear(2 * channels, 2 * hidden),
            MaxFeatureMap(),
            nn.BatchNorm1d(hidden),
            nn.Dropout(dropout),
            nn.Linear(hidden, 1),
        )

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        maps = self.body(images).flatten(2)
        pooled = torch.cat([maps.amax(dim=-1), maps.mean(dim=-1)], dim=-1)
        return self.head(pooled).reshape(-1)
