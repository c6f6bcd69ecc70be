"""Score calibration: Platt scaling of a detector's logits, fitted on validation scores, so that
the shipped score reads as a probability.

``sigmoid(a * logit + b)`` with ``a`` and ``b`` minimising the class-balanced cross-entropy on
the validation split: a probability of bona fide for an even prior, whatever the split's own
class balance. A small pull towards the identity (a = 1, b = 0) keeps the fit finite when the
validation scores separate the classes completely.
"""

from __future__ import annotations

import torch

IDENTITY = (1.0, 0.0)


def fit_platt(
    logits: torch.Tensor, labels: torch.Tensor, ridge: float = 1e-2, steps: int = 50
) -> tuple[float, float]:
    """``(a, b)`` minimising the class-balanced cross-entropy plus
    ``ridge * ((a - 1)^2 + b^2)``; the identity when a class is missing."""
    a, b = fit_logistic(logits.detach().double().reshape(-1, 1), labels, IDENTITY, ridge, steps)
    return a, b


def fit_logistic(
    inputs: torch.Tensor,
    labels: torch.Tensor,
    prior: tuple[float, ...],
    ridge: float = 1e-2,
    steps: int = 50,
) -> tuple[float, ...]:
    """Weights per column of ``inputs`` ``[n, k]`` and a bias (the last value) of a logistic
    regression, by damped Newton steps on the class-balanced cross-entropy plus ``ridge`` times
    the squared distance to ``prior`` (a convex loss: each step is halved until it lowers it);
    ``prior`` itself when a class is missing."""
    x, y = inputs.detach().double(), labels.detach().double().flatten()
    positives, negatives = int((y == 1).sum()), int((y == 0).sum())
    if not positives or not negatives:
        return prior
    weights = torch.where(y == 1, 0.5 / positives, 0.5 / negatives)
    design = torch.cat([x, torch.ones_like(x[:, :1])], dim=1)
    centre = torch.tensor(prior, dtype=torch.float64)

    def loss(params: torch.Tensor) -> torch.Tensor:
        z = design @ params
        cross_entropy = weights * (torch.logaddexp(torch.zeros_like(z), z) - y * z)
        return cross_entropy.sum() + ridge * (params - centre).pow(2).sum()

    params = centre.clone()
    for _ in range(steps):
        p = torch.sigmoid(design @ params)
        gradient = design.T @ (weights * (p - y)) + 2 * ridge * (params - centre)
        hessian = (design * (weights * p * (1 - p))[:, None]).T @ design
        hessian = hessian + 2 * ridge * torch.eye(len(prior), dtype=torch.float64)
        step = torch.linalg.solve(hessian, gradient)
        current = loss(params)
        while loss(params - step) > current and step.abs().max() > 1e-12:
            step = step / 2
        params = params - step
        if step.abs().max() < 1e-9:
            break
    return tuple(float(value) for value in params)


def calibrated(logits: torch.Tensor, calibration: torch.Tensor) -> torch.Tensor:
    """P(bona fide) of logits under ``calibration`` = ``[a, b]``."""
    return torch.sigmoid(calibration[0] * logits + calibration[1])
