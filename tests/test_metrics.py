"""Detection metrics on hand-computed cases (1 = bona fide, score = P(bona fide))."""

from __future__ import annotations

import pytest
import torch

from deepfake_audio.models.metrics import detection_metrics


def compute(scores: list[float], labels: list[int]) -> dict[str, float]:
    metrics = detection_metrics("test/")
    metrics.update(torch.tensor(scores), torch.tensor(labels))
    return {name: float(value) for name, value in metrics.compute().items()}


def test_overlapping_scores():
    # Bona fide 0.9, 0.8, 0.35; spoof 0.6, 0.2, 0.1. At 0.5: TP 2, FN 1, FP 1, TN 2.
    values = compute([0.9, 0.8, 0.35, 0.6, 0.2, 0.1], [1, 1, 1, 0, 0, 0])
    assert values["test/tpr"] == pytest.approx(2 / 3)
    assert values["test/tnr"] == pytest.approx(2 / 3)
    assert values["test/acc"] == pytest.approx(4 / 6)
    assert values["test/f1"] == pytest.approx(2 / 3)
    # Between 0.35 and 0.6 one bona fide is rejected and one spoof accepted: 1/3 each.
    assert values["test/eer"] == pytest.approx(1 / 3)
    # 8 of the 9 (bona fide, spoof) pairs are ordered correctly.
    assert values["test/auroc"] == pytest.approx(8 / 9)


def test_perfect_separation_has_zero_eer():
    values = compute([0.7, 0.6, 0.4, 0.3], [1, 1, 0, 0])
    assert values["test/eer"] == pytest.approx(0.0)
    assert values["test/auroc"] == pytest.approx(1.0)
    assert values["test/acc"] == pytest.approx(1.0)


def test_predicting_everything_bona_fide_has_zero_tnr():
    values = compute([0.9, 0.8, 0.7, 0.6], [1, 1, 0, 0])
    assert values["test/tpr"] == pytest.approx(1.0)
    assert values["test/tnr"] == pytest.approx(0.0)
    assert values["test/eer"] == pytest.approx(0.0)  # the ranking is still perfect
