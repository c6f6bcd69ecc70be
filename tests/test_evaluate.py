"""Test-time report: score files match the model's outputs; the validation EER threshold is
stored in the checkpoint and reused at test time."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from conftest import CONFIG_DIR, run_cli, small_run_args

from deepfake_audio.data import SequenceDataModule
from deepfake_audio.evaluate.report import _first_occurrence, mean_per_clip
from deepfake_audio.evaluate.scores import det_curve, read_scores
from deepfake_audio.features import SpectralFeatures
from deepfake_audio.models import Detector


def test_padded_duplicates_count_once():
    unique, first = _first_occurrence(torch.tensor([3, 1, 3, 2, 1]))
    assert unique.tolist() == [1, 2, 3]
    assert first.tolist() == [1, 3, 0]


def test_a_clip_scores_the_mean_of_its_windows_each_counted_once():
    # Items 0-1 are clip 0's windows, items 2-4 clip 1's; the distributed sampler padded with
    # item 0 again, which must not weigh twice.
    scores = torch.tensor([0.9, 0.4, 0.1, 0.2, 0.6, 0.9])
    items = torch.tensor([0, 1, 2, 3, 4, 0])
    unique, first = _first_occurrence(items)
    means, clips = mean_per_clip(scores[first], unique, owners=[0, 0, 1, 1, 1])
    assert clips.tolist() == [0, 1]
    assert means.tolist() == pytest.approx([0.65, 0.3])


def _scores(model: Detector, dataset) -> dict[str, float]:
    """Each clip's mean score over its items, one item at a time."""
    per_clip: dict[str, list[float]] = {}
    with torch.no_grad():
        for item, clip in enumerate(dataset.owners):
            score = float(model.score(model(dataset[item][0].unsqueeze(0))))
            per_clip.setdefault(str(dataset.clips[clip].path), []).append(score)
    return {file: sum(scores) / len(scores) for file, scores in per_clip.items()}


@pytest.mark.slow
def test_score_files_and_threshold_round_trip(tiny_corpus: Path, tmp_path: Path):
    config = f"--config={CONFIG_DIR / 'lstm.yaml'}"
    args = [*small_run_args(tiny_corpus, tmp_path, batch_size=4)]
    run_cli(["fit", config, *args, "--trainer.max_epochs=2"])
    run_dir = tmp_path / "lstm" / "version_0"
    checkpoint = torch.load(run_dir / "checkpoints" / "best.ckpt", weights_only=True)
    stored = float(checkpoint["state_dict"]["threshold"])

    model = Detector.load_from_checkpoint(run_dir / "checkpoints" / "best.ckpt").eval()
    assert float(model.threshold) == stored
    dm = SequenceDataModule(
        root=tiny_corpus, features=SpectralFeatures(n_mels=128, frames=64), num_workers=0
    )
    dm.setup("fit")
    val = _scores(model, dm.val_dataloader().dataset)
    labels = torch.tensor([clip.label for clip in dm.clips["val"]])
    far, frr, thresholds = det_curve(torch.tensor(list(val.values())).numpy(), labels.numpy())
    at_stored = int((abs(thresholds - stored)).argmin())
    assert thresholds[at_stored] == pytest.approx(stored, abs=1e-6)  # a val score is the cut
    assert abs(far[at_stored] - frr[at_stored]) == pytest.approx(abs(far - frr).min())

    run_cli(["test", config, *args])
    written = {clip.file: clip for clip in read_scores(run_dir / "scores.csv")}
    test_items = dm.test_dataloader().dataset
    assert len(test_items) > len(dm.clips["test"])  # some clips span several windows
    expected = _scores(model, test_items)
    assert set(written) == set(expected)
    for file, score in expected.items():
        assert written[file].score == pytest.approx(score, abs=1e-5)
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["at_val_eer_threshold"]["threshold"] == pytest.approx(stored)
    assert metrics["clips"] == len(expected)
    assert metrics["eer_ci95"][0] <= metrics["eer"] <= metrics["eer_ci95"][1]
    assert len((run_dir / "scores.txt").read_text().splitlines()) == len(expected)
