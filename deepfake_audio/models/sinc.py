"""Sinc convolution: a bank of band-pass filters whose band edges are the only parameters.

Ravanelli and Bengio, "Speaker recognition from raw waveform with SincNet" (SLT 2018): each
filter is the difference of two ideal low-pass filters (sinc kernels) cut at its low and high
band edges, truncated to a fixed length and Hamming-windowed. Learning two frequencies per
filter instead of every tap keeps the first layer on a raw waveform small and interpretable;
RawNet2 and AASIST (:mod:`~deepfake_audio.models.networks.rawnet2`,
:mod:`~deepfake_audio.models.networks.aasist`) start with it.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def hz_to_mel(hz: torch.Tensor | float) -> torch.Tensor:
    """The mel value of a frequency (O'Shaughnessy's formula, 2595 log10(1 + f / 700))."""
    return 2595.0 * torch.log10(1.0 + torch.as_tensor(hz, dtype=torch.float64) / 700.0)


def mel_to_hz(mel: torch.Tensor | float) -> torch.Tensor:
    """The frequency of a mel value (inverse of :func:`hz_to_mel`)."""
    return 700.0 * (10.0 ** (torch.as_tensor(mel, dtype=torch.float64) / 2595.0) - 1.0)


class SincConv(nn.Module):
    """``out_channels`` learnable band-pass filters of ``kernel_size`` taps on a waveform
    ``[batch, samples]`` or ``[batch, 1, samples]``, giving ``[batch, out_channels, frames]``
    (``frames = samples - kernel_size + 1``: no padding, stride 1).

    Filter ``i`` passes ``[low_i, high_i]`` Hz with ``low_i = min_low_hz + |a_i|`` and
    ``high_i = min(low_i + min_band_hz + |b_i|, sample_rate / 2)``, where ``a`` and ``b`` are
    the parameters :attr:`low_hz` and :attr:`band_hz`. The initial edges are ``out_channels +
    1`` points equally spaced on the mel scale from ``2 * min_low_hz`` to ``sample_rate / 2 -
    min_band_hz``, adjacent filters sharing an edge (a filter narrower than ``min_band_hz``
    starts at that width); every edge starts strictly inside its allowed range, so each gets a
    gradient. ``learnable=False`` freezes the edges (the fixed mel filters of the RawNet2 and
    AASIST papers).
    """

    def __init__(
        self,
        out_channels: int,
        kernel_size: int,
        sample_rate: int = 16000,
        min_low_hz: float = 30.0,
        min_band_hz: float = 10.0,
        learnable: bool = True,
    ) -> None:
        super().__init__()
        if out_channels < 1 or kernel_size < 2:
            raise ValueError(
                f"a sinc convolution needs at least 1 filter of 2 taps, got {out_channels} "
                f"filters of {kernel_size}"
            )
        top = sample_rate / 2 - min_band_hz
        if not 0 <= 2 * min_low_hz < top:
            raise ValueError(
                f"no band fits between 2 * min_low_hz = {2 * min_low_hz} Hz and "
                f"sample_rate / 2 - min_band_hz = {top} Hz"
            )
        self.out_channels = out_channels
        self.kernel_size = kernel_size
        self.sample_rate = sample_rate
        self.min_low_hz = min_low_hz
        self.min_band_hz = min_band_hz
        edges = mel_to_hz(
            torch.linspace(
                hz_to_mel(2 * min_low_hz), hz_to_mel(top), out_channels + 1, dtype=torch.float64
            )
        )
        self.low_hz = nn.Parameter((edges[:-1] - min_low_hz).float(), requires_grad=learnable)
        widths = (edges[1:] - edges[:-1] - min_band_hz).clamp(min=0.0)
        self.band_hz = nn.Parameter(widths.float(), requires_grad=learnable)
        # Tap times in samples, centred on the kernel (half-integers for an even length: a
        # symmetric, linear-phase filter either way). The centre tap of an odd kernel divides
        # by zero in the sinc formula: it is replaced by 1 there and masked in the kernel.
        times = torch.arange(kernel_size, dtype=torch.float32) - (kernel_size - 1) / 2
        self.register_buffer("centre", times == 0, persistent=False)
        self.register_buffer("times", torch.where(times == 0, 1.0, times), persistent=False)
        self.register_buffer(
            "window", torch.hamming_window(kernel_size, periodic=False), persistent=False
        )

    def band_edges(self) -> torch.Tensor:
        """The current band edges in Hz, ``[out_channels, 2]``: (low, high) per filter."""
        low = self.min_low_hz + self.low_hz.abs()
        high = torch.clamp(low + self.min_band_hz + self.band_hz.abs(), max=self.sample_rate / 2)
        return torch.stack([low, high], dim=-1)

    def kernels(self) -> torch.Tensor:
        """The filters' taps, ``[out_channels, 1, kernel_size]``: the windowed difference of two
        ideal low-pass impulse responses, ``(sin(2 pi f2 n) - sin(2 pi f1 n)) / (pi n)`` with
        frequencies in cycles per sample (unit gain in the pass band)."""
        edges = self.band_edges() / self.sample_rate
        low, high = edges[:, :1], edges[:, 1:]
        phase = 2 * math.pi * self.times
        taps = (torch.sin(high * phase) - torch.sin(low * phase)) / (math.pi * self.times)
        taps = torch.where(self.centre, 2 * (high - low), taps)
        return (taps * self.window).unsqueeze(1)

    def forward(self, waves: torch.Tensor) -> torch.Tensor:
        if waves.dim() == 2:
            waves = waves.unsqueeze(1)
        return F.conv1d(waves, self.kernels())

    def extra_repr(self) -> str:
        return (
            f"{self.out_channels}, kernel_size={self.kernel_size}, "
            f"sample_rate={self.sample_rate}, learnable={self.low_hz.requires_grad}"
        )
