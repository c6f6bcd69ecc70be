"""The Whisper front end: encoder frames of the right shape and rate, cached windows equal to
those computed per window, and test scores equal to what detect says (skipped without the
[whisper] extra)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from conftest import CONFIG_DIR, needs_whisper, run_cli, small_run_args

from deepfake_audio.data import MelImageDataModule
from deepfake_audio.data.cache import WindowExtractor
from deepfake_audio.evaluate.scores import read_scores
from deepfake_audio.features.whisper import WhisperFeatures, WhisperFrontEnd, log_mel
from deepfake_audio.serve.inference import AudioDetector
from deepfake_audio.windows import window_starts

pytestmark = needs_whisper
FEATURES = WhisperFeatures(frames=50, train_hop=25)  # 1 s windows, cached every 0.5 s


def _tone(hertz: float, seconds: float) -> np.ndarray:
    t = np.arange(int(16_000 * seconds)) / 16_000
    return (0.3 * np.sin(2 * np.pi * hertz * t)).astype(np.float32)


def test_whisper_log_mel_has_100_frames_a_second_peaking_at_the_tone():
    mel = log_mel(np.stack([_tone(1_000, 1.0), _tone(3_000, 1.0)]))
    assert mel.shape == (2, 80, 100)
    low, high = mel.mean(axis=2).argmax(axis=1)
    assert low < high  # the higher tone peaks in a higher band
    for window in mel:  # floored 8 decades below each window's maximum, scaled by 1/4
        assert window.max() <= 1.5 and window.min() == pytest.approx(window.max() - 2.0)


def test_the_encoder_gives_50_frames_a_second_of_384_values():
    encode = WhisperFrontEnd(WhisperFeatures())
    frames = encode(np.stack([_tone(200, 4.0), _tone(300, 4.0)]))
    assert frames.shape == (2, 384, 200) and np.isfinite(frames).all()
    assert np.allclose(encode(_tone(300, 4.0)[None])[0], frames[1], atol=1e-4)  # batch-free
    assert encode(_tone(200, 1.0)[None]).shape == (1, 384, 50)
    assert WhisperFeatures().window_samples == 64_000 and WhisperFeatures().frame_size == 384


def test_cached_windows_are_the_encodings_of_each_window(tmp_path: Path):
    wave = np.concatenate([_tone(220, 1.3), _tone(440, 1.0)])  # 2.3 s: 1 s windows every 0.5 s
    sf.write(tmp_path / "clip.wav", wave, 16_000)
    stored = WindowExtractor(FEATURES)(tmp_path / "clip.wav")
    starts = window_starts(len(wave), 16_000, 8_000)
    assert starts == [0, 8_000, 16_000, 20_800]  # the last window ends at the clip's end
    assert stored.shape == (384, 50 * len(starts)) and stored.dtype == np.float16
    direct = WhisperFrontEnd(FEATURES)(np.stack([wave[s : s + 16_000] for s in starts]))
    cached = stored.astype(np.float32).reshape(384, len(starts), 50).transpose(1, 0, 2)
    assert np.abs(cached - direct).max() < 0.02  # float16


def test_training_crops_are_cached_windows_and_items_are_images(tiny_corpus: Path):
    dm = MelImageDataModule(root=tiny_corpus, channels=1, whisper=FEATURES, num_workers=0)
    dm.setup("fit")
    assert dm.input_shape == [1, 384, 50]
    train, test = dm.train_dataloader().dataset, dm.test_dataloader().dataset
    assert train.crop_step == 50 and train[0][0].shape == (1, 384, 50)
    for index, clip in enumerate(dm.clips["test"]):  # detect's windows, from the cache
        seconds = sf.info(str(clip.path)).frames
        expected = len(window_starts(seconds, 16_000, 16_000))
        assert test.owners.count(index) == expected


def test_test_scores_equal_what_detect_says(tiny_corpus: Path, tmp_path: Path):
    config = CONFIG_DIR / "whisper_lcnn.yaml"
    args = [*small_run_args(tiny_corpus, tmp_path, 4, config), "--trainer.max_epochs=1"]
    run_cli(["fit", f"--config={config}", *args])
    run_cli(["test", f"--config={config}", *args])
    run = tmp_path / "whisper_lcnn" / "version_0"
    detector = AudioDetector.load(run / "checkpoints" / "best.ckpt", device="cpu")
    for clip in read_scores(run / "scores.csv"):
        assert clip.score == pytest.approx(detector.detect_file(clip.file).score, abs=2e-3)
    assert (
        torch.load(run / "checkpoints" / "best.ckpt")["deepfake_audio"]["input"]["features"]["kind"]
        == "whisper"
    )
