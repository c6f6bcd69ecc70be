"""TensorBoard extras: validation ROC and confusion matrix, example spectrograms, HPARAMS."""

from __future__ import annotations

from typing import Any

import torch
from lightning.pytorch import LightningModule, Trainer
from lightning.pytorch.loggers import TensorBoardLogger
from torch_geometric.data import Batch

from deepfake_audio.evaluate.plots import confusion_figure, plt, roc_figure
from deepfake_audio.evaluate.report import ScoreCollector


def _spectrogram(inputs: Any, item: int) -> torch.Tensor:
    """The ``[n_mels, frames]`` log-mel of one item of any representation's batch."""
    if isinstance(inputs, Batch):
        return inputs.x[inputs.ptr[item] : inputs.ptr[item + 1]].T
    return inputs[item, 0] if inputs.ndim == 4 else inputs[item].T


class ValidationFigures(ScoreCollector):
    """After each validation: ROC curve, confusion matrices (at 0.5 and at the validation EER
    threshold) and a few example inputs per class as TensorBoard images; at the end of
    fitting, the hyper-parameters with the best and final validation metrics (HPARAMS tab)."""

    def __init__(self, examples_per_class: int = 2) -> None:
        self.examples_per_class = examples_per_class

    def _tensorboard(self, trainer: Trainer) -> TensorBoardLogger | None:
        return next((lg for lg in trainer.loggers if isinstance(lg, TensorBoardLogger)), None)

    def on_validation_epoch_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self.reset()
        self.examples: dict[int, list[torch.Tensor]] = {0: [], 1: []}

    def on_validation_batch_end(
        self,
        trainer: Trainer,
        pl_module: LightningModule,
        outputs: torch.Tensor,
        batch: tuple,
        batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:
        self.collect(outputs, batch)
        for item, label in enumerate(batch[1].int().tolist()):
            if len(self.examples[label]) < self.examples_per_class:
                self.examples[label].append(_spectrogram(batch[0], item).detach().cpu())

    def on_validation_epoch_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        clips = getattr(trainer.datamodule, "clips", {}).get("val")
        if (
            trainer.sanity_checking
            or not self.scores
            or not clips
            or not self._tensorboard(trainer)
        ):
            return
        scored = self.scored(pl_module, clips)
        if not trainer.is_global_zero:
            return
        thresholds = {"at 0.5": 0.5, "at val EER threshold": float(pl_module.threshold)}
        figures = {
            "val/roc": roc_figure({"validation": scored}),
            "val/confusion": confusion_figure({name: scored for name in thresholds}, thresholds),
        }
        shown = [
            (n, s) for label, n in ((1, "bona fide"), (0, "spoof")) for s in self.examples[label]
        ]
        if shown:
            figures["val/examples"] = self._examples_figure(shown)
        writer = self._tensorboard(trainer).experiment
        for tag, figure in figures.items():
            writer.add_figure(tag, figure, global_step=trainer.global_step)
            plt.close(figure)

    @staticmethod
    def _examples_figure(shown: list[tuple[str, torch.Tensor]]):
        figure, grid = plt.subplots(1, len(shown), figsize=(3 * len(shown), 2.6), squeeze=False)
        for panel, (name, spectrogram) in zip(grid[0], shown, strict=True):
            panel.imshow(spectrogram.float().numpy(), origin="lower", aspect="auto", cmap="magma")
            panel.set(title=name, xlabel="frame", ylabel="mel band")
        figure.tight_layout()
        return figure

    def on_fit_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        logger = self._tensorboard(trainer)
        if logger is None or not trainer.is_global_zero:
            return
        final = {
            f"hp/{name.replace('/', '_')}": float(value)
            for name, value in trainer.callback_metrics.items()
            if name.startswith("val/")
        }
        best = getattr(trainer.checkpoint_callback, "best_model_score", None)
        if best is not None:
            final["hp/best_val_eer"] = float(best)
        logger.log_hyperparams(pl_module.hparams, metrics=final)
