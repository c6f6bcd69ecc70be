"""Figures of scored test sets: ROC and DET curves, confusion matrices, score histograms."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib

matplotlib.use("Agg")  # files only: never needs a display

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from scipy.stats import norm  # noqa: E402

from deepfake_audio.evaluate.scores import ScoredClip, det_curve, eer_threshold, metrics_at  # noqa: E402

Runs = Mapping[str, Sequence[ScoredClip]]


def _arrays(clips: Sequence[ScoredClip]) -> tuple[np.ndarray, np.ndarray]:
    return np.array([c.score for c in clips]), np.array([c.label for c in clips])


def roc_figure(runs: Runs) -> Figure:
    """ROC curves of every run on one axes: bona fide accepted vs spoof accepted."""
    figure, axes = plt.subplots(figsize=(5.5, 5))
    for name, clips in runs.items():
        far, frr, _ = det_curve(*_arrays(clips))
        eer = eer_threshold(*_arrays(clips))[0]
        axes.plot(far, 1 - frr, label=f"{name} (EER {100 * eer:.1f}%)")
    axes.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=1)
    axes.set(
        xlabel="False acceptance rate (spoof called bona fide)",
        ylabel="True acceptance rate (bona fide called bona fide)",
        title="ROC",
        xlim=(0, 1),
        ylim=(0, 1),
    )
    axes.legend(loc="lower right", fontsize=8)
    axes.grid(alpha=0.3)
    figure.tight_layout()
    return figure


DET_TICKS = [0.001, 0.01, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 0.9]


def det_figure(runs: Runs) -> Figure:
    """DET curves (normal-deviate axes), the field's view of the miss/false-alarm trade-off."""
    figure, axes = plt.subplots(figsize=(5.5, 5))
    low, high = norm.ppf(0.0005), norm.ppf(0.95)
    for name, clips in runs.items():
        far, frr, _ = det_curve(*_arrays(clips))
        eer = eer_threshold(*_arrays(clips))[0]
        x = np.clip(norm.ppf(far), low, high)
        y = np.clip(norm.ppf(frr), low, high)
        axes.plot(x, y, label=f"{name} (EER {100 * eer:.1f}%)")
    axes.plot([low, high], [low, high], color="grey", linestyle=":", linewidth=1)
    ticks = norm.ppf(DET_TICKS)
    labels = [f"{100 * t:g}" for t in DET_TICKS]
    axes.set_xticks(ticks, labels)
    axes.set_yticks(ticks, labels)
    axes.set(
        xlim=(low, high),
        ylim=(low, high),
        xlabel="False acceptance rate (%)",
        ylabel="False rejection rate (%)",
        title="DET",
    )
    axes.legend(loc="upper right", fontsize=8)
    axes.grid(alpha=0.3)
    figure.tight_layout()
    return figure


def confusion_figure(runs: Runs, threshold: float | Mapping[str, float] = 0.5) -> Figure:
    """One confusion matrix per run, at a threshold (one for all, or one per run)."""
    figure, grid = plt.subplots(1, len(runs), figsize=(3.4 * len(runs), 3.4), squeeze=False)
    for axes, (name, clips) in zip(grid[0], runs.items(), strict=True):
        cut = threshold[name] if isinstance(threshold, Mapping) else threshold
        counts = metrics_at(*_arrays(clips), cut)["confusion"]
        matrix = np.array([[counts["tp"], counts["fn"]], [counts["fp"], counts["tn"]]])
        axes.imshow(matrix, cmap="Blues")
        for (row, column), value in np.ndenumerate(matrix):
            share = value / max(matrix[row].sum(), 1)
            colour = "white" if share > 0.5 else "black"
            axes.text(
                column, row, f"{value}\n{100 * share:.0f}%", ha="center", va="center", color=colour
            )
        axes.set_xticks([0, 1], ["bona fide", "spoof"])
        axes.set_yticks([0, 1], ["bona fide", "spoof"])
        axes.set(xlabel="predicted", ylabel="true", title=f"{name}\nthreshold {cut:.3g}")
    figure.tight_layout()
    return figure


def histogram_figure(runs: Runs) -> Figure:
    """Score histograms per class, one panel per run."""
    figure, grid = plt.subplots(1, len(runs), figsize=(3.8 * len(runs), 3.2), squeeze=False)
    bins = np.linspace(0, 1, 26)
    for axes, (name, clips) in zip(grid[0], runs.items(), strict=True):
        scores, labels = _arrays(clips)
        axes.hist(scores[labels == 1], bins=bins, alpha=0.6, label="bona fide", color="tab:green")
        axes.hist(scores[labels != 1], bins=bins, alpha=0.6, label="spoof", color="tab:red")
        axes.set(xlabel="score = P(bona fide)", ylabel="clips", title=name)
        axes.legend(fontsize=8)
    figure.tight_layout()
    return figure


def alpha_heatmap(
    edge_weights: np.ndarray, node_weights: np.ndarray, edges: list[str], operations: list[str]
) -> Figure:
    """A DARTS search's operation weights (softmax α) per edge, each edge labelled with its
    normalised β."""
    figure, axes = plt.subplots(figsize=(1 + 0.7 * len(operations), 1 + 0.35 * len(edges)))
    image = axes.imshow(np.asarray(edge_weights), cmap="viridis", aspect="auto", vmin=0)
    axes.set_xticks(range(len(operations)), operations, rotation=45, ha="right")
    labels = [f"{edge} (β {float(w):.2f})" for edge, w in zip(edges, node_weights, strict=True)]
    axes.set_yticks(range(len(edges)), labels)
    axes.set_xlabel("operation")
    axes.set_ylabel("edge source->node")
    figure.colorbar(image, ax=axes, label="softmax α")
    figure.tight_layout()
    return figure
