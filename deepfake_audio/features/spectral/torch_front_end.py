"""The spectral front end in torch: a waveform to the rows its
:class:`~deepfake_audio.features.spectral.SpectralFeatures` name (log filterbank energies,
cepstra, deltas, phase deviations)."""

from __future__ import annotations

import math
import warnings

import torch
import torchaudio.functional as AF
import torchaudio.transforms as T
from torch import nn

from deepfake_audio.features.spectral import SpectralFeatures


class SpectralFrontEnd(nn.Module):
    """Waveform ``[..., samples]`` to log filterbank energies ``[..., n_mels, frames]`` (not yet
    normalised); ``scale="linear"`` swaps the mel filters for filters evenly spaced in Hz.

    With ``cepstra`` > 0 the output is instead the first ``cepstra`` coefficients of the
    energies' orthonormal DCT-II, and ``deltas`` stacks that many orders of their frame-to-frame
    differences below them (the first frame's difference is zero); ``static=False`` drops the
    values themselves and keeps the differences:
    ``[..., (cepstra or n_mels) * (static + deltas), frames]``. Plain differences keep the
    fastest frame-to-frame changes, which regression deltas over several frames smooth away.

    ``phase=True`` appends ``n_mels`` rows, one per filter: the filter-weighted mean of
    :meth:`phase_deviation` over its bins.
    """

    def __init__(self, features: SpectralFeatures) -> None:
        super().__init__()
        self.features = features
        rate, n_fft, hop, bands = (
            features.sample_rate, features.n_fft, features.hop_length, features.n_mels
        )  # fmt: skip
        self.stft = T.Spectrogram(n_fft=n_fft, hop_length=hop, power=None)
        bins = n_fft // 2 + 1
        linear = features.scale == "linear"
        with warnings.catch_warnings():
            if linear:  # the mel filters are replaced: empty ones do not matter
                warnings.filterwarnings("ignore", "At least one mel filterbank has all zero")
            self.mel = T.MelScale(bands, rate, n_stft=bins)
        if linear:
            self.mel.fb.copy_(AF.linear_fbanks(bins, 0.0, rate / 2, bands, rate))
        cepstra = features.cepstra
        self.register_buffer("dct", AF.create_dct(cepstra, bands, "ortho") if cepstra else None)
        # A steady tone at a bin's centre frequency advances its phase by this much per hop.
        advance = 2 * math.pi * hop * torch.arange(bins) / n_fft
        band_weights = self.mel.fb / self.mel.fb.sum(dim=0).clamp_min(1e-10)
        self.register_buffer("bin_advance", advance if features.phase else None)
        self.register_buffer("band_weights", band_weights if features.phase else None)

    @torch.no_grad()
    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        spectrum = self.stft(wave)
        values = torch.log(self.mel(spectrum.abs().pow(2)) + 1e-6)
        if self.dct is not None:
            values = (values.transpose(-2, -1) @ self.dct).transpose(-2, -1)
        orders = [values]
        for _ in range(self.features.deltas):
            orders.append(torch.diff(orders[-1], dim=-1, prepend=orders[-1][..., :1]))
        rows = orders if self.features.static else orders[1:]
        if self.band_weights is not None:
            deviation = self.phase_deviation(spectrum).transpose(-2, -1) @ self.band_weights
            rows.append(deviation.transpose(-2, -1))
        return torch.cat(rows, dim=-2)

    def phase_deviation(self, spectrum: torch.Tensor) -> torch.Tensor:
        """``[..., bins, frames]`` in [0, 1]: how far each bin's phase advance since the last
        frame is from a steady tone's at the bin's centre, as a fraction of a half turn (the
        instantaneous frequency's offset from the bin centre; 0 for the first frame's
        difference)."""
        phase = torch.angle(spectrum)
        advance = torch.diff(phase, dim=-1, prepend=phase[..., :1]) - self.bin_advance[:, None]
        advance[..., 0] = 0.0
        return (torch.remainder(advance + math.pi, 2 * math.pi) - math.pi).abs() / math.pi
