"""The one place audio enters: read, downmix, resample, pad or crop."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torchaudio.functional as AF

from deepfake_audio.features.base import SAMPLE_RATE
from deepfake_audio.reading import AudioError, read_mono

__all__ = ["SAMPLE_RATE", "AudioError", "fit_length", "load_audio", "random_start", "resample"]


def load_audio(path: str | Path, sample_rate: int = SAMPLE_RATE) -> torch.Tensor:
    """Read any soundfile-supported file as a mono float32 waveform at ``sample_rate``."""
    samples, file_rate = read_mono(path)
    return resample(samples, file_rate, sample_rate)


def resample(samples: np.ndarray, file_rate: int, sample_rate: int = SAMPLE_RATE) -> torch.Tensor:
    """Mono numpy samples at ``file_rate`` as a float32 tensor at ``sample_rate``."""
    wave = torch.from_numpy(np.ascontiguousarray(samples, dtype=np.float32))
    return wave if file_rate == sample_rate else AF.resample(wave, file_rate, sample_rate)


def fit_length(signal: torch.Tensor, length: int, start: int = 0) -> torch.Tensor:
    """Crop ``length`` steps of the last axis from ``start``, repeating a too-short signal.

    Works for waveforms ``[samples]`` and spectrograms ``[bins, frames]`` alike. Repeating
    rather than zero-padding keeps silence from marking short clips.
    """
    steps = signal.shape[-1]
    if steps < length:
        repeats = [1] * (signal.ndim - 1) + [-(-length // steps)]
        signal = signal.repeat(*repeats)
        start = 0
    return signal[..., start : start + length]


def random_start(num_samples: int, length: int, generator: torch.Generator | None = None) -> int:
    """A uniformly random crop start for a clip of ``num_samples``."""
    if num_samples <= length:
        return 0
    return int(torch.randint(num_samples - length + 1, (1,), generator=generator))
