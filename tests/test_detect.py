"""deepfake detect on a folder of good, long, short, stereo 44.1 kHz and broken files; export
then load gives the same scores."""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from conftest import machine_paths, run_cli

from deepfake_audio.serve.detect import expand
from deepfake_audio.serve.inference import AudioDetector
from deepfake_audio.serve.scoring import verdict
from deepfake_audio.windows import window_starts


@pytest.fixture(scope="module")
def checkpoint(lstm_checkpoint: Path) -> Path:
    return lstm_checkpoint


@pytest.fixture(scope="module")
def folder(tiny_corpus: Path, module_folder: Callable[[str], Path]) -> Path:
    folder = module_folder("mixed")
    speech, rate = sf.read(tiny_corpus / "0.flac", dtype="float32")
    sf.write(folder / "good.flac", speech, rate)
    sf.write(folder / "long.wav", np.resize(speech, 65 * rate), rate)
    sf.write(folder / "short.wav", speech[: rate // 2], rate)
    t = np.arange(3 * 44_100) / 44_100
    tone = 0.3 * np.sin(2 * np.pi * 220 * t)
    (folder / "nested").mkdir()
    sf.write(folder / "nested" / "stereo44k.wav", np.stack([tone, 0.5 * tone], axis=1), 44_100)
    (folder / "broken.wav").write_text("not audio")
    (folder / "notes.txt").write_text("not listed: not an audio suffix")
    return folder


def _rows(path: Path) -> dict[str, dict]:
    with path.open() as handle:
        return {Path(row["file"]).name: row for row in csv.DictReader(handle)}


@pytest.mark.slow  # scores with a fitted model
def test_detect_a_mixed_folder(checkpoint: Path, folder: Path, tmp_path: Path, capsys):
    out = tmp_path / "results.csv"
    with pytest.raises(SystemExit) as exit_info:
        run_cli(["detect", str(checkpoint), str(folder), "--out", str(out), "--segments"])
    assert exit_info.value.code == 1  # one broken file; every other file still scored
    rows = _rows(out)
    assert set(rows) == {"good.flac", "long.wav", "short.wav", "stereo44k.wav", "broken.wav"}
    assert "cannot read audio" in rows["broken.wav"]["error"] and not rows["broken.wav"]["score"]
    window = AudioDetector.load(checkpoint).window
    assert int(rows["long.wav"]["windows"]) == math.ceil(65 * 16_000 / window)
    assert float(rows["long.wav"]["duration"]) == pytest.approx(65.0)
    assert rows["short.wav"]["windows"] == "1" and float(rows["short.wav"]["duration"]) == 0.5
    assert float(rows["stereo44k.wav"]["duration"]) == pytest.approx(3.0, abs=1e-3)
    for name in ("good.flac", "long.wav", "short.wav", "stereo44k.wav"):
        row = rows[name]
        score = float(row["score"])
        assert 0.0 <= score <= 1.0 and row["error"] == ""
        expected = "bona-fide" if score >= AudioDetector.load(checkpoint).threshold else "spoof"
        assert row["prediction"] == expected
    with (tmp_path / "results.segments.csv").open() as handle:
        segments = [r for r in csv.DictReader(handle) if r["file"].endswith("long.wav")]
    assert len(segments) == int(rows["long.wav"]["windows"])
    assert np.mean([float(s["score"]) for s in segments]) == pytest.approx(
        float(rows["long.wav"]["score"]), abs=1e-6
    )
    printed = capsys.readouterr()
    assert "broken.wav" in printed.out and "1 of 5 files could not be scored" in printed.err


@pytest.mark.slow  # scores with a fitted model
def test_json_output_and_aggregation(checkpoint: Path, folder: Path, tmp_path: Path):
    out = tmp_path / "long.json"
    long = str(folder / "long.wav")
    with pytest.raises(SystemExit) as exit_info:
        run_cli(
            ["detect", str(checkpoint), long, "--out", str(out), "--aggregate", "max", "--segments"]
        )
    assert exit_info.value.code == 0
    (result,) = json.loads(out.read_text())
    scores = [segment["score"] for segment in result["segments"]]
    assert result["score"] == pytest.approx(max(scores), abs=1e-6)
    window_seconds = AudioDetector.load(checkpoint).window / 16_000
    assert [s["start"] for s in result["segments"][:2]] == [0.0, round(window_seconds, 3)]


@pytest.mark.slow  # scores with a fitted model
def test_export_then_load_scores_identically(checkpoint: Path, folder: Path, tmp_path: Path):
    package = tmp_path / "package"
    with pytest.raises(SystemExit):
        run_cli(["export", "--ckpt", str(checkpoint), "--out", str(package)])
    assert {p.name for p in package.iterdir()} == {"model.safetensors", "config.json", "README.md"}
    from_checkpoint = AudioDetector.load(checkpoint)
    from_package = AudioDetector.load(package)
    assert from_package.threshold == from_checkpoint.threshold
    for name in ("good.flac", "long.wav", "nested/stereo44k.wav"):
        a = from_checkpoint.detect_file(folder / name)
        b = from_package.detect_file(folder / name)
        assert a.windows == b.windows
    card = (package / "README.md").read_text()
    assert "Intended use and limitations" in card and f"{from_package.threshold:.4f}" in card
    assert machine_paths(package) == []  # trained on a corpus named by an absolute path


def test_window_starts_cover_the_clip():
    assert window_starts(10, 4, 4) == [0, 4, 6]
    assert window_starts(8, 4, 2) == [0, 2, 4]
    assert window_starts(3, 4, 4) == [0]


@pytest.mark.parametrize(
    ("score", "threshold", "prediction", "expected"),
    [
        (0.152, 0.114, "bona-fide", 0.5 + 0.5 * 0.038 / 0.886),  # was "Real, 15.2% confidence"
        (0.100, 0.114, "spoof", 0.5 + 0.5 * 0.014 / 0.114),
        (0.114, 0.114, "bona-fide", 0.5),
        (0.9, 0.5, "bona-fide", 0.9),  # at a threshold of 0.5: the predicted class's score
        (0.2, 0.5, "spoof", 0.8),
        (0.0, 0.3, "spoof", 1.0),
        (1.0, 0.3, "bona-fide", 1.0),
    ],
)
def test_confidence_never_contradicts_the_verdict(score, threshold, prediction, expected):
    detection = verdict("clip.wav", [score], threshold)
    assert detection.prediction == prediction
    assert detection.confidence == pytest.approx(expected)
    assert 0.5 <= detection.confidence <= 1.0


def test_a_file_named_twice_is_scored_once(folder: Path):
    files = expand([folder / "good.flac", folder, folder / "nested" / ".." / "good.flac"])
    assert [f.name for f in files].count("good.flac") == 1
    assert files[0] == folder / "good.flac"  # where it first comes
