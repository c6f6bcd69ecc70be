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


def detection_metrics(prefix: str, threshold: float = 0.5, sync: bool = True) -> MetricCollection:
    """acc, f1, tpr (bona fide recall), tnr (spoof recall), eer and auroc of P(bona fide) scores.
    ``sync``: combine the processes' states under DDP (off for scores every process holds)."""
    options = {"sync_on_compute": sync}
    return MetricCollection(
        {
            "acc": BinaryAccuracy(threshold=threshold, **options),
            "f1": BinaryF1Score(threshold=threshold, **options),
            "tpr": BinaryRecall(threshold=threshold, **options),
            "tnr": BinarySpecificity(threshold=threshold, **options),
            "eer": BinaryEER(**options),
            "auroc": BinaryAUROC(**options),
        },
        prefix=prefix,
    )
