"""``deepfake robustness``: named recording conditions, and EER tables under them."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest
import torch
from conftest import run_cli

from deepfake_audio.evaluate.robustness import condition
from deepfake_audio.evaluate.scores import eer_threshold
from deepfake_audio.serve.inference import AudioDetector


def _noise(seconds: float = 1.0) -> torch.Tensor:
    torch.manual_seed(0)
    return 0.1 * torch.randn(int(16_000 * seconds))


def test_telephone_keeps_only_the_band_below_4_khz():
    spectrum = torch.fft.rfft(condition("telephone")(_noise())).abs()  # 1 Hz bins
    assert spectrum[4200:].mean() < 0.05 * spectrum[:3500].mean()


def test_mulaw_quantises_a_telephone_band_signal():
    wave = _noise()
    coded, telephone = condition("mulaw")(wave), condition("telephone")(wave)
    assert len(torch.unique(coded)) <= 256 < len(torch.unique(telephone))
    error = (coded - telephone).pow(2).mean() / telephone.pow(2).mean()
    assert 0 < error < 0.01  # 8-bit mu-law: under -20 dB of quantisation noise


def test_noise_is_added_at_the_named_signal_to_noise_ratio():
    wave = torch.sin(torch.arange(16_000) * 0.05)
    added = condition("noise:20")(wave) - wave
    snr = 10 * torch.log10(wave.pow(2).mean() / added.pow(2).mean())
    assert abs(float(snr) - 20.0) < 0.5


def test_clean_is_the_identity():
    wave = _noise()
    assert torch.equal(condition("clean")(wave), wave)


def test_reverb_with_a_direct_to_reverberant_ratio_is_the_nearer_room():
    click = torch.zeros(16_000)
    click[0] = 1.0
    far, near = condition("reverb:0.5")(click), condition("reverb:0.5:10")(click)
    drr_db = 10 * torch.log10(near[0].pow(2) / near[1:].pow(2).sum())
    assert abs(float(drr_db) - 10.0) < 1e-3
    assert far[0].pow(2) < 0.01 * far[1:].pow(2).sum()  # the natural tail: over 20 dB above


@pytest.mark.parametrize(
    "name", ["phone", "noise", "noise:loud", "noise:10:1", "reverb:0", "reverb:0.5:x", "clean:1"]
)
def test_unknown_conditions_are_refused_with_the_known_ones(name: str):
    with pytest.raises(ValueError, match="unknown condition.*telephone"):
        condition(name)


@pytest.mark.slow
def test_robustness_tables_the_test_split_under_each_condition(
    lstm_checkpoint: Path, tmp_path: Path
):
    splits = lstm_checkpoint.parent.parent / "splits.csv"
    args = ["robustness", str(lstm_checkpoint), f"--splits={splits}"]
    args += ["--conditions", "clean", "noise:10", "reverb:0.3"]
    for out in ("first", "second"):
        with pytest.raises(SystemExit) as done:
            run_cli([*args, f"--out={tmp_path / out}"])
        assert done.value.code == 0
    rows = list(csv.DictReader((tmp_path / "first" / "robustness.csv").open()))
    assert [row["condition"] for row in rows] == ["clean", "noise:10", "reverb:0.3"]
    # Seeded per clip: a second run gives the same table.
    assert (tmp_path / "second" / "robustness.csv").read_text() == (
        tmp_path / "first" / "robustness.csv"
    ).read_text()
    assert "| noise:10 |" in (tmp_path / "first" / "robustness.md").read_text()
    # "clean" is exactly what `deepfake detect` gives for the test clips.
    with splits.open() as handle:
        test = [row for row in csv.DictReader(handle) if row["split"] == "test"]
    detector = AudioDetector.load(lstm_checkpoint, device="cpu")
    scores = [detector.detect_file(row["path"]).score for row in test]
    labels = [int(row["label"] == "bona-fide") for row in test]
    assert int(rows[0]["clips"]) == len(test)
    assert float(rows[0]["eer"]) == pytest.approx(eer_threshold(scores, labels)[0])
    # Every clip's score under every condition, the clean ones those of `deepfake detect`.
    scored = list(csv.DictReader((tmp_path / "first" / "robustness_scores.csv").open()))
    assert len(scored) == 3 * len(test)
    clean = {row["file"]: float(row["score"]) for row in scored if row["condition"] == "clean"}
    assert [clean[row["path"]] for row in test] == pytest.approx(scores)


@pytest.mark.slow
def test_robustness_pools_several_runs_each_scoring_its_own_clips(
    lstm_checkpoint: Path, tmp_path: Path
):
    """The folds of a protocol: each run scores its own test split with its own model and
    threshold, and one EER is taken over all their clips."""
    run = lstm_checkpoint.parent.parent
    other = tmp_path / "other"
    shutil.copytree(run, other)
    copied = other / "checkpoints" / "best.ckpt"
    checkpoint = torch.load(copied, map_location="cpu", weights_only=False)
    checkpoint["state_dict"]["threshold"].fill_(1.0)  # the copy calls no clip bona fide
    torch.save(checkpoint, copied)
    with (run / "splits.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:  # the copy tests the clips the original trained on
        row["split"] = {"train": "test", "test": "train"}.get(row["split"], row["split"])
    with (other / "splits.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    args = ["robustness", str(run), str(other), "--conditions", "clean", "noise:10"]
    with pytest.raises(SystemExit) as done:
        run_cli([*args, f"--out={tmp_path / 'pooled'}"])
    assert done.value.code == 0
    detector = AudioDetector.load(lstm_checkpoint, device="cpu")
    tested = [row for row in rows if row["split"] in ("train", "test")]
    scores = [detector.detect_file(row["path"]).score for row in tested]
    labels = [int(row["label"] == "bona-fide") for row in tested]
    table = list(csv.DictReader((tmp_path / "pooled" / "robustness.csv").open()))
    assert int(table[0]["clips"]) == len(tested)
    assert float(table[0]["eer"]) == pytest.approx(eer_threshold(scores, labels)[0])
    # Bona fide clips the original tests are called at its threshold; the copy's, never.
    called = [
        row["split"] == "train" and score >= detector.threshold
        for row, score, label in zip(tested, scores, labels, strict=True)
        if label
    ]
    assert float(table[0]["tpr"]) == pytest.approx(sum(called) / len(called))
    scored = list(csv.DictReader((tmp_path / "pooled" / "robustness_scores.csv").open()))
    model_of = {
        row["path"]: str(copied if row["split"] == "test" else lstm_checkpoint) for row in tested
    }
    assert all(row["model"] == model_of[row["file"]] for row in scored)
    assert {row["label"] for row in scored} == {"bona-fide", "spoof"}


@pytest.mark.slow
def test_robustness_refuses_runs_that_share_clips(
    lstm_checkpoint: Path, capsys: pytest.CaptureFixture
):
    run = str(lstm_checkpoint.parent.parent)
    with pytest.raises(SystemExit) as done:
        run_cli(["robustness", run, run, "--out=unused"])
    assert done.value.code == 2
    assert "pooled runs must score different clips" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ([], "2 models are pooled: name the tables' folder with --out"),
        (["--out=x", "--splits=s.csv"], "--splits names one model's clips"),
    ],
)
def test_robustness_needs_an_out_folder_and_no_splits_for_several_runs(
    extra: list[str], message: str, capsys: pytest.CaptureFixture
):
    with pytest.raises(SystemExit) as done:
        run_cli(["robustness", "a.ckpt", "b.ckpt", *extra])
    assert done.value.code == 2
    assert message in capsys.readouterr().err


def test_robustness_refuses_a_bad_condition_before_loading_anything(
    tmp_path: Path, capsys: pytest.CaptureFixture
):
    with pytest.raises(SystemExit) as done:
        run_cli(["robustness", "missing.ckpt", "--splits=missing.csv", "--conditions", "wind"])
    assert done.value.code == 2
    assert "unknown condition 'wind'" in capsys.readouterr().err
