"""Bad and unusual input: every case is handled or refused with an error that names the file."""

from __future__ import annotations

import shutil
from argparse import ArgumentError
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from conftest import CONFIG_DIR, run_cli, small_run_args

from deepfake_audio.audio import AudioError, load_audio
from deepfake_audio.data import SequenceDataModule
from deepfake_audio.data.corpus import CorpusError, index_corpus
from deepfake_audio.features import SpectralFeatures, normalise_utterance
from deepfake_audio.serve.inference import AudioDetector


def _tone(rate: int, seconds: float = 0.5, channels: int = 1) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    tone = 0.5 * np.sin(2 * np.pi * 440 * t)
    return np.stack([tone * (1 - 0.1 * c) for c in range(channels)], axis=1)


def _peak_hz(wave: torch.Tensor) -> float:
    return int(torch.fft.rfft(wave).abs().argmax()) * 16_000 / wave.numel()


@pytest.mark.parametrize("rate", [8_000, 22_050, 44_100, 48_000])
@pytest.mark.parametrize("channels", [1, 2, 6])
def test_any_rate_and_channel_count(tmp_path: Path, rate: int, channels: int):
    sf.write(tmp_path / "clip.wav", _tone(rate, channels=channels), rate)
    wave = load_audio(tmp_path / "clip.wav")
    assert wave.ndim == 1 and wave.numel() == pytest.approx(8_000, abs=2)
    assert _peak_hz(wave) == pytest.approx(440, abs=4)


@pytest.mark.parametrize(
    ("name", "subtype", "tolerance"),
    [
        ("u8.wav", "PCM_U8", 0.02),
        ("s24.wav", "PCM_24", 1e-4),
        ("float.wav", "FLOAT", 1e-6),
        ("clip.flac", "PCM_16", 1e-3),
        ("clip.ogg", "VORBIS", 0.1),
        ("clip.mp3", "MPEG_LAYER_III", 0.2),
    ],
)
def test_bit_depths_and_formats(tmp_path: Path, name: str, subtype: str, tolerance: float):
    samples = _tone(16_000)[:, 0]
    sf.write(tmp_path / name, samples, 16_000, subtype=subtype)
    wave = load_audio(tmp_path / name)
    assert _peak_hz(wave) == pytest.approx(440, abs=4)
    if subtype.startswith(("PCM", "FLOAT")):
        assert np.abs(wave.numpy() - samples).max() < tolerance
    else:  # lossy codecs shift and smear: compare levels only
        assert float(wave.abs().max()) == pytest.approx(0.5, abs=tolerance)


def test_inf_samples_are_refused(tmp_path: Path):
    samples = np.full(800, 0.1, dtype=np.float32)
    samples[3] = np.inf
    sf.write(tmp_path / "inf.wav", samples, 16_000, subtype="FLOAT")
    with pytest.raises(AudioError, match="inf.wav: audio contains NaN or Inf"):
        load_audio(tmp_path / "inf.wav")


def test_digital_silence_normalises_to_zeros():
    silence = SpectralFeatures().front_end()(torch.zeros(16_000))
    assert torch.equal(normalise_utterance(silence), torch.zeros_like(silence))


@pytest.fixture(scope="module")
def detector(lstm_checkpoint: Path) -> AudioDetector:
    return AudioDetector.load(lstm_checkpoint)


@pytest.mark.parametrize(
    ("samples", "windows"), [(np.zeros(16_000), 1), (_tone(16_000, 0.1)[:, 0], 1)]
)
def test_silence_and_a_tenth_of_a_second_are_scored(
    detector: AudioDetector, tmp_path: Path, samples: np.ndarray, windows: int
):
    sf.write(tmp_path / "odd.wav", samples, 16_000)
    detection = detector.detect_file(tmp_path / "odd.wav")
    assert detection.error is None and len(detection.windows) == windows
    assert 0.0 <= detection.score <= 1.0


def test_unicode_and_spaces_in_paths(tiny_corpus: Path, tmp_path: Path, detector):
    corpus = tmp_path / "corpus with spaces – ünïcode"
    corpus.mkdir()
    rows = ["file,speaker,label"]
    for index, clip in enumerate(index_corpus(tiny_corpus)):
        name = f"clip {index} – 声音 é.flac"
        shutil.copy(clip.path, corpus / name)
        rows.append(f'"{name}",{clip.speaker},{"bona-fide" if clip.label else "spoof"}')
    (corpus / "meta.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    dm = SequenceDataModule(
        root=corpus, features=SpectralFeatures(n_mels=20, frames=32), num_workers=0
    )
    dm.prepare_data()
    dm.setup("fit")
    assert sum(len(clips) for clips in dm.clips.values()) == 24
    assert next(iter(dm.train_dataloader()))[0].shape[1:] == (32, 20)
    assert detector.detect_file(corpus / "clip 0 – 声音 é.flac").error is None


def test_an_empty_corpus_is_an_error(tmp_path: Path):
    (tmp_path / "meta.csv").write_text("file,speaker,label\n")
    with pytest.raises(CorpusError, match="holds no audio files"):
        index_corpus(tmp_path)


def test_a_config_typo_names_the_key(tiny_corpus: Path, tmp_path: Path):
    config = f"--config={CONFIG_DIR / 'lstm.yaml'}"
    with pytest.raises(ArgumentError, match="'hiden_size' is not accepted"):
        run_cli(
            [
                "fit",
                config,
                *small_run_args(tiny_corpus, tmp_path),
                "--model.init_args.hiden_size=8",
            ]
        )


def _rss_mb() -> float:
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * 4096 / 2**20


@pytest.mark.slow
def test_detect_over_a_thousand_files_keeps_memory_flat(detector: AudioDetector, tmp_path: Path):
    sf.write(tmp_path / "clip.wav", _tone(16_000, 0.3)[:, 0], 16_000)
    for index in range(1000):
        (tmp_path / f"{index}.wav").hardlink_to(tmp_path / "clip.wav")
    files = sorted(tmp_path.glob("[0-9]*.wav"))
    memory = []
    for index, path in enumerate(files):
        assert detector.detect_file(path).error is None
        if index in (199, 999):
            memory.append(_rss_mb())
    assert memory[1] - memory[0] < 30, (
        f"resident memory grew from {memory[0]:.0f} to {memory[1]:.0f} MB"
    )


def test_long_files_are_streamed_with_the_same_scores(detector: AudioDetector, tmp_path: Path):
    rng = np.random.default_rng(0)
    noise = 0.1 * rng.standard_normal((70 * 44_100, 2)).astype(np.float32)
    sf.write(tmp_path / "long.wav", noise, 44_100, subtype="FLOAT")
    streamed = detector.detect_file(tmp_path / "long.wav", hop_seconds=1.5)
    whole = detector.detect_wave(load_audio(tmp_path / "long.wav"), hop_seconds=1.5)
    assert streamed.starts == whole.starts and len(streamed.windows) > 40
    assert np.allclose(streamed.windows, whole.windows, atol=1e-5)
    assert streamed.duration == pytest.approx(70.0)


@pytest.mark.slow
def test_a_thirty_minute_file_is_never_read_whole(detector: AudioDetector, tmp_path, monkeypatch):
    path = tmp_path / "half-hour.wav"
    with sf.SoundFile(path, "w", 16_000, 1, subtype="PCM_16") as out:
        for _ in range(30):
            out.write(_tone(16_000, 60.0)[:, 0])
    monkeypatch.setattr(detector, "read", lambda _: pytest.fail("read the whole file"))
    detection = detector.detect_file(path)
    assert detection.error is None and detection.duration == pytest.approx(1800.0)
    assert len(detection.windows) == int(np.ceil(1800 * 16_000 / detector.window))


class Payload:
    """Stands for any object a malicious checkpoint could smuggle in to run code on load."""


@pytest.mark.slow
def test_checkpoints_are_never_unpickled(tiny_corpus: Path, tmp_path: Path):
    config = f"--config={CONFIG_DIR / 'lstm.yaml'}"
    args = small_run_args(tiny_corpus, tmp_path, batch_size=4)
    run_cli(["fit", config, *args, "--trainer.max_epochs=1"])
    clean = tmp_path / "lstm" / "version_0" / "checkpoints" / "best.ckpt"
    tampered = tmp_path / "tampered.ckpt"
    checkpoint = torch.load(clean, weights_only=True)
    checkpoint["extra"] = Payload()
    torch.save(checkpoint, tampered)
    with pytest.raises(Exception, match="[Ww]eights only load failed|Unsupported global"):
        run_cli(["test", config, *args, f"--ckpt_path={tampered}"])
    with pytest.raises(Exception, match="[Ww]eights only load failed|Unsupported global"):
        AudioDetector.load(tampered)
    run_cli(["test", config, *args, f"--ckpt_path={clean}"])  # a clean one still loads
