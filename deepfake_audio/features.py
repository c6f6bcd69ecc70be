"""Log-mel front end: the one place n_mels, n_fft and hop live."""

from __future__ import annotations

import torch
import torchaudio.transforms as T
from torch import nn

from deepfake_audio.settings import SAMPLE_RATE


class LogMel(nn.Module):
    """Waveform ``[..., samples]`` to log-mel ``[..., n_mels, frames]`` (not yet normalised)."""

    def __init__(
        self,
        sample_rate: int = SAMPLE_RATE,
        n_fft: int = 2048,
        hop_length: int = 512,
        n_mels: int = 50,
    ) -> None:
        super().__init__()
        self.mel = T.MelSpectrogram(
            sample_rate=sample_rate, n_fft=n_fft, hop_length=hop_length, n_mels=n_mels
        )

    @torch.no_grad()
    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        return torch.log(self.mel(wave) + 1e-6)


def normalise_utterance(logmel: torch.Tensor) -> torch.Tensor:
    """Zero mean and unit variance over each utterance's ``[n_mels, frames]``.

    The statistics are taken in float64, so that a constant input (digital silence) becomes
    exact zeros rather than float32 rounding noise blown up by the division.
    """
    wide = logmel.double()
    std, mean = torch.std_mean(wide, dim=(-2, -1), keepdim=True)
    return ((wide - mean) / (std + 1e-5)).to(logmel.dtype)


def as_image(features: torch.Tensor, channels: int) -> torch.Tensor:
    """``[..., n_mels, frames]`` as an image ``[..., channels, n_mels, frames]`` (repeated)."""
    return features.unsqueeze(-3).expand(*features.shape[:-2], channels, *features.shape[-2:])


def as_frames(features: torch.Tensor) -> torch.Tensor:
    """``[..., n_mels, frames]`` as a frame sequence ``[..., frames, n_mels]``."""
    return features.transpose(-2, -1).contiguous()
