"""The filterbank front end: mel and linear band placement."""

from __future__ import annotations

import math

import pytest
import torch

from deepfake_audio.settings import MelFeatures


def _peak_band(features: MelFeatures, frequency: float) -> int:
    time = torch.arange(features.sample_rate) / features.sample_rate
    energies = features.front_end()(torch.sin(2 * math.pi * frequency * time))
    return int(energies.mean(dim=-1).argmax())


@pytest.mark.parametrize("frequency", [500.0, 3000.0, 6500.0])
def test_linear_bands_are_evenly_spaced_in_hertz(frequency: float):
    features = MelFeatures(n_mels=80, n_fft=512, hop_length=160, scale="linear")
    expected = frequency / (features.sample_rate / 2) * (features.n_mels + 1) - 1
    assert abs(_peak_band(features, frequency) - expected) <= 1


def test_mel_bands_give_low_frequencies_more_of_the_bands():
    linear = MelFeatures(n_mels=80, n_fft=512, hop_length=160, scale="linear")
    mel = MelFeatures(n_mels=80, n_fft=512, hop_length=160)
    assert _peak_band(mel, 1000.0) > 2 * _peak_band(linear, 1000.0)
    assert _peak_band(mel, 7000.0) == pytest.approx(_peak_band(linear, 7000.0), abs=8)


def test_an_unknown_scale_is_refused():
    with pytest.raises(ValueError, match="unknown filter scale 'bark'"):
        MelFeatures(scale="bark")
