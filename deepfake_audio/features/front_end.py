"""The torch front end: a waveform to the rows its :class:`~.settings.SpectralFeatures` name
(log filterbank energies, cepstra, deltas, phase deviations), and their normalisation."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence

import numpy as np
import torch
import torchaudio.functional as AF
import torchaudio.transforms as T
from torch import nn

from deepfake_audio.features.settings import SpectralFeatures
from deepfake_audio.features.spec import Features
from deepfake_audio.features.whisper import WhisperFeatures, WhisperFrontEnd


class FrontEnd(nn.Module):
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


def normalise_utterance(logmel: torch.Tensor, blocks: Sequence[int] = ()) -> torch.Tensor:
    """Zero mean and unit variance over each utterance's ``[n_mels, frames]``; with ``blocks``
    (row counts, :attr:`~.settings.SpectralFeatures.blocks`), over each block of rows on its own, so
    that values of different kinds and scales (cepstral differences, phase deviations) enter
    the network alike.

    The statistics are taken in float64, so that a constant input (digital silence) becomes
    exact zeros rather than float32 rounding noise blown up by the division.
    """
    if len(blocks) > 1:
        parts = logmel.split(list(blocks), dim=-2)
        return torch.cat([normalise_utterance(part) for part in parts], dim=-2)
    wide = logmel.double()
    std, mean = torch.std_mean(wide, dim=(-2, -1), keepdim=True)
    return ((wide - mean) / (std + 1e-5)).to(logmel.dtype)


class EncoderFrontEnd(nn.Module):
    """A numpy front end (such as the Whisper encoder) for torch callers: ``[samples]`` or
    ``[n, samples]`` tensors in, ``[rows, frames]`` or ``[n, rows, frames]`` out, on the
    input's device."""

    def __init__(self, encode: Callable[[np.ndarray], np.ndarray]) -> None:
        super().__init__()
        self.encode = encode

    @torch.no_grad()
    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        single = wave.ndim == 1
        frames = self.encode(wave.detach().float().cpu().numpy().reshape(-1, wave.shape[-1]))
        encoded = torch.from_numpy(frames).to(wave.device)
        return encoded[0] if single else encoded


def make_front_end(features: Features) -> nn.Module:
    """The torch front end of a kind of features."""
    if isinstance(features, WhisperFeatures):
        return EncoderFrontEnd(WhisperFrontEnd(features))
    return FrontEnd(features)
