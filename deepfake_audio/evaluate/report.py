"""Test-time report: score files, metrics.json and breakdowns, written beside the checkpoint."""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import soundfile as sf
import torch
from lightning.pytorch import Callback, LightningModule, Trainer

from deepfake_audio.data.corpus import Clip
from deepfake_audio.evaluate.scores import (
    ScoredClip,
    auroc,
    bootstrap_eer,
    cllr,
    eer_by,
    eer_by_duration,
    eer_per_attack,
    eer_threshold,
    expected_calibration_error,
    metrics_at,
    write_scores,
)
from deepfake_audio.files import atomic_write_text
from deepfake_audio.models.metrics import detection_metrics
from deepfake_audio.runs import RunFolder


def gather_unique(
    pl_module: LightningModule, scores: torch.Tensor, indices: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """All ranks' scores and item indices, each item once (the distributed sampler pads)."""
    if pl_module.trainer.world_size > 1:
        scores = pl_module.all_gather(scores).reshape(-1)
        indices = pl_module.all_gather(indices).reshape(-1)
    unique, first = _first_occurrence(indices)
    return scores[first], unique


def mean_per_clip(
    scores: torch.Tensor, items: torch.Tensor, owners: list[int]
) -> tuple[torch.Tensor, torch.Tensor]:
    """Each clip's mean score over its items (windows), and the clips' indices; ``owners``
    gives the clip of every item of the dataset."""
    clips = torch.as_tensor(owners, device=items.device)[items]
    unique, inverse = torch.unique(clips, return_inverse=True)
    means = torch.zeros(len(unique), dtype=scores.dtype, device=scores.device)
    return means.scatter_reduce(0, inverse, scores, "mean", include_self=False), unique


def _first_occurrence(values: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    unique, inverse = torch.unique(values, return_inverse=True)
    positions = torch.arange(values.numel(), device=values.device)
    first = torch.full_like(unique, values.numel()).scatter_reduce(0, inverse, positions, "amin")
    return unique, first


class ScoreCollector(Callback):
    """Base for callbacks that look at a stage's scores: collects each batch's scores (the
    step's output) and item indices, and turns them into one list of scored clips."""

    def reset(self) -> None:
        self.scores: list[torch.Tensor] = []
        self.indices: list[torch.Tensor] = []

    def collect(self, outputs: torch.Tensor, batch: tuple) -> None:
        self.scores.append(outputs.detach().float())
        self.indices.append(batch[2])

    def scored(
        self, pl_module: LightningModule, clips: list[Clip], owners: list[int] | None = None
    ) -> list[ScoredClip]:
        """Every rank's clips, each once; a collective call under DDP: every rank calls it.
        With ``owners`` (the clip of each item), a clip's score is its items' mean."""
        scores, indices = gather_unique(pl_module, torch.cat(self.scores), torch.cat(self.indices))
        if owners is not None:
            scores, indices = mean_per_clip(scores, indices, owners)
        return [
            ScoredClip(
                file=str(clips[i].path),
                label=clips[i].label,
                score=float(score),
                speaker=clips[i].speaker,
                attack=clips[i].attack,
                corpus=clips[i].corpus,
                source=clips[i].source,
                codec=clips[i].codec,
            )
            for i, score in zip(indices.tolist(), scores.cpu().tolist(), strict=True)
        ]


def json_safe(value: Any) -> Any:
    """``value`` with NaN and infinities as ``null`` and paths as text: strict JSON."""
    if isinstance(value, dict):
        return {key: json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(item) for item in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return str(value) if isinstance(value, Path) else value


def _duration(path: Path) -> float | None:
    try:
        return sf.info(str(path)).duration
    except Exception:  # the clip was readable when cached; a vanished header is not fatal here
        return None


def summarise(clips: list[ScoredClip], val_threshold: float, resamples: int = 1000) -> dict:
    """Everything ``metrics.json`` holds about one scored test set."""
    scores = [clip.score for clip in clips]
    labels = [clip.label for clip in clips]
    eer, threshold = eer_threshold(scores, labels)
    low, high = bootstrap_eer(scores, labels, resamples=resamples)
    return {
        "clips": len(clips),
        "bona_fide": sum(labels),
        "spoof": len(labels) - sum(labels),
        "eer": eer,
        "eer_ci95": [low, high],
        "eer_threshold": threshold,
        "auroc": auroc(scores, labels),
        "cllr": cllr(scores, labels),
        "ece": expected_calibration_error(scores, labels),
        "at_0.5": metrics_at(scores, labels, 0.5),
        "at_val_eer_threshold": metrics_at(scores, labels, val_threshold),
        "per_attack": eer_per_attack(clips),
        "per_corpus": eer_by(clips, "corpus"),
        "per_source": eer_by(clips, "source"),
        "per_codec": eer_by(clips, "codec"),
        "per_speaker": eer_by(clips, "speaker"),
        "per_duration": eer_by_duration(clips),
    }


class TestReport(ScoreCollector):
    """Scores each test clip (the mean over its windows) and logs the test metrics of the clips:
    ``test/acc`` ... ``test/auroc``, ``test/eer/<attack>``, ``test/eer_corpus/<corpus>`` (with
    several corpora), the EER's 95% bootstrap interval
    and the metrics at the validation EER threshold stored in the checkpoint. Writes
    ``scores.csv``, ``scores.txt`` and ``metrics.json`` into the run's log folder."""

    def __init__(self, resamples: int = 1000) -> None:
        self.resamples = resamples

    def on_test_epoch_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self.reset()
        self.started = time.perf_counter()

    def on_test_batch_end(
        self,
        trainer: Trainer,
        pl_module: LightningModule,
        outputs: torch.Tensor,
        batch: tuple,
        batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:
        self.collect(outputs, batch)

    def on_test_epoch_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        clips: list[Clip] | None = getattr(trainer.datamodule, "clips", {}).get("test")
        if not clips or not self.scores:
            return
        elapsed = time.perf_counter() - self.started
        owners = getattr(getattr(trainer.test_dataloaders, "dataset", None), "owners", None)
        scored = [
            replace(clip, duration=_duration(Path(clip.file)))
            for clip in self.scored(pl_module, clips, owners)
        ]
        metrics = detection_metrics("test/", sync=False).to(pl_module.device)
        metrics.update(
            torch.tensor([clip.score for clip in scored], device=pl_module.device),
            torch.tensor([clip.label for clip in scored], device=pl_module.device),
        )
        val_threshold = float(getattr(pl_module, "threshold", 0.5))
        summary = summarise(scored, val_threshold, self.resamples)
        summary["parameters"] = sum(p.numel() for p in pl_module.parameters())
        summary["test_clips_per_second"] = len(scored) / elapsed
        at_val = summary["at_val_eer_threshold"]
        logged = {
            **{name: float(value) for name, value in metrics.compute().items()},
            "test/eer_ci95_low": summary["eer_ci95"][0],
            "test/eer_ci95_high": summary["eer_ci95"][1],
            "test/cllr": summary["cllr"],
            "test/ece": summary["ece"],
            "test/val_eer_threshold": val_threshold,
            **{f"test/at_val_threshold/{k}": at_val[k] for k in ("acc", "f1", "tpr", "tnr")},
            **{f"test/eer/{name}": group["eer"] for name, group in summary["per_attack"].items()},
            **{
                f"test/eer_corpus/{name}": group["eer"]
                for name, group in summary["per_corpus"].items()
                if len(summary["per_corpus"]) > 1
            },
        }
        for name, value in logged.items():
            pl_module.log(name, value, rank_zero_only=True)
        log_dir = trainer.log_dir  # a collective call under DDP: every rank asks
        if trainer.is_global_zero and log_dir:
            run = RunFolder(Path(log_dir))
            run.path.mkdir(parents=True, exist_ok=True)
            write_scores(scored, run)
            checkpoint = trainer.ckpt_path  # named from the run's folder: no machine path
            summary["checkpoint"] = os.path.relpath(checkpoint, run.path) if checkpoint else None
            text = json.dumps(json_safe(summary), indent=2, allow_nan=False)
            atomic_write_text(run.metrics, text + "\n")
            written = ", ".join(
                path.name for path in (run.metrics, run.scores, run.asvspoof_scores)
            )
            print(f"test report: {written} in {run.path}")
