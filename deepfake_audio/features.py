"""Log-mel front end: the one place n_mels, n_fft and hop live."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torchaudio.transforms as T
from torch import nn

from deepfake_audio.audio import SAMPLE_RATE


@dataclass(frozen=True)
class MelFeatures:
    """Log-mel settings shared by a DataModule, its cache and whatever serves its models.

    ``frames`` is the length of one model input; at 16 kHz and hop 512, 250 frames are 8 s.
    """

    sample_rate: int = SAMPLE_RATE
    n_fft: int = 2048
    hop_length: int = 512
    n_mels: int = 50
    frames: int = 250

    def front_end(self) -> LogMel:
        return LogMel(self.sample_rate, self.n_fft, self.hop_length, self.n_mels)


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
        self.hop_length = hop_length
        self.mel = T.MelSpectrogram(
            sample_rate=sample_rate, n_fft=n_fft, hop_length=hop_length, n_mels=n_mels
        )

    def num_samples(self, frames: int) -> int:
        """Waveform length that yields exactly ``frames`` frames (centred STFT)."""
        return (frames - 1) * self.hop_length

    @torch.no_grad()
    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        return torch.log(self.mel(wave) + 1e-6)


def normalise_utterance(logmel: torch.Tensor) -> torch.Tensor:
    """Zero mean and unit variance over each utterance's ``[n_mels, frames]``."""
    mean = logmel.mean(dim=(-2, -1), keepdim=True)
    std = logmel.std(dim=(-2, -1), keepdim=True)
    return (logmel - mean) / (std + 1e-5)


def as_image(features: torch.Tensor, channels: int) -> torch.Tensor:
    """``[..., n_mels, frames]`` as an image ``[..., channels, n_mels, frames]`` (repeated)."""
    return features.unsqueeze(-3).expand(*features.shape[:-2], channels, *features.shape[-2:])


def as_frames(features: torch.Tensor) -> torch.Tensor:
    """``[..., n_mels, frames]`` as a frame sequence ``[..., frames, n_mels]``."""
    return features.transpose(-2, -1).contiguous()
