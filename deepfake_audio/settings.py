"""Feature settings shared by training, caches and every inference backend (no torch needed)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

SAMPLE_RATE = 16_000
SCALES = ("mel", "linear")

if TYPE_CHECKING:
    from deepfake_audio.features import LogMel


@dataclass(frozen=True)
class MelFeatures:
    """Log filterbank settings shared by a DataModule, its cache and whatever serves its models.

    ``frames`` is the length of one model input; at 16 kHz and hop 512, 250 frames are 8 s.
    ``scale`` spaces the ``n_mels`` triangular filters on the mel scale (``mel``) or evenly in Hz
    up to half the sample rate (``linear``, as in LFCCs), which keeps the fine detail of the
    upper band where vocoders leave most of their traces.
    """

    sample_rate: int = SAMPLE_RATE
    n_fft: int = 2048
    hop_length: int = 512
    n_mels: int = 50
    frames: int = 250
    scale: str = "mel"

    def __post_init__(self) -> None:
        if self.scale not in SCALES:
            raise ValueError(f"unknown filter scale {self.scale!r}; use one of {SCALES}")

    @property
    def window_samples(self) -> int:
        """Waveform length that yields exactly ``frames`` frames (centred STFT)."""
        return (self.frames - 1) * self.hop_length

    def front_end(self) -> LogMel:
        """The torch log-mel front end of these settings (torch loads only here)."""
        from deepfake_audio.features import LogMel

        return LogMel(self.sample_rate, self.n_fft, self.hop_length, self.n_mels, self.scale)
