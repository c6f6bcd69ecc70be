"""Front-end settings shared by training, caches and every inference backend (no torch needed)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, ClassVar

SAMPLE_RATE = 16_000
SCALES = ("mel", "linear")


@dataclass(frozen=True)
class SpectralFeatures:
    """What the front end computes from a waveform: log filterbank energies, optionally their
    cepstra, frame-to-frame differences and the bands' phase deviations.

    ``frames`` is the length of one model input; at 16 kHz and hop 512, 250 frames are 8 s.
    ``scale`` spaces the ``n_mels`` triangular filters on the mel scale (``mel``) or evenly in Hz
    up to half the sample rate (``linear``, as in LFCCs), which keeps the fine detail of the
    upper band where vocoders leave most of their traces. ``cepstra`` > 0 keeps that many
    coefficients of the log energies' DCT (cepstral coefficients: LFCCs with the linear scale,
    MFCCs with mel), and ``deltas`` appends up to two orders of their frame-to-frame differences;
    ``static=False`` then keeps the deltas alone, which carry no fixed spectral envelope, so
    neither the microphone's colour nor the recording's bandwidth. ``phase`` appends, per band,
    how far each bin's phase advance over a hop strays from a steady tone's: the phase that a
    vocoder or spectrogram inversion has to make up, and which magnitudes cannot show.
    """

    kind: ClassVar[str] = "spectral"
    local: ClassVar[bool] = True  # each frame depends on its neighbourhood only: caches crop

    sample_rate: int = SAMPLE_RATE
    n_fft: int = 2048
    hop_length: int = 512
    n_mels: int = 50
    frames: int = 250
    scale: str = "mel"
    cepstra: int = 0
    deltas: int = 0
    static: bool = True
    phase: bool = False

    def __post_init__(self) -> None:
        if self.scale not in SCALES:
            raise ValueError(f"unknown filter scale {self.scale!r}; use one of {SCALES}")
        if not 0 <= self.cepstra <= self.n_mels:
            raise ValueError(f"cepstra must be 0 to n_mels ({self.n_mels}), got {self.cepstra}")
        if self.deltas not in (0, 1, 2):
            raise ValueError(f"deltas must be 0, 1 or 2, got {self.deltas}")
        if not self.static and not self.deltas:
            raise ValueError("static=False keeps only the deltas: set deltas to 1 or 2")

    @property
    def frame_size(self) -> int:
        """Values per frame: the bands or cepstral coefficients, their deltas and the bands'
        phase deviations."""
        return sum(self.blocks)

    @property
    def blocks(self) -> tuple[int, ...]:
        """Rows per kind of value, each normalised on its own: the bands or cepstra with their
        deltas, then the phase deviations."""
        cepstral = (self.cepstra or self.n_mels) * (self.static + self.deltas)
        return (cepstral, self.n_mels) if self.phase else (cepstral,)

    @property
    def banded(self) -> bool:
        """Whether the rows are filterbank bands (no cepstra, no phase rows): what band
        masks such as SpecAugment need."""
        return not self.cepstra and not self.phase

    @property
    def window_samples(self) -> int:
        """Waveform length that yields exactly ``frames`` frames (centred STFT)."""
        return (self.frames - 1) * self.hop_length

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
