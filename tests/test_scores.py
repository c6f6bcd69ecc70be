"""Score-file metrics on hand-computed cases, and agreement with torchmetrics."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from torchmetrics.functional.classification import binary_auroc, binary_eer

from deepfake_audio.evaluate.scores import (
    ScoredClip,
    auroc,
    bootstrap_eer,
    eer_by,
    eer_by_duration,
    eer_per_attack,
    eer_threshold,
    metrics_at,
    read_scores,
    write_scores,
)
from deepfake_audio.runs import RunFolder

SCORES = [0.9, 0.8, 0.35, 0.6, 0.2, 0.1]
LABELS = [1, 1, 1, 0, 0, 0]


def test_eer_and_its_threshold_by_hand():
    eer, threshold = eer_threshold(SCORES, LABELS)
    assert eer == pytest.approx(1 / 3)
    # Accepting scores >= 0.6 rejects one bona fide (0.35) and accepts one spoof (0.6).
    assert threshold == pytest.approx(0.6)
    at = metrics_at(SCORES, LABELS, threshold)
    assert at["tpr"] == pytest.approx(2 / 3) and at["tnr"] == pytest.approx(2 / 3)


def test_perfect_and_reversed_rankings():
    assert eer_threshold([0.9, 0.8, 0.2, 0.1], [1, 1, 0, 0])[0] == 0.0
    assert eer_threshold([0.1, 0.2, 0.8, 0.9], [1, 1, 0, 0])[0] == 1.0


def test_ties_are_accepted_or_rejected_together():
    # All scores equal: any threshold accepts all or none, so the EER is 0.5.
    assert eer_threshold([0.5] * 4, [1, 1, 0, 0])[0] == pytest.approx(0.5)


def test_metrics_at_a_threshold_by_hand():
    at = metrics_at(SCORES, LABELS, 0.5)
    assert at["confusion"] == {"tp": 2, "fn": 1, "fp": 1, "tn": 2}
    assert at["acc"] == pytest.approx(4 / 6)
    assert at["f1"] == pytest.approx(2 / 3)


@pytest.mark.parametrize("seed", range(5))
def test_agrees_with_torchmetrics_on_random_scores(seed: int):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, 300)
    scores = np.clip(rng.normal(0.5 + 0.15 * labels, 0.2), 0, 1)
    ours = eer_threshold(scores, labels)[0]
    theirs = float(binary_eer(torch.tensor(scores), torch.tensor(labels)))
    assert ours == pytest.approx(theirs, abs=1 / 150)
    assert auroc(scores, labels) == pytest.approx(
        float(binary_auroc(torch.tensor(scores), torch.tensor(labels))), abs=1e-6
    )


def test_bootstrap_interval_contains_the_estimate_and_narrows_with_data():
    rng = np.random.default_rng(0)

    def sample(n: int) -> tuple[np.ndarray, np.ndarray]:
        labels = np.repeat([0, 1], n)
        return rng.normal(labels * 1.0, 1.0), labels

    small, large = sample(50), sample(2000)
    eer_small = eer_threshold(*small)[0]
    low, high = bootstrap_eer(*small, resamples=300)
    assert low <= eer_small <= high
    low_large, high_large = bootstrap_eer(*large, resamples=300)
    assert low_large <= eer_threshold(*large)[0] <= high_large
    assert high_large - low_large < high - low


def _clips() -> list[ScoredClip]:
    return [
        ScoredClip("a.wav", 1, 0.9, speaker="s1", duration=1.0),
        ScoredClip("b.wav", 1, 0.7, speaker="s1", duration=3.0),
        ScoredClip("c.wav", 0, 0.8, speaker="s1", attack="A1", duration=3.5),
        ScoredClip("d.wav", 0, 0.1, speaker="s2", attack="A2", duration=12.0),
        ScoredClip("e.wav", 1, 0.6, speaker="s2", duration=1.5),
    ]


def test_breakdowns():
    per_attack = eer_per_attack(_clips())
    assert per_attack["A2"] == {"eer": 0.0, "bona_fide": 3, "spoof": 1}
    assert per_attack["A1"]["spoof"] == 1 and per_attack["A1"]["eer"] > 0
    per_speaker = eer_by(_clips(), "speaker")
    assert set(per_speaker) == {"s1", "s2"}
    assert per_speaker["s2"]["eer"] == 0.0
    buckets = eer_by_duration(_clips())
    assert {name: (g["bona_fide"], g["spoof"]) for name, g in buckets.items()} == {
        "0-2s": (2, 0),
        "2-4s": (1, 1),
        ">=10s": (0, 1),
    }
    assert np.isnan(buckets["0-2s"]["eer"])


def test_score_files_round_trip(tmp_path: Path):
    write_scores(_clips(), RunFolder(tmp_path))
    assert read_scores(tmp_path / "scores.csv") == _clips()
    lines = (tmp_path / "scores.txt").read_text().splitlines()
    assert lines[0] == "a 0.9" and len(lines) == 5
