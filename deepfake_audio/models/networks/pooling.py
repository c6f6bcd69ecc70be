"""Attentive statistics pooling with a small MLP: a light head for frame sequences (encoder
frames or spectral features)."""

from __future__ import annotations

import torch
from torch import nn

from deepfake_audio.models.networks.base import Network, expect_rank, register_network


class AttentiveStatistics(nn.Module):
    """The attention-weighted mean and standard deviation over time of ``[batch, frames,
    width]`` (Okabe et al., Interspeech 2018): a small MLP scores every frame and value, and the
    softmax over frames of the scores weighs the statistics, so that the frames that carry the
    cue count most. Returns ``[batch, 2 * width]``."""

    def __init__(self, width: int, hidden: int) -> None:
        super().__init__()
        self.score = nn.Sequential(nn.Linear(width, hidden), nn.Tanh(), nn.Linear(hidden, width))

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        weights = self.score(frames).softmax(dim=1)
        mean = (weights * frames).sum(dim=1)
        variance = (weights * frames.pow(2)).sum(dim=1) - mean.pow(2)
        return torch.cat([mean, variance.clamp_min(1e-6).sqrt()], dim=-1)


@register_network
class AttentiveStatsNetwork(Network):
    """Attentive statistics pooling of ``[batch, frames, width]`` and an MLP of one hidden
    layer of ``hidden`` units with dropout: one logit. Frame values are layer-normalised first
    (``normalise``), so that encoder frames of any scale enter alike."""

    def __init__(
        self,
        input_shape: list[int],
        attention: int = 64,
        hidden: int = 128,
        dropout: float = 0.3,
        normalise: bool = True,
    ) -> None:
        super().__init__()
        expect_rank("AttentiveStatsNetwork", input_shape, "[frames, width]", "SequenceDataModule")
        width = input_shape[-1]
        self.norm = nn.LayerNorm(width, elementwise_affine=False) if normalise else nn.Identity()
        self.pool = AttentiveStatistics(width, attention)
        self.head = nn.Sequential(
            nn.Dropout(dropout),
            nn.Linear(2 * width, hidden),
            nn.GELU(),
            nn.Dropout(dropout),
            nn.Linear(hidden, 1),
        )

    @classmethod
    def example(cls, input_shape: list[int]) -> AttentiveStatsNetwork:
        return cls(input_shape, attention=8, hidden=16, dropout=0.1, normalise=False)

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        return self.head(self.pool(self.norm(frames))).reshape(-1)
