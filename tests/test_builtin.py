"""The built-in models: they ship inside the package, load on a clean install and score audio
with both backends; detect and serve use the default one when no model is given."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import CONFIG_DIR, machine_paths, run_cli, small_run_args

from deepfake_audio.errors import UserError
from deepfake_audio.models.format import FORMAT_VERSION
from deepfake_audio.serve.builtin import builtin_model, builtin_names, is_model
from deepfake_audio.serve.inference import AudioDetector
from deepfake_audio.serve.onnx import OnnxDetector
from deepfake_audio.training import release

SHIPPED = builtin_names()


def test_the_default_model_ships_small_with_its_card():
    assert "default" in SHIPPED
    for name in SHIPPED:
        folder = builtin_model(name)
        assert is_model(folder)
        assert sum(f.stat().st_size for f in folder.iterdir()) < 5 * 2**20
        assert json.loads((folder / "config.json").read_text())["format_version"] == FORMAT_VERSION
        card = (folder / "README.md").read_text()
        assert "## Release" in card and "commit" in card and "## Evaluation" in card
        corpus = next(line for line in card.splitlines() if line.startswith("- corpus: "))
        assert "[" not in corpus and "'" not in corpus  # paths as text, not a Python list
        assert machine_paths(folder) == []


@pytest.mark.slow  # the Whisper base encoder on both backends
@pytest.mark.parametrize("name", SHIPPED)
def test_a_builtin_model_scores_the_demo_clips_with_both_backends(name: str, tiny_corpus: Path):
    folder = builtin_model(name)
    detector = AudioDetector.load(folder, device="cpu")
    clips = sorted(tiny_corpus.glob("*.flac"))[:4]
    scores = [detector.detect_file(clip) for clip in clips]
    assert all(0.0 <= d.score <= 1.0 and d.prediction for d in scores)
    if (folder / "model.onnx").is_file():
        onnx = OnnxDetector.load(folder)
        for clip, torch_detection in zip(clips, scores, strict=True):
            assert onnx.detect_file(clip).score == pytest.approx(torch_detection.score, abs=1e-3)


@pytest.mark.slow  # the Whisper base encoder
def test_detect_without_a_model_uses_the_builtin_one(tiny_corpus: Path, tmp_path: Path):
    out = tmp_path / "results.json"
    with pytest.raises(SystemExit) as done:
        run_cli(
            ["detect", str(tiny_corpus / "0.flac"), str(tiny_corpus / "1.flac"), "--out", str(out)]
        )
    assert done.value.code == 0
    rows = json.loads(out.read_text())
    expected = AudioDetector.load(builtin_model(), device="cpu").detect_file(tiny_corpus / "0.flac")
    assert rows[0]["score"] == pytest.approx(expected.score, abs=1e-6)


def test_an_unknown_builtin_model_is_named(tiny_corpus: Path):
    with pytest.raises(ValueError, match="no built-in model 'nope'"):
        run_cli(["detect", "--builtin", "nope", str(tiny_corpus / "0.flac")])


@pytest.mark.slow
def test_release_installs_a_trained_package_with_its_notes(
    tiny_corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    installed = tmp_path / "builtin"
    monkeypatch.setattr(release, "FOLDER", installed)
    notes = tmp_path / "notes.md"
    notes.write_text("## Limits\nnot for music")
    config = str(CONFIG_DIR / "lstm.yaml")
    extra = [*small_run_args(tiny_corpus, tmp_path / "runs", 4), "--trainer.max_epochs=1"]
    release.main(["--config", config, "--name", "mine", "--notes", str(notes), "--", *extra])
    card = (installed / "mine" / "README.md").read_text()
    assert "## Release" in card and "not for music" in card and "--name mine" in card
    assert "training run: lstm/version_0" in card
    assert machine_paths(installed / "mine") == []  # the corpus and notes were absolute paths
    run = tmp_path / "runs" / "lstm" / "version_0"
    assert AudioDetector.load(installed / "mine", device="cpu").threshold == pytest.approx(
        AudioDetector.load(run / "checkpoints" / "best.ckpt", device="cpu").threshold
    )
    release.main(["--config", config, "--name", "again", "--run", str(run)])  # no new fit
    assert is_model(installed / "again")
    assert sorted(p.name for p in (tmp_path / "runs" / "lstm").iterdir()) == ["version_0"]
    (run / "metrics.json").unlink()
    with pytest.raises(UserError, match="has no metrics.json"):
        release.main(["--config", config, "--name", "untested", "--run", str(run)])
