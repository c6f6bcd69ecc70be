"""The filterbank front end: mel and linear band placement, cepstra and deltas."""

from __future__ import annotations

import math

import pytest
import torch

from deepfake_audio.features import SpectralFeatures, normalise_utterance
from deepfake_audio.features.spectral.torch_front_end import SpectralFrontEnd as FrontEnd


def _peak_band(features: SpectralFeatures, frequency: float) -> int:
    time = torch.arange(features.sample_rate) / features.sample_rate
    energies = FrontEnd(features)(torch.sin(2 * math.pi * frequency * time))
    return int(energies.mean(dim=-1).argmax())


@pytest.mark.parametrize("frequency", [500.0, 3000.0, 6500.0])
def test_linear_bands_are_evenly_spaced_in_hertz(frequency: float):
    features = SpectralFeatures(n_mels=80, n_fft=512, hop_length=160, scale="linear")
    expected = frequency / (features.sample_rate / 2) * (features.n_mels + 1) - 1
    assert abs(_peak_band(features, frequency) - expected) <= 1


def test_mel_bands_give_low_frequencies_more_of_the_bands():
    linear = SpectralFeatures(n_mels=80, n_fft=512, hop_length=160, scale="linear")
    mel = SpectralFeatures(n_mels=80, n_fft=512, hop_length=160)
    assert _peak_band(mel, 1000.0) > 2 * _peak_band(linear, 1000.0)
    assert _peak_band(mel, 7000.0) == pytest.approx(_peak_band(linear, 7000.0), abs=8)


def test_an_unknown_scale_is_refused():
    with pytest.raises(ValueError, match="unknown filter scale 'bark'"):
        SpectralFeatures(scale="bark")


def test_cepstra_are_an_orthonormal_transform_of_the_log_energies():
    settings = dict(n_mels=40, n_fft=512, hop_length=160, scale="linear")
    wave = torch.randn(8000)
    energies = FrontEnd(SpectralFeatures(**settings))(wave)
    cepstral = FrontEnd(SpectralFeatures(**settings, cepstra=40))
    assert torch.allclose(cepstral.dct @ cepstral(wave), energies, atol=1e-3)
    assert FrontEnd(SpectralFeatures(**settings, cepstra=20))(wave).shape == (20, energies.shape[1])


def test_deltas_are_frame_to_frame_differences():
    features = SpectralFeatures(n_mels=40, n_fft=512, hop_length=160, cepstra=20, deltas=2)
    values = FrontEnd(features)(torch.randn(8000))
    static, first, second = values.split(20)
    assert torch.allclose(first[:, 1:], static[:, 1:] - static[:, :-1], atol=1e-5)
    assert torch.allclose(second[:, 1:], first[:, 1:] - first[:, :-1], atol=1e-5)
    assert not first[:, 0].any() and not second[:, 0].any()


def test_deltas_stack_below_and_vanish_on_a_steady_tone():
    features = SpectralFeatures(n_mels=40, n_fft=512, hop_length=160, cepstra=20, deltas=2)
    period = torch.sin(2 * math.pi * torch.arange(40) / 40)  # 400 Hz
    tone = period.repeat(400)  # 4 periods per hop: every frame the same
    values = FrontEnd(features)(tone)
    assert values.shape[0] == features.frame_size == 60
    steady = values[:, 10:-10]
    assert steady[:20].abs().max() > 1.0
    assert steady[20:].abs().max() < 1e-3
    dynamic = SpectralFeatures(
        n_mels=40, n_fft=512, hop_length=160, cepstra=20, deltas=2, static=False
    )
    assert torch.equal(FrontEnd(dynamic)(tone), values[20:])


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"cepstra": 51}, "cepstra must be 0 to n_mels"),
        ({"deltas": 3}, "deltas must be 0, 1"),
        ({"static": False}, "static=False keeps only the deltas"),
    ],
)
def test_impossible_cepstral_settings_are_refused(options: dict, message: str):
    with pytest.raises(ValueError, match=message):
        SpectralFeatures(n_mels=50, **options)


PHASE = SpectralFeatures(n_mels=64, n_fft=512, hop_length=160, scale="linear", phase=True)


def test_phase_deviation_is_the_offset_of_a_tone_from_each_bin_centre():
    front_end = FrontEnd(PHASE)
    time = torch.arange(PHASE.sample_rate) / PHASE.sample_rate
    tone = torch.sin(2 * math.pi * 1250.0 * time)  # the centre of bin 40 (31.25 Hz apart)
    deviation = front_end.phase_deviation(front_end.stft(tone))[:, 5:-5]
    assert deviation[40].max() < 1e-3
    # Bin 41 hears the same tone, 31.25 Hz below its centre: 0.3125 turn per 10 ms hop, which
    # is 0.625 of a half turn.
    assert torch.allclose(deviation[41], torch.tensor(0.625), atol=1e-3)


def test_phase_rows_follow_the_cepstra():
    settings = {"n_mels": 64, "n_fft": 512, "hop_length": 160, "scale": "linear", "cepstra": 20}
    without, with_phase = SpectralFeatures(**settings), SpectralFeatures(**settings, phase=True)
    assert with_phase.frame_size == without.frame_size + 64
    torch.manual_seed(0)
    noise = torch.randn(16_000)
    values = FrontEnd(with_phase)(noise)
    assert values.shape[0] == with_phase.frame_size
    assert torch.equal(values[:20], FrontEnd(without)(noise))
    assert 0.2 < values[20:, 1:].mean() < 0.5  # spread: frames overlap, so not independent


def test_noise_in_frames_that_do_not_overlap_deviates_half_a_turn_on_average():
    features = SpectralFeatures(n_mels=64, n_fft=512, hop_length=512, scale="linear", phase=True)
    torch.manual_seed(0)
    values = FrontEnd(features)(torch.randn(64_000))
    # Independent frames: each phase advance is uniform, so deviations are uniform in [0, 1].
    assert values[64:, 1:].mean() == pytest.approx(0.5, abs=0.02)


def test_phase_rows_are_normalised_apart_from_the_cepstral_rows():
    features = SpectralFeatures(
        n_mels=64, n_fft=512, hop_length=160, scale="linear", cepstra=20, deltas=1, phase=True
    )
    assert features.blocks == (40, 64)
    torch.manual_seed(0)
    values = normalise_utterance(FrontEnd(features)(torch.randn(16_000)), features.blocks)
    for block in values.split([40, 64]):
        std, mean = torch.std_mean(block)
        assert abs(float(mean)) < 1e-5 and abs(float(std) - 1) < 1e-3
    # Jointly, the phase rows would keep a small fraction of the cepstral rows' spread.
    joint = normalise_utterance(FrontEnd(features)(torch.randn(16_000)))
    assert joint[40:].std() < 0.5 * joint[:40].std()
