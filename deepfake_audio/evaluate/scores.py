"""Metrics from score files: EER and its threshold, metrics at a threshold, bootstrap CI,
breakdowns by group. Scores are P(bona fide); a clip is called bona fide when score >= threshold.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from deepfake_audio.data.corpus import LABEL_NAMES, SPOOF, parse_label
from deepfake_audio.files import atomic_write, atomic_write_text
from deepfake_audio.runs import RunFolder


@dataclass(frozen=True)
class ScoredClip:
    """One row of a score file."""

    file: str
    label: int
    score: float
    speaker: str | None = None
    attack: str | None = None
    duration: float | None = None
    corpus: str | None = None
    source: str | None = None
    codec: str | None = None


def det_curve(scores: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, ...]:
    """False acceptance (spoof called bona fide) and false rejection rates at every distinct
    threshold, from accepting everything to rejecting everything.

    Returns ``(far, frr, thresholds)``; threshold ``t`` accepts scores ``>= t``.
    """
    order = np.argsort(scores, kind="mergesort")
    ordered, bona = scores[order], labels[order] == 1
    n_bona, n_spoof = bona.sum(), (~bona).sum()
    rejected_bona = np.concatenate([[0], np.cumsum(bona)])
    rejected_spoof = np.concatenate([[0], np.cumsum(~bona)])
    # Cut only between distinct scores: tied clips are accepted or rejected together.
    cuts = np.concatenate([[0], np.flatnonzero(np.diff(ordered)) + 1, [len(ordered)]])
    frr = rejected_bona[cuts] / max(n_bona, 1)
    far = 1 - rejected_spoof[cuts] / max(n_spoof, 1)
    thresholds = np.append(ordered, np.inf)[cuts]
    return far, frr, thresholds


def eer_threshold(scores: Sequence[float], labels: Sequence[int]) -> tuple[float, float]:
    """Equal error rate and the threshold where false acceptance and rejection meet."""
    scores, labels = np.asarray(scores, dtype=float), np.asarray(labels)
    if len(set(labels.tolist())) < 2:
        return float("nan"), float("nan")
    far, frr, thresholds = det_curve(scores, labels)
    index = int(np.argmin(np.abs(far - frr)))
    return float((far[index] + frr[index]) / 2), float(thresholds[index])


def metrics_at(scores: Sequence[float], labels: Sequence[int], threshold: float) -> dict:
    """Accuracy, F1 (bona fide), TPR (bona fide recall) and TNR (spoof recall) at a threshold."""
    scores, labels = np.asarray(scores, dtype=float), np.asarray(labels)
    called = scores >= threshold
    bona = labels == 1
    tp, fn = int((called & bona).sum()), int((~called & bona).sum())
    fp, tn = int((called & ~bona).sum()), int((~called & ~bona).sum())
    precision = tp / (tp + fp) if tp + fp else 0.0
    tpr = tp / (tp + fn) if tp + fn else float("nan")
    return {
        "threshold": threshold,
        "acc": (tp + tn) / len(labels),
        "f1": 2 * precision * tpr / (precision + tpr) if precision + tpr else 0.0,
        "tpr": tpr,
        "tnr": tn / (tn + fp) if tn + fp else float("nan"),
        "confusion": {"tp": tp, "fn": fn, "fp": fp, "tn": tn},
    }


def cllr(scores: Sequence[float], labels: Sequence[int]) -> float:
    """The log-likelihood-ratio cost (bits) of P(bona fide) scores read as posteriors at an
    even prior: 0 for perfect scores, 1 for scores that always say 0.5; it punishes scores
    that are confidently wrong, so it measures calibration as well as discrimination."""
    scores, labels = np.asarray(scores, dtype=float), np.asarray(labels)
    if len(set(labels.tolist())) < 2:
        return float("nan")
    p = np.clip(scores, 1e-12, 1 - 1e-12)
    log_odds = np.log(p) - np.log1p(-p)  # natural log of the likelihood ratio at prior 0.5
    bona = np.logaddexp(0, -log_odds[labels == 1]).mean()
    spoof = np.logaddexp(0, log_odds[labels != 1]).mean()
    return float((bona + spoof) / (2 * np.log(2)))


def expected_calibration_error(
    scores: Sequence[float], labels: Sequence[int], bins: int = 10
) -> float:
    """The mean gap between the predicted P(bona fide) and the share of bona fide clips, over
    ``bins`` equal-width score bins weighted by their clips."""
    scores, labels = np.asarray(scores, dtype=float), np.asarray(labels)
    if not len(scores):
        return float("nan")
    which = np.minimum((scores * bins).astype(int), bins - 1)
    gaps = [
        abs(scores[which == b].mean() - (labels[which == b] == 1).mean()) * (which == b).mean()
        for b in range(bins)
        if (which == b).any()
    ]
    return float(sum(gaps))


def auroc(scores: Sequence[float], labels: Sequence[int]) -> float:
    """Probability that a bona fide clip outscores a spoof (ties count half)."""
    scores, labels = np.asarray(scores, dtype=float), np.asarray(labels)
    bona, spoof = scores[labels == 1], scores[labels != 1]
    if not len(bona) or not len(spoof):
        return float("nan")
    ranks = _average_ranks(np.concatenate([bona, spoof]))
    return float(
        (ranks[: len(bona)].sum() - len(bona) * (len(bona) + 1) / 2) / (len(bona) * len(spoof))
    )


def _average_ranks(values: np.ndarray) -> np.ndarray:
    order = np.argsort(values, kind="mergesort")
    ranks = np.empty(len(values))
    ranks[order] = np.arange(1, len(values) + 1)
    _, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    sums = np.bincount(inverse, weights=ranks)
    return sums[inverse] / counts[inverse]


def bootstrap_eer(
    scores: Sequence[float], labels: Sequence[int], resamples: int = 1000, seed: int = 0
) -> tuple[float, float]:
    """95% percentile bootstrap interval of the EER, resampling clips within each class."""
    scores, labels = np.asarray(scores, dtype=float), np.asarray(labels)
    rng = np.random.default_rng(seed)
    groups = [np.flatnonzero(labels == value) for value in (0, 1)]
    if any(len(group) == 0 for group in groups):
        return float("nan"), float("nan")
    estimates = []
    for _ in range(resamples):
        chosen = np.concatenate([rng.choice(group, len(group)) for group in groups])
        estimates.append(eer_threshold(scores[chosen], labels[chosen])[0])
    low, high = np.percentile(estimates, [2.5, 97.5])
    return float(low), float(high)


def eer_by(clips: Sequence[ScoredClip], key: str) -> dict[str, dict]:
    """EER per value of ``key`` (``speaker``, ``corpus``, ``source``, ``codec``) among the clips
    having it, with the clip counts (null where one class is missing)."""
    groups: dict[str, list[ScoredClip]] = {}
    for clip in clips:
        value = getattr(clip, key)
        if value is not None:
            groups.setdefault(str(value), []).append(clip)
    return {name: _group_summary(members) for name, members in sorted(groups.items())}


def eer_per_attack(clips: Sequence[ScoredClip]) -> dict[str, dict]:
    """EER of each attack's spoofs against every bona fide clip."""
    bona = [clip for clip in clips if clip.label != SPOOF]
    attacks = sorted({clip.attack for clip in clips if clip.attack and clip.label == SPOOF})
    return {
        attack: _group_summary(bona + [c for c in clips if c.attack == attack and c.label == SPOOF])
        for attack in attacks
    }


DURATION_BUCKETS = ((0.0, 2.0), (2.0, 4.0), (4.0, 6.0), (6.0, 10.0), (10.0, float("inf")))


def eer_by_duration(clips: Sequence[ScoredClip]) -> dict[str, dict]:
    """EER per clip-duration bucket (seconds)."""
    result = {}
    for low, high in DURATION_BUCKETS:
        members = [c for c in clips if c.duration is not None and low <= c.duration < high]
        if members:
            name = f"{low:g}-{high:g}s" if high != float("inf") else f">={low:g}s"
            result[name] = _group_summary(members)
    return result


def _group_summary(members: Sequence[ScoredClip]) -> dict:
    scores = [c.score for c in members]
    labels = [c.label for c in members]
    return {
        "eer": eer_threshold(scores, labels)[0],
        "bona_fide": sum(label != SPOOF for label in labels),
        "spoof": sum(label == SPOOF for label in labels),
    }


SCORE_COLUMNS = [
    "file",
    "speaker",
    "label",
    "attack",
    "duration",
    "corpus",
    "source",
    "codec",
    "score",
]


def write_scores(clips: Iterable[ScoredClip], run: RunFolder) -> None:
    """A run's ``scores.csv`` (all columns) and ASVspoof-style ``scores.txt`` (``utt score``)."""
    clips = list(clips)
    with atomic_write(run.scores) as handle:
        writer = csv.writer(handle)
        writer.writerow(SCORE_COLUMNS)
        for c in clips:
            duration = "" if c.duration is None else f"{c.duration:.3f}"
            writer.writerow(
                [
                    c.file,
                    c.speaker or "",
                    LABEL_NAMES[c.label],
                    c.attack or "",
                    duration,
                    c.corpus or "",
                    c.source or "",
                    c.codec or "",
                    repr(c.score),
                ]
            )
    lines = [f"{Path(c.file).stem} {c.score!r}\n" for c in clips]
    atomic_write_text(run.asvspoof_scores, "".join(lines))


def read_scores(path: Path) -> list[ScoredClip]:
    """Read a ``scores.csv`` written by :func:`write_scores`."""
    with path.open(newline="", encoding="utf-8") as handle:
        return [
            ScoredClip(
                file=row["file"],
                label=parse_label(row["label"], f"{path} line {line}"),
                score=float(row["score"]),
                speaker=row.get("speaker") or None,
                attack=row.get("attack") or None,
                duration=float(row["duration"]) if row.get("duration") else None,
                corpus=row.get("corpus") or None,
                source=row.get("source") or None,
                codec=row.get("codec") or None,
            )
            for line, row in enumerate(csv.DictReader(handle), start=2)
        ]
