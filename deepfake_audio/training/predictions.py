"""``deepfake predict``'s output: every file of the corpora (or of a file list) scored as
``deepfake detect`` scores it, written to the run folder's ``predictions.csv``.

Each process writes the scores of the windows it was dealt to a shard as it goes; at the end,
rank 0 merges the shards (each window once, whatever the distributed sampler padded), averages
each file's windows and calls it with the model's threshold. Unreadable files get an error
row. This is how to score a large collection on a cluster: ``torchrun`` or SLURM, as for
training.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import soundfile as sf
import torch
from lightning.pytorch import LightningModule, Trainer
from lightning.pytorch.callbacks import BasePredictionWriter

from deepfake_audio.runs import RunFolder
from deepfake_audio.serve.detect import write_results
from deepfake_audio.serve.scoring import Detection, verdict


class PredictionWriter(BasePredictionWriter):
    """Writes ``predictions.csv`` (``file,score,prediction,confidence,duration,windows,error``,
    as ``deepfake detect --out``) into the run folder of the checkpoint predicted with."""

    def __init__(self) -> None:
        super().__init__(write_interval="batch_and_epoch")
        self._shard: Any = None

    def _run(self, trainer: Trainer) -> RunFolder:
        return RunFolder(Path(trainer.log_dir))

    def on_predict_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        run = self._run(trainer)  # a collective call under DDP: every rank asks
        run.path.mkdir(parents=True, exist_ok=True)
        self._shard = run.prediction_shard(trainer.global_rank).open("w", newline="")
        csv.writer(self._shard).writerow(["item", "score"])

    def write_on_batch_end(
        self,
        trainer: Trainer,
        pl_module: LightningModule,
        prediction: torch.Tensor,
        batch_indices: Any,
        batch: Any,
        batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:
        rows = zip(batch[2].tolist(), prediction.float().cpu().tolist(), strict=True)
        csv.writer(self._shard).writerows((item, repr(score)) for item, score in rows)

    def write_on_epoch_end(
        self, trainer: Trainer, pl_module: LightningModule, predictions: Any, batch_indices: Any
    ) -> None:
        self._shard.close()
        run = self._run(trainer)
        trainer.strategy.barrier()  # every shard complete
        if trainer.is_global_zero:
            dataset = trainer.predict_dataloaders.dataset
            datamodule = trainer.datamodule
            detections = merge_shards(
                [run.prediction_shard(rank) for rank in range(trainer.world_size)],
                dataset,
                float(pl_module.threshold),
                datamodule.input_spec.sample_rate,
            )
            detections += [
                Detection(file=str(path), error=reason)
                for path, reason in sorted(datamodule.unreadable.items())
            ]
            write_results(detections, run.predictions, segments=False)
            for rank in range(trainer.world_size):
                run.prediction_shard(rank).unlink(missing_ok=True)
            unreadable = len(datamodule.unreadable)
            print(
                f"predictions: {len(detections)} files ({unreadable} unreadable):", run.predictions
            )
        trainer.strategy.barrier()


def merge_shards(
    shards: list[Path], dataset: Any, threshold: float, sample_rate: int
) -> list[Detection]:
    """Each clip's verdict from the window scores in ``shards`` (each window counted once),
    in the dataset's order of clips."""
    scores: dict[int, float] = {}
    for shard in shards:
        with shard.open(newline="") as handle:
            for row in csv.DictReader(handle):
                scores.setdefault(int(row["item"]), float(row["score"]))
    per_clip: dict[int, list[float]] = {}
    for item, clip in enumerate(dataset.owners):
        per_clip.setdefault(clip, []).append(scores[item])
    detections = []
    for clip, windows in sorted(per_clip.items()):
        path = dataset.clips[clip].path
        info = sf.info(str(path))
        duration = info.frames / info.samplerate
        detections.append(verdict(str(path), windows, threshold, duration=duration))
    return detections
