"""Label-blind waveform augmentations, applied to training clips only."""

from __future__ import annotations

import torch
from torch import nn


class WaveAugmentation(nn.Module):
    """Base class: with probability ``p``, map a mono waveform ``[samples]`` to a new one."""

    def __init__(self, p: float = 1.0) -> None:
        super().__init__()
        self.p = p

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        if torch.rand(()) >= self.p:
            return wave
        return self.apply(wave)

    def apply(self, wave: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError


class WhiteNoise(WaveAugmentation):
    """Add Gaussian white noise at a signal-to-noise ratio drawn uniformly in dB."""

    def __init__(self, min_snr_db: float = 20.0, max_snr_db: float = 40.0, p: float = 0.5) -> None:
        super().__init__(p)
        self.min_snr_db = min_snr_db
        self.max_snr_db = max_snr_db

    def apply(self, wave: torch.Tensor) -> torch.Tensor:
        snr_db = self.min_snr_db + (self.max_snr_db - self.min_snr_db) * torch.rand(())
        signal_power = wave.pow(2).mean().clamp_min(1e-10)
        noise_std = torch.sqrt(signal_power / 10 ** (snr_db / 10))
        return wave + noise_std * torch.randn_like(wave)
