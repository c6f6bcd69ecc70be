"""The detection metrics every stage reports (1 = bona fide is the positive class)."""

from __future__ import annotations

from torchmetrics import MetricCollection
from torchmetrics.classification import (
    BinaryAccuracy,
    BinaryAUROC,
    BinaryEER,
    BinaryF1Score,
    BinaryRecall,
    BinarySpecificity,
)


def detection_metrics(prefix: str, threshold: float = 0.5) -> MetricCollection:
    """acc, f1, tpr (bona fide recall), tnr (spoof recall), eer and auroc of P(bona fide) scores."""
    return MetricCollection(
        {
            "acc": BinaryAccuracy(threshold=threshold),
            "f1": BinaryF1Score(threshold=threshold),
            "tpr": BinaryRecall(threshold=threshold),
            "tnr": BinarySpecificity(threshold=threshold),
            "eer": BinaryEER(),
            "auroc": BinaryAUROC(),
        },
        prefix=prefix,
    )
