"""Calibration: Platt scaling fitted on validation scores, stored with the model and applied by
every backend; Cllr and the expected calibration error measure it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from deepfake_audio.evaluate.scores import cllr, expected_calibration_error
from deepfake_audio.models.calibration import IDENTITY, calibrated, fit_platt
from deepfake_audio.serve.inference import AudioDetector
from deepfake_audio.serve.package import load_checkpoint


def _logistic(a: float, b: float, n: int = 20_000) -> tuple[torch.Tensor, torch.Tensor]:
    """Logits and labels drawn so that P(bona fide | x) = sigmoid(a x + b), classes even."""
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(n, generator=generator) * 2
    labels = (torch.rand(n, generator=generator) < torch.sigmoid(a * x + b)).int()
    return x, labels


def test_platt_scaling_recovers_the_scale_and_offset():
    x, labels = _logistic(0.5, 0.0)
    a, b = fit_platt(x, labels)
    assert a == pytest.approx(0.5, abs=0.05) and b == pytest.approx(0.0, abs=0.05)


def test_platt_scaling_stays_finite_and_falls_back_to_the_identity():
    separated = fit_platt(torch.tensor([-3.0, -2.0, 2.0, 3.0]), torch.tensor([0, 0, 1, 1]))
    assert all(np.isfinite(separated)) and separated[0] > 1  # pulled, but not to infinity
    assert fit_platt(torch.tensor([1.0, 2.0]), torch.tensor([1, 1])) == IDENTITY


def test_calibration_makes_overconfident_scores_honest():
    x, labels = _logistic(0.5, 0.0)
    raw = torch.sigmoid(4 * x)  # four times too sure
    fixed = calibrated(4 * x, torch.tensor(fit_platt(4 * x, labels)))
    assert expected_calibration_error(fixed.numpy(), labels.numpy()) < 0.02
    assert expected_calibration_error(raw.numpy(), labels.numpy()) > 0.1
    assert cllr(fixed.numpy(), labels.numpy()) < cllr(raw.numpy(), labels.numpy())


def test_cllr_is_one_bit_for_uninformative_scores_and_near_zero_for_sure_ones():
    labels = np.array([1, 1, 0, 0])
    assert cllr(np.full(4, 0.5), labels) == pytest.approx(1.0)
    assert cllr(np.array([0.999, 0.999, 0.001, 0.001]), labels) < 0.01
    assert cllr(np.array([0.001, 0.001, 0.999, 0.999]), labels) > 5  # sure and wrong


@pytest.mark.slow
def test_a_fitted_model_stores_its_calibration_and_detect_applies_it(
    lstm_checkpoint: Path, tiny_corpus: Path
):
    model, weights = load_checkpoint(lstm_checkpoint)
    assert model.calibration != IDENTITY  # fitted on the validation split
    detector = AudioDetector.load(lstm_checkpoint, device="cpu")
    wave = detector.read(tiny_corpus / "0.flac")
    crops = detector.crops(wave, detector.window, [0])
    with torch.no_grad():
        logit = detector.network(detector.spec.representation.batch(detector.features(crops)))
    a, b = model.calibration
    assert detector.score_windows(crops)[0] == pytest.approx(float(torch.sigmoid(a * logit + b)))
