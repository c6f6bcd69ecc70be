"""Audio input: any rate and channel count in, mono 16 kHz out; fixed-length crops."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from deepfake_audio.audio import AudioError, fit_length, load_audio, random_start


def test_stereo_44k_becomes_mono_16k(tmp_path: Path):
    seconds = 0.5
    t = np.arange(int(44_100 * seconds)) / 44_100
    tone = 0.5 * np.sin(2 * np.pi * 440 * t)
    sf.write(tmp_path / "stereo.wav", np.stack([tone, np.zeros_like(tone)], axis=1), 44_100)
    wave = load_audio(tmp_path / "stereo.wav")
    assert wave.dtype == torch.float32
    assert wave.ndim == 1
    assert wave.numel() == pytest.approx(16_000 * seconds, abs=1)
    assert float(wave.abs().max()) == pytest.approx(0.25, abs=0.01)  # the mean of both channels
    spectrum = torch.fft.rfft(wave).abs()
    assert int(spectrum.argmax()) * 16_000 / wave.numel() == pytest.approx(440, abs=4)


def test_unreadable_file_names_the_file(tmp_path: Path):
    bogus = tmp_path / "notes.wav"
    bogus.write_text("not audio")
    with pytest.raises(AudioError, match="notes.wav"):
        load_audio(bogus)


def test_nan_samples_are_rejected(tmp_path: Path):
    samples = np.zeros(1600, dtype=np.float32)
    samples[10] = np.nan
    sf.write(tmp_path / "nan.wav", samples, 16_000, subtype="FLOAT")
    with pytest.raises(AudioError, match="NaN"):
        load_audio(tmp_path / "nan.wav")


def test_short_clip_is_repeated_not_zero_padded():
    wave = torch.arange(1.0, 4.0)
    assert fit_length(wave, 7).tolist() == [1, 2, 3, 1, 2, 3, 1]


def test_long_clip_is_cropped_from_start():
    wave = torch.arange(10.0)
    assert fit_length(wave, 4, start=3).tolist() == [3, 4, 5, 6]


def test_random_start_stays_inside_the_clip():
    generator = torch.Generator().manual_seed(0)
    starts = {random_start(10, 4, generator) for _ in range(200)}
    assert starts == set(range(7))
    assert random_start(3, 4) == 0
