"""The Whisper encoders in PyTorch: every layer, equal to ctranslate2's encoder (which is only in
the test extra), cached windows equal to those computed per window, features cached once, layer
weights that learn, and test scores equal to what detect says (skipped without the weights)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from conftest import CONFIG_DIR, exported_package, needs_whisper, run_cli, small_run_args

from deepfake_audio.data import LayerDataModule, MelImageDataModule
from deepfake_audio.data.cache import WindowExtractor
from deepfake_audio.evaluate.scores import read_scores
from deepfake_audio.features import InputSpec, LayerStack, WhisperFeatures
from deepfake_audio.features.whisper import mel_filters
from deepfake_audio.features.whisper.encoder import WhisperEncoder, WhisperFrontEnd, WhisperLogMel
from deepfake_audio.features.whisper.numpy_encoder import log_mel
from deepfake_audio.features.whisper.weights import MODELS
from deepfake_audio.models.networks.layers import LayerMixNetwork, LayerStatsNetwork
from deepfake_audio.models.networks.pooling import AttentiveStatsNetwork
from deepfake_audio.serve.inference import AudioDetector
from deepfake_audio.serve.onnx import OnnxDetector
from deepfake_audio.windows import window_starts

pytestmark = needs_whisper
FEATURES = WhisperFeatures(frames=50, train_hop=25)  # 1 s windows, cached every 0.5 s


def _tone(hertz: float, seconds: float) -> np.ndarray:
    t = np.arange(int(16_000 * seconds)) / 16_000
    return (0.3 * np.sin(2 * np.pi * hertz * t)).astype(np.float32)


def _speechlike(seconds: float, seed: int = 0) -> np.ndarray:
    """A buzz with a moving pitch and some noise: more varied input than a tone."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(16_000 * seconds)) / 16_000
    pitch = 140 + 40 * np.sin(2 * np.pi * 3 * t)
    buzz = np.sign(np.sin(2 * np.pi * np.cumsum(pitch) / 16_000))
    return (0.2 * buzz + 0.02 * rng.standard_normal(len(t))).astype(np.float32)


def test_the_stored_mel_filters_are_librosas():
    import librosa

    expected = librosa.filters.mel(sr=16_000, n_fft=400, n_mels=80).T
    assert mel_filters().dtype == np.float32
    np.testing.assert_allclose(mel_filters(), expected, rtol=1e-6, atol=1e-9)


def test_whisper_log_mel_has_100_frames_a_second_peaking_at_the_tone():
    mel = log_mel(np.stack([_tone(1_000, 1.0), _tone(3_000, 1.0)]))
    assert mel.shape == (2, 80, 100)
    low, high = mel.mean(axis=2).argmax(axis=1)
    assert low < high  # the higher tone peaks in a higher band
    for window in mel:  # floored 8 decades below each window's maximum, scaled by 1/4
        assert window.max() <= 1.5 and window.min() == pytest.approx(window.max() - 2.0)
    torch_mel = WhisperLogMel()(torch.from_numpy(np.stack([_tone(1_000, 1.0)]))).numpy()
    assert np.abs(torch_mel - mel[:1]).max() < 1e-4


def test_the_encoder_gives_50_frames_a_second_of_every_layer():
    encode = WhisperFrontEnd(WhisperFeatures())
    frames = encode(torch.from_numpy(np.stack([_tone(200, 4.0), _tone(300, 4.0)])))
    layers = MODELS["tiny.en"].layers
    assert frames.shape == (2, layers * 384, 200) and torch.isfinite(frames).all()
    alone = encode(torch.from_numpy(_tone(300, 4.0)))  # one window, no batch axis
    assert torch.allclose(alone, frames[1], atol=1e-3)
    chosen = WhisperFrontEnd(WhisperFeatures(layers=(1, 3)))(torch.from_numpy(_tone(300, 4.0)))
    every = alone.reshape(layers, 384, 200)
    assert torch.allclose(chosen, torch.cat([every[1], every[3]]), atol=1e-4)
    assert WhisperFeatures(frames=500).window_samples == 160_000


@pytest.mark.parametrize(
    "model", [pytest.param(m, marks=[pytest.mark.slow] if m == "base" else []) for m in MODELS]
)
def test_the_last_layer_equals_ctranslate2s_encoder(model: str, tmp_path: Path):
    ctranslate2 = pytest.importorskip("ctranslate2", reason="ctranslate2 is in the test extra")
    if not MODELS[model].installed():
        pytest.skip(MODELS[model].missing)
    folder = tmp_path / model  # ctranslate2 reads one model.bin beside config.json
    folder.mkdir()
    paths = MODELS[model].paths()
    with (folder / "model.bin").open("wb") as joined:
        for path in paths:
            joined.write(path.read_bytes())
    for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
        os.symlink(paths[0].parent / name, folder / name)
    reference = ctranslate2.models.Whisper(str(folder), device="cpu", compute_type="float32")
    windows = np.stack([_speechlike(3.0, seed) for seed in range(2)])
    mel = ctranslate2.StorageView.from_array(np.ascontiguousarray(log_mel(windows)))
    expected = np.asarray(reference.encode(mel, to_cpu=True))
    encoder = WhisperEncoder(model)
    with torch.no_grad():
        last = encoder(WhisperLogMel()(torch.from_numpy(windows)))[-1].numpy()
    assert last.shape == expected.shape == (2, 150, MODELS[model].width)
    assert np.abs(last - expected).max() < 2e-3 * np.abs(expected).max()
    shutil.rmtree(folder)


def test_cached_windows_are_the_encodings_of_each_window(tmp_path: Path):
    wave = np.concatenate([_tone(220, 1.3), _tone(440, 1.0)])  # 2.3 s: 1 s windows every 0.5 s
    sf.write(tmp_path / "clip.wav", wave, 16_000)
    stored = WindowExtractor(FEATURES)(tmp_path / "clip.wav")
    starts = window_starts(len(wave), 16_000, 8_000)
    assert starts == [0, 8_000, 16_000, 20_800]  # the last window ends at the clip's end
    rows = FEATURES.frame_size
    assert stored.shape == (rows, 50 * len(starts)) and stored.dtype == np.float16
    crops = torch.from_numpy(np.stack([wave[s : s + 16_000] for s in starts]))
    direct = WhisperFrontEnd(FEATURES)(crops).numpy()
    cached = stored.astype(np.float32).reshape(rows, len(starts), 50).transpose(1, 0, 2)
    assert np.abs(cached - direct).max() < 1e-3 * np.abs(direct).max() + 0.02  # float16


@pytest.mark.slow
def test_training_crops_are_cached_windows_and_items_are_images(tiny_corpus: Path):
    last = WhisperFeatures(frames=50, train_hop=25, layers=(4,))
    dm = MelImageDataModule(root=tiny_corpus, channels=1, features=last, num_workers=0)
    dm.setup("fit")
    assert dm.input_shape == [1, 384, 50]
    train, test = dm.train_dataloader().dataset, dm.test_dataloader().dataset
    assert train.crop_step == 50 and train[0][0].shape == (1, 384, 50)
    for index, clip in enumerate(dm.clips["test"]):  # detect's windows, from the cache
        seconds = sf.info(str(clip.path)).frames
        expected = len(window_starts(seconds, 16_000, 16_000))
        assert test.owners.count(index) == expected


@pytest.mark.slow
def test_frozen_layers_are_cached_once_and_shared_by_every_head(
    tiny_corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    encoded: list[Path] = []
    original = WindowExtractor.__call__

    def counting(self: WindowExtractor, path: Path) -> np.ndarray:
        encoded.append(path)
        return original(self, path)

    monkeypatch.setattr(WindowExtractor, "__call__", counting)
    options = {"root": tiny_corpus, "features": FEATURES, "num_workers": 0, "cache_dir": tmp_path}
    first = LayerDataModule(**options)
    first.setup("fit")
    assert len(encoded) == 24 and first.input_shape == [50, 5, 384]
    LayerDataModule(**options, batch_size=4).setup("fit")  # another run, same front end
    assert len(encoded) == 24
    LayerDataModule(**{**options, "features": WhisperFeatures(frames=50, train_hop=50)}).setup(
        "fit"
    )
    assert len(encoded) == 48  # other windows: encoded again


def test_the_layer_weights_learn():
    torch.manual_seed(0)
    network = LayerMixNetwork([50, 5, 384], AttentiveStatsNetwork)
    stack = torch.randn(4, 50, 5, 384)
    loss = torch.nn.functional.binary_cross_entropy_with_logits(
        network(stack), torch.tensor([1.0, 0.0, 1.0, 0.0])
    )
    loss.backward()
    assert network.weights.grad is not None and network.weights.grad.abs().sum() > 0
    assert torch.allclose(network.layer_weights(), torch.full((5,), 0.2))


def test_finetuned_blocks_start_from_the_encoder_and_reproduce_its_layers():
    features = WhisperFeatures(frames=50, train_hop=50)
    stack = WhisperFrontEnd(features)(torch.from_numpy(_speechlike(1.0)[None]))
    stack = stack.transpose(-2, -1).reshape(1, 50, 5, 384)
    head = AttentiveStatsNetwork
    frozen = LayerMixNetwork([50, 5, 384], head).eval()
    tuned = LayerMixNetwork([50, 5, 384], head, finetune=2, encoder="tiny.en").eval()
    tuned.head.load_state_dict(frozen.head.state_dict())
    assert torch.allclose(tuned(stack), frozen(stack), atol=1e-4)  # untrained: the same layers
    groups = tuned.parameter_groups()
    assert len(groups) == 2 and groups[1]["lr"] == tuned.finetune_lr
    assert sum(p.numel() for p in groups[1]["params"]) > 3_000_000  # two blocks and a norm


def test_the_probe_tunes_the_top_block_from_the_encoders_own_layers():
    features = WhisperFeatures(frames=50, train_hop=50)
    stack = WhisperFrontEnd(features)(torch.from_numpy(_speechlike(1.0)[None]))
    stack = stack.transpose(-2, -1).reshape(1, 50, 5, 384)
    frozen = LayerStatsNetwork([50, 5, 384]).eval()
    tuned = LayerStatsNetwork([50, 5, 384], finetune=1, encoder="tiny.en").eval()
    tuned.linear.load_state_dict(frozen.linear.state_dict())
    assert torch.allclose(tuned.retuned(stack), stack, atol=1e-4)  # untrained: the same layers
    assert torch.allclose(tuned(stack), frozen(stack), atol=1e-4)
    tuned.train()(torch.cat([stack, stack.flip(1)])).sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in tuned.blocks.parameters())
    groups = tuned.parameter_groups()
    assert len(groups) == 2 and groups[1]["lr"] == tuned.finetune_lr
    assert {id(p) for p in groups[0]["params"]} == {id(p) for p in tuned.linear.parameters()}


@pytest.mark.parametrize(
    "build",
    [
        lambda shape: LayerMixNetwork(shape, AttentiveStatsNetwork, finetune=1, encoder="tiny.en"),
        lambda shape: LayerStatsNetwork(shape, finetune=1, encoder="tiny.en"),
    ],
    ids=["LayerMixNetwork", "LayerStatsNetwork"],
)
def test_finetuned_blocks_export_to_onnx_with_the_head(
    tmp_path: Path, build: Callable[[list[int]], torch.nn.Module]
):
    features = WhisperFeatures(frames=50, train_hop=50)
    spec = InputSpec(features, LayerStack(len(features.blocks)))
    torch.manual_seed(0)
    network = build(spec.input_shape)
    with torch.no_grad():  # trained blocks differ from the packaged ones
        for parameter in network.blocks.parameters():
            parameter.add_(0.01 * torch.randn_like(parameter))
    package = exported_package(network.eval(), spec, tmp_path)
    clip = tmp_path / "clip.wav"
    sf.write(clip, _speechlike(2.5), 16_000)
    with_torch = AudioDetector.load(package, device="cpu").detect_file(clip)
    with_onnx = OnnxDetector.load(package).detect_file(clip)
    assert len(with_torch.windows) == 3
    assert with_onnx.windows == pytest.approx(with_torch.windows, abs=2e-3)


@pytest.mark.slow
def test_test_scores_equal_what_detect_says(tiny_corpus: Path, tmp_path: Path):
    config = CONFIG_DIR / "whisper_lcnn.yaml"
    args = [*small_run_args(tiny_corpus, tmp_path, 4, config), "--trainer.max_epochs=1"]
    run_cli(["fit", f"--config={config}", *args])
    run_cli(["test", f"--config={config}", *args])
    run = tmp_path / "whisper_lcnn" / "version_0"
    detector = AudioDetector.load(run / "checkpoints" / "best.ckpt", device="cpu")
    for clip in read_scores(run / "scores.csv"):
        assert clip.score == pytest.approx(detector.detect_file(clip.file).score, abs=2e-3)
    entry = torch.load(run / "checkpoints" / "best.ckpt")["deepfake_audio"]
    assert entry["input"]["features"]["kind"] == "whisper"
