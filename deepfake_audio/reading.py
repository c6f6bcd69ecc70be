"""Reading audio files with checks, shared by the torch and the torch-free (ONNX) paths."""

from __future__ import annotations

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
