"""Each detector: one forward pass on random input gives one finite logit per item; the
shared loss options and collapse warning."""

from __future__ import annotations

import re
import warnings
from functools import partial
from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F

from deepfake_audio.data.graph import collate_graphs
from deepfake_audio.models import DartsDetector, GCNDetector, LSTMDetector, TimmDetector


@pytest.mark.parametrize("backbone", ["resnet18", "res2net50_26w_4s", "senet154"])
@pytest.mark.parametrize("channels", [1, 3])
def test_timm_detectors(backbone: str, channels: int):
    model = TimmDetector([channels, 20, 32], backbone=backbone).eval()
    logits = model(torch.randn(2, channels, 20, 32))
    assert logits.shape == (2,)
    assert torch.isfinite(logits).all()


def test_timm_detector_rejects_sequence_input():
    with pytest.raises(ValueError, match="MelImageDataModule"):
        TimmDetector([32, 20])


@pytest.mark.parametrize(
    "detector",
    [LSTMDetector, partial(DartsDetector, genotype="configs/darts_genotype.json", channels=8)],
    ids=["lstm", "darts"],
)
def test_sequence_detectors(detector):
    logits = detector([32, 20])(torch.randn(3, 32, 20))
    assert logits.shape == (3,)
    assert torch.isfinite(logits).all()


def test_gcn_detector():
    graphs, _, _ = collate_graphs([(torch.randn(16, 20), torch.tensor(1.0), 0)] * 3, k=4)
    logits = GCNDetector([16, 20])(graphs)
    assert logits.shape == (3,)
    assert torch.isfinite(logits).all()


def test_balanced_loss_weighs_bona_fide_by_the_class_ratio_of_the_training_split():
    clips = [SimpleNamespace(label=1)] * 3 + [SimpleNamespace(label=0)] * 6
    detector = LSTMDetector([8, 4], balanced_loss=True)
    detector._trainer = SimpleNamespace(datamodule=SimpleNamespace(clips={"train": clips}))
    detector.setup("fit")
    assert float(detector.loss.pos_weight) == 2.0  # 6 spoof / 3 bona fide
    logits, labels = torch.tensor([0.3, -0.2]), torch.tensor([1.0, 0.0])
    expected = (2.0 * F.softplus(-logits[0]) + F.softplus(logits[1])) / 2
    assert torch.isclose(detector.loss(logits, labels), expected)
    # The weight belongs to the training split: checkpoints neither keep nor need it.
    assert "loss.pos_weight" not in detector.state_dict()
    LSTMDetector([8, 4]).load_state_dict(detector.state_dict())


def test_the_loss_is_unweighted_by_default():
    detector = LSTMDetector([8, 4])
    detector.setup("fit")
    assert detector.loss.pos_weight is None


@pytest.mark.parametrize(
    ("scores", "warning"),
    [
        ([0.9, 0.8, 0.7, 0.6], "predicted bona fide \\(TPR 1.00, TNR 0.00\\)"),
        ([0.1, 0.2, 0.3, 0.4], "predicted spoof \\(TPR 0.00, TNR 1.00\\)"),
        ([0.9, 0.2, 0.7, 0.6], None),
    ],
)
def test_a_model_predicting_one_class_is_warned_about(scores: list[float], warning: str | None):
    detector = LSTMDetector([8, 4])
    detector.val_metrics.update(torch.tensor(scores), torch.tensor([1, 1, 0, 0]))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        detector._warn_if_one_class()
    messages = [str(w.message) for w in caught if "collapsed" in str(w.message)]
    if warning is None:
        assert messages == []
    else:
        assert len(messages) == 1 and re.search(warning, messages[0])
