"""The spectral front end in numpy, for scoring without torch (the ONNX backend): the same rows
as :class:`~.torch_front_end.SpectralFrontEnd` from the same filterbank."""

from __future__ import annotations

import numpy as np

from deepfake_audio.features.spectral import SpectralFeatures


class SpectralNumpyFrontEnd:
    """Windows ``[n, samples]`` to ``[n, rows, frames]``, as
    :class:`~.torch_front_end.SpectralFrontEnd` computes them, given its filterbank
    ``[bins, n_mels]`` and DCT matrix (for cepstra)."""

    def __init__(
        self, features: SpectralFeatures, mel_filters: np.ndarray, dct: np.ndarray | None
    ) -> None:
        self.features = features
        self.mel_filters = mel_filters
        self.dct = dct
        bins_per_band = mel_filters.sum(axis=0).clip(min=1e-10)
        self.band_weights = (mel_filters / bins_per_band).astype(np.float32)
        n_fft, hop = features.n_fft, features.hop_length
        self.bin_advance = (2 * np.pi * hop * np.arange(n_fft // 2 + 1) / n_fft).astype(np.float32)
        self.hann = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)).astype(np.float32)

    def __call__(self, crops: np.ndarray) -> np.ndarray:
        n_fft, hop = self.features.n_fft, self.features.hop_length
        padded = np.pad(crops, ((0, 0), (n_fft // 2, n_fft // 2)), mode="reflect")
        frames = np.lib.stride_tricks.sliding_window_view(padded, n_fft, axis=-1)[:, ::hop]
        spectrum = np.fft.rfft(frames * self.hann, axis=-1).astype(np.complex64)
        values = np.log(np.abs(spectrum) ** 2 @ self.mel_filters + np.float32(1e-6))
        if self.dct is not None:
            values = values @ self.dct
        orders = [values]
        for _ in range(self.features.deltas):
            orders.append(np.diff(orders[-1], axis=1, prepend=orders[-1][:, :1]))
        rows = orders if self.features.static else orders[1:]
        if self.features.phase:
            rows.append(self.phase_deviation(spectrum) @ self.band_weights)
        return np.concatenate(rows, axis=-1).transpose(0, 2, 1)

    def phase_deviation(self, spectrum: np.ndarray) -> np.ndarray:
        """``SpectralFrontEnd.phase_deviation`` on ``[n, frames, bins]``."""
        phase = np.angle(spectrum)
        advance = np.diff(phase, axis=1, prepend=phase[:, :1]) - self.bin_advance
        advance[:, 0] = 0.0
        return np.abs(np.remainder(advance + np.pi, 2 * np.pi) - np.pi) / np.pi
