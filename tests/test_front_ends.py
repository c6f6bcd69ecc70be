"""The front-end registry: every registered front end builds from its settings, round-trips
through JSON and through an exported package, and its torch and numpy forms (and those of
normalisation and resampling) keep one contract."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from conftest import exported_package, needs_whisper

from deepfake_audio.audio import resample
from deepfake_audio.data.cache import UtteranceExtractor
from deepfake_audio.features import (
    FrameSequence,
    InputSpec,
    LayerStack,
    LayerStatistics,
    SpectralFeatures,
    Waveform,
    WhisperFeatures,
    features_from_dict,
    registered_front_ends,
)
from deepfake_audio.models.networks.layers import LayerStatisticsNetwork, LayerStatsNetwork
from deepfake_audio.models.networks.rawnet2 import RawNet2Network
from deepfake_audio.models.networks.tdnn import TDNNNetwork
from deepfake_audio.reading import resample as numpy_resample
from deepfake_audio.reading import voiced_span
from deepfake_audio.serve.fusion import load_detector
from deepfake_audio.serve.inference import AudioDetector
from deepfake_audio.serve.onnx import OnnxDetector

KINDS = [
    pytest.param(kind, marks=[needs_whisper] if kind == "whisper" else [], id=kind)
    for kind in sorted(registered_front_ends())
]


def _speechlike(samples: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(samples) / 16_000
    pitch = 150 + 30 * np.sin(2 * np.pi * 2 * t)
    buzz = np.sign(np.sin(2 * np.pi * np.cumsum(pitch) / 16_000))
    return (0.2 * buzz + 0.02 * rng.standard_normal(samples)).astype(np.float32)


def _model(kind: str) -> tuple[InputSpec, torch.nn.Module]:
    """A small input spec of the front end and a network that reads it."""
    features = registered_front_ends()[kind].example()
    if not features.framed:
        spec = InputSpec(features, Waveform())
        return spec, RawNet2Network.example(spec.input_shape)
    if kind == "whisper":
        spec = InputSpec(features, LayerStack(len(features.blocks)))
        return spec, LayerStatsNetwork(spec.input_shape)
    spec = InputSpec(features, FrameSequence())
    return spec, TDNNNetwork(spec.input_shape, channels=8)


def test_the_registry_holds_every_front_end_module():
    assert {"spectral", "whisper", "waveform"} <= set(registered_front_ends())
    for kind, settings in registered_front_ends().items():
        assert settings.kind == kind


@pytest.mark.parametrize("kind", KINDS)
def test_a_front_end_round_trips_through_json_and_describes_itself(kind: str):
    features = registered_front_ends()[kind].example()
    assert features_from_dict(features.to_dict()) == features
    assert features.describe() and features.available is None
    with pytest.raises(ValueError, match="unknown .* settings"):
        features_from_dict({**features.to_dict(), "bogus": 1})


@pytest.mark.parametrize("kind", KINDS)
def test_the_torch_and_numpy_front_ends_agree(kind: str, tmp_path: Path):
    features = registered_front_ends()[kind].example()
    for name, data in features.package_files().items():
        (tmp_path / name).write_bytes(data)
    windows = np.stack([_speechlike(features.window_samples, seed) for seed in range(2)])
    with torch.no_grad():
        expected = features.front_end()(torch.from_numpy(windows))
        normalised = features.normalise(expected).numpy()
    computed = features.numpy_front_end(tmp_path)(windows)
    if features.framed:
        assert expected.shape == (2, features.frame_size, features.frames)
    scale = float(expected.abs().max()) + 1e-6
    assert np.abs(computed - expected.numpy()).max() < 2e-3 * scale
    assert np.abs(features.normalise_numpy(computed) - normalised).max() < 2e-3


@pytest.mark.parametrize("rates", [(44_100, 16_000), (8_000, 16_000), (22_050, 16_000)])
def test_numpy_resampling_is_torchaudios(rates: tuple[int, int]):
    wave = _speechlike(rates[0])
    expected = resample(wave, *rates).numpy()
    assert np.abs(numpy_resample(wave, *rates) - expected).max() < 1e-4


@pytest.mark.parametrize("kind", KINDS)
def test_every_front_end_round_trips_through_export_and_both_backends(kind: str, tmp_path: Path):
    torch.manual_seed(0)
    spec, network = _model(kind)
    package = exported_package(network.eval(), spec, tmp_path)
    clip = tmp_path / "clip.wav"
    sf.write(clip, _speechlike(int(2.5 * spec.window_samples), seed=3), 16_000)
    with_torch = AudioDetector.load(package, device="cpu").detect_file(clip)
    with_onnx = OnnxDetector.load(package).detect_file(clip)
    assert with_torch.error is None and with_onnx.error is None
    assert len(with_torch.windows) == len(with_onnx.windows) == 3
    assert with_onnx.windows == pytest.approx(with_torch.windows, abs=2e-3)
    assert AudioDetector.load(package).spec == spec


def test_pooled_layer_statistics_have_one_torch_and_numpy_form():
    features = np.random.default_rng(0).standard_normal((3, 12, 25)).astype(np.float32) * 3 + 1
    representation = LayerStatistics(3)
    expected = representation.batch(torch.from_numpy(features)).numpy()
    assert expected.shape == (3, 2, 3, 4)
    assert np.allclose(representation.numpy_batch(features), expected, atol=1e-5)


@needs_whisper
def test_pooled_layer_statistics_score_as_the_layers_do_through_export_and_both_backends(
    tmp_path: Path,
):
    torch.manual_seed(0)
    features = WhisperFeatures.example()
    layers = len(features.blocks)
    stack_spec = InputSpec(features, LayerStack(layers))
    pooled_spec = InputSpec(features, LayerStatistics(layers))
    on_layers = LayerStatsNetwork(stack_spec.input_shape, statistics=["std"]).eval()
    on_statistics = LayerStatisticsNetwork(pooled_spec.input_shape, statistics=["std"]).eval()
    on_statistics.load_state_dict(on_layers.state_dict())
    clip = tmp_path / "clip.wav"
    sf.write(clip, _speechlike(int(2.5 * features.window_samples), seed=3), 16_000)
    packages = {}
    for name, network, spec in [
        ("layers", on_layers, stack_spec), ("statistics", on_statistics, pooled_spec)
    ]:  # fmt: skip
        (tmp_path / name).mkdir()
        packages[name] = exported_package(network, spec, tmp_path / name)
    scores = {
        (name, backend): detector.load(package).detect_file(clip).windows
        for name, package in packages.items()
        for backend, detector in [("torch", AudioDetector), ("onnx", OnnxDetector)]
    }
    expected = scores["layers", "torch"]
    assert len(expected) == 3
    for windows in scores.values():
        assert windows == pytest.approx(expected, abs=2e-3)
    assert AudioDetector.load(packages["statistics"]).spec == pooled_spec


def test_trimming_cuts_the_silent_ends_in_the_cache_and_in_detection(tmp_path: Path):
    speech = _speechlike(320 * 100)  # 2 s, loud throughout
    padded = np.concatenate(
        [np.zeros(320 * 40), 1e-4 * speech[: 320 * 20], speech, np.zeros(320 * 25)]
    )
    assert voiced_span(padded, 16_000, 40.0) == (320 * 60, 320 * 160)
    assert voiced_span(np.zeros(800), 16_000, 40.0) == (0, 800)  # digital silence: all of it
    sf.write(tmp_path / "speech.wav", speech, 16_000)
    sf.write(tmp_path / "padded.wav", padded.astype(np.float32), 16_000)
    features = replace(SpectralFeatures.example(), trim_db=40.0)
    cached = UtteranceExtractor(features)(tmp_path / "padded.wav")
    expected = UtteranceExtractor(replace(features, trim_db=None))(tmp_path / "speech.wav")
    assert cached.shape == expected.shape and np.abs(cached - expected).max() < 1e-2
    spec = InputSpec(features, FrameSequence())
    torch.manual_seed(0)
    package = exported_package(TDNNNetwork(spec.input_shape, channels=8).eval(), spec, tmp_path)
    for backend in ("torch", "onnx"):
        detector = load_detector(package, backend, device="cpu")
        alone, with_silence = (
            detector.detect_file(tmp_path / f"{n}.wav") for n in ("speech", "padded")
        )
        assert with_silence.duration == pytest.approx(alone.duration)
        assert with_silence.windows == pytest.approx(alone.windows, abs=1e-5)
