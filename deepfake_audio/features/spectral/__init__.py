"""Spectral front ends: log filterbank energies, their cepstra, frame-to-frame differences and
the bands' phase deviations (:mod:`.torch_front_end` in torch, :mod:`.numpy_front_end` in
numpy)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from deepfake_audio.features.base import SAMPLE_RATE, FrontEndSettings, NumpyFrontEnd

if TYPE_CHECKING:
    from torch import nn

SCALES = ("mel", "linear")
FILTERS = "mel_filters.npy"  # the filterbank [bins, n_mels], in a model package
DCT = "dct.npy"  # the DCT matrix [n_mels, cepstra], for cepstra


@dataclass(frozen=True)
class SpectralFeatures(FrontEndSettings):
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
    def blocks(self) -> tuple[int, ...]:
        """Rows per kind of value, each normalised on its own: the bands or cepstra with their
        deltas, then the phase deviations."""
        cepstral = (self.cepstra or self.n_mels) * (self.static + self.deltas)
        return (cepstral, self.n_mels) if self.phase else (cepstral,)

    @property
    def banded(self) -> bool:  # type: ignore[override]
        """Whether the rows are filterbank bands (no cepstra, no phase rows): what band
        masks such as SpecAugment need."""
        return not self.cepstra and not self.phase

    @property
    def window_samples(self) -> int:
        """Waveform length that yields exactly ``frames`` frames (centred STFT)."""
        return (self.frames - 1) * self.hop_length

    @classmethod
    def example(cls) -> SpectralFeatures:
        return cls(n_mels=20, n_fft=512, hop_length=160, frames=32, cepstra=10, deltas=1,
                   phase=True)  # fmt: skip

    def front_end(self) -> nn.Module:
        from deepfake_audio.features.spectral.torch_front_end import SpectralFrontEnd

        return SpectralFrontEnd(self)

    def package_files(self) -> dict[str, bytes]:
        from deepfake_audio.features.spectral.torch_front_end import SpectralFrontEnd

        front_end = SpectralFrontEnd(self)
        files = {FILTERS: _npy(front_end.mel.fb.numpy())}
        if front_end.dct is not None:
            files[DCT] = _npy(front_end.dct.numpy())
        return files

    def numpy_front_end(self, folder: Path | None = None) -> NumpyFrontEnd:
        from deepfake_audio.features.spectral.numpy_front_end import SpectralNumpyFrontEnd

        if folder is None:
            raise ValueError("the numpy spectral front end reads its filterbank from a package")
        dct = np.load(folder / DCT) if self.cepstra else None
        return SpectralNumpyFrontEnd(self, np.load(folder / FILTERS), dct)

    def package_file_names(self) -> list[str]:
        return [FILTERS, DCT] if self.cepstra else [FILTERS]

    def describe(self) -> str:
        """E.g. "60 cepstral coefficients of 128 linear log filterbank energies, with 2 orders
        of deltas"."""
        bands = f"{self.n_mels} {self.scale} log filterbank energies"
        described = f"{self.cepstra} cepstral coefficients of {bands}" if self.cepstra else bands
        if not self.static:
            described = f"{self.deltas} orders of deltas of {described}"
        elif self.deltas:
            described += f", with {self.deltas} orders of deltas"
        return described + (", and the bands' phase deviations" if self.phase else "")

    def shown_as(self) -> SpectralFeatures:
        return self


def _npy(values: np.ndarray) -> bytes:
    import io

    buffer = io.BytesIO()
    np.save(buffer, values)
    return buffer.getvalue()
