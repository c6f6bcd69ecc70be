"""Reading audio files with checks, shared by the torch and the torch-free (ONNX) paths, and
the torch-free path's resampling (torchaudio's, in numpy)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import soundfile as sf

AUDIO_SUFFIXES = {".wav", ".flac", ".ogg", ".mp3"}  # what corpora and folders are searched for


class AudioError(ValueError):
    """An audio file that cannot be used, with the file named in the message."""


def _unreadable(path: str | Path, error: Exception) -> AudioError:
    return AudioError(f"{path}: cannot read audio ({error})")


def audio_info(path: str | Path) -> sf._SoundFileInfo:
    """The header of an audio file (rate, frames, channels), read without decoding."""
    try:
        return sf.info(str(path))
    except Exception as error:  # soundfile raises several types for unreadable input
        raise _unreadable(path, error) from error


def read_mono(path: str | Path) -> tuple[np.ndarray, int]:
    """A file's samples averaged to mono float32, and its sample rate.

    Raises :class:`AudioError` for unreadable files, files without samples and NaN/Inf samples.
    """
    try:
        data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except Exception as error:  # soundfile raises several types for unreadable input
        raise _unreadable(path, error) from error
    if data.shape[0] == 0:
        raise AudioError(f"{path}: file holds no samples")
    if not np.isfinite(data).all():
        raise AudioError(f"{path}: audio contains NaN or Inf samples")
    return data.mean(axis=1), rate


def voiced_span(wave: np.ndarray, sample_rate: int, top_db: float) -> tuple[int, int]:
    """``(start, stop)`` of a waveform without its silent ends: the 20 ms frames at either end
    whose energy is more than ``top_db`` dB below the loudest frame's. All of it when nothing
    is louder (digital silence)."""
    frame = max(1, sample_rate // 50)
    count = max(1, len(wave) // frame)
    energies = np.square(wave[: count * frame].reshape(count, -1), dtype=np.float64).mean(axis=1)
    loud = np.flatnonzero(energies >= energies.max() * 10 ** (-top_db / 10))
    if energies.max() <= 0 or not len(loud):
        return 0, len(wave)
    stop = len(wave) if loud[-1] == count - 1 else (loud[-1] + 1) * frame
    return int(loud[0] * frame), int(stop)


def read_audio(path: str | Path, sample_rate: int) -> np.ndarray:
    """Mono float32 waveform at ``sample_rate``, as :func:`deepfake_audio.audio.load_audio`
    reads it, without torch."""
    wave, file_rate = read_mono(path)
    return wave if file_rate == sample_rate else resample(wave, file_rate, sample_rate)


def resample(
    wave: np.ndarray, orig: int, new: int, zeros: int = 6, rolloff: float = 0.99
) -> np.ndarray:
    """torchaudio's default resampling (windowed sinc, Hann window) in numpy: the same contract
    as :func:`deepfake_audio.audio.resample`, tested as one."""
    gcd = math.gcd(orig, new)
    orig, new = orig // gcd, new // gcd
    base = min(orig, new) * rolloff
    width = math.ceil(zeros * orig / base)
    t = np.arange(-width, width + orig) / orig - np.arange(new)[:, None] / new
    t = np.clip(t * base, -zeros, zeros)
    kernels = np.sinc(t) * np.cos(t * math.pi / zeros / 2) ** 2 * (base / orig)
    padded = np.pad(wave, (width, width + orig))
    blocks = np.lib.stride_tricks.sliding_window_view(padded, kernels.shape[1])[::orig]
    resampled = (blocks @ kernels.T.astype(np.float32)).reshape(-1)
    return resampled[: math.ceil(new * len(wave) / orig)]
